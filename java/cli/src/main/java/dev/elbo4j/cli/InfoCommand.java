package dev.elbo4j.cli;

import dev.elbo4j.backend.HostMemory;
import dev.elbo4j.io.Json;
import dev.elbo4j.export.Export;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.TrainConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * What a run or checkpoint holds, read from the file alone (no backend, no data): the model and
 * its size, where training stands and with which settings, the data it was trained on, the
 * figures of its log.jsonl and the evaluations of its evals.jsonl, whether every weight is finite, and the command that continues it.
 */
@Command(name = "info", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Describe a run or checkpoint without loading a backend or data: the model and its parameter count, "
                + "where training stands (epoch, step, settings), the data it was trained on (path, sizes, content hash), the "
                + "figures in the run's log.jsonl (last and best test figure), the evaluations elbo4j eval recorded in its evals.jsonl "
                + "(the latest of each setting, marked when of an older step than the checkpoint), whether every weight is finite, and the command "
                + "that continues the run. An export's model.safetensors (elbo4j export) is described as a bare model. "
                + "--json prints the same as one JSON object. Given several runs (elbo4j info runs/*), "
                + "one line each: family, parameters, where training stands, which figure the log holds (ELBO, -loss, ...), "
                + "the last and best test figure (an M2's accuracy beside it), and where any run selected a model "
                + "(train --keep-best / --early-stop) a SELECTED column: its best figure, epoch and the split selected on; "
                + "folders without a "
                + "checkpoint, and files not named *.safetensors, are left out."})
final class InfoCommand implements Callable<Integer> {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();

    @Option(names = "--json", description = "Print one JSON object (several runs: a JSON array) instead of the lines.")
    boolean json;

    @CommandLine.Parameters(paramLabel = "RUN", arity = "0..*",
            description = "Run folders or checkpoint files to describe (instead of -c); several give one line each.")
    List<Path> runs = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!runs.isEmpty() && spec.commandLine().getParseResult().hasMatchedOption("--checkpoint")) {
            throw new Main.UsageException("give the runs as -c RUN or as RUN..., not both");
        }
        if (runs.size() > 1) return table();
        if (runs.size() == 1) {
            checkpoint.path = runs.getFirst();
            if (!Files.isRegularFile(CheckpointOption.fileOf(checkpoint.path))) {
                Path export = checkpoint.path.resolve("model.safetensors");
                throw new Main.UsageException(checkpoint.path + ": no checkpoint file there"
                        + (Files.isDirectory(checkpoint.path) && Files.isRegularFile(export)
                        ? " (its model.safetensors is an export: elbo4j info " + export + ")" : " (train one with `elbo4j train`)"));
            }
        }
        Path file = checkpoint.file();
        Checkpoint c = read(file);
        Map<String, Object> info = describe(file, c, checkpoint.runFolder());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(info));
        } else {
            for (String line : lines(info)) out.println(line);
        }
        return 0;
    }

    /**
     * One line per run that holds a checkpoint (folders without one, e.g. other files of a
     * {@code runs/*} glob, are left out); a checkpoint that cannot be read gets a line saying why
     * and makes the exit status 1.
     */
    private int table() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        List<Object> all = new ArrayList<>();
        List<String[]> rows = new ArrayList<>();
        int status = 0;
        for (Path run : runs) {
            Path file = CheckpointOption.fileOf(run);
            if (!Files.isRegularFile(file) || !file.getFileName().toString().endsWith(".safetensors")) continue;
            Path folder = Files.isDirectory(run) ? run : file.toAbsolutePath().getParent();
            Map<String, Object> info;
            try {
                info = describe(file, read(file), folder);
            } catch (IOException | IllegalArgumentException e) {
                status = 1;
                String why = String.valueOf(e.getMessage());
                if (why.startsWith(file + ": ")) why = why.substring(file.toString().length() + 2);
                rows.add(new String[]{run.toString(), "unreadable: " + why});
                all.add(Map.of("checkpoint", file.toString(), "error", String.valueOf(e.getMessage())));
                continue;
            }
            all.add(info);
            rows.add(row(run, info));
        }
        if (json) {
            out.println(Json.write(all));
            return status;
        }
        if (rows.isEmpty()) throw new Main.UsageException("none of the " + runs.size() + " paths holds a checkpoint");
        String[] head = {"RUN", "MODEL", "PARAMETERS", "TRAINED", "FIGURE", "LAST TEST", "BEST TEST", "SELECTED"};
        int columns = head.length;
        // The model selection's column only where some run selected (train --keep-best / --early-stop).
        if (rows.stream().noneMatch(r -> r.length == columns && !r[columns - 1].isEmpty())) {
            head = java.util.Arrays.copyOf(head, head.length - 1);
            for (int i = 0; i < rows.size(); i++) {
                if (rows.get(i).length > head.length) rows.set(i, java.util.Arrays.copyOf(rows.get(i), head.length));
            }
        }
        int[] w = new int[head.length];
        for (String[] r : rows) for (int i = 0; i < (r.length == w.length ? r.length : 1); i++) w[i] = Math.max(w[i], r[i].length());
        for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], head[i].length());
        for (String[] r : java.util.stream.Stream.concat(java.util.stream.Stream.<String[]>of(head), rows.stream()).toList()) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < r.length; i++) b.append(i == 0 ? "" : "  ").append(String.format(Locale.ROOT, "%-" + w[i] + "s", r[i]));
            out.println(b.toString().stripTrailing());
        }
        return status;
    }

    @SuppressWarnings("unchecked")
    private static String[] row(Path run, Map<String, Object> info) {
        Map<String, Object> model = (Map<String, Object>) info.get("model");
        Map<String, Object> tr = (Map<String, Object>) info.get("training");
        Map<String, Object> log = (Map<String, Object>) info.get("log");
        String trained = tr == null ? "model only"
                : String.format(Locale.ROOT, "%s/%s epochs%s", tr.get("epoch"), tr.get("epochs"),
                (Integer) tr.get("batch_in_epoch") > 0 ? " +" + tr.get("batch_in_epoch") + " batches" : "");
        String last = log == null || !log.containsKey("last_test") ? "" : nats(log.get("last_test"));
        String best = log == null || !log.containsKey("best_test") ? "" : nats(log.get("best_test")) + " (epoch " + log.get("best_epoch") + ")";
        String type = (String) model.get("type") + ((Boolean) info.get("finite") ? "" : " NOT FINITE");
        String figure = log == null || !log.containsKey("objective") ? "" : String.valueOf(log.get("objective"));
        if (log != null && log.get("last_test_accuracy") instanceof Number a) last += String.format(Locale.ROOT, ", accuracy %.4f", a.doubleValue());
        return new String[]{run.toString(), type, String.format(Locale.ROOT, "%,d", (Long) model.get("parameters")), trained, figure, last, best,
                selected((Map<String, Object>) info.get("selection"))};
    }

    /**
     * The table's SELECTED cell: the best figure of the run's model selection and its epoch, and
     * the figure selected on, "-153.62 (epoch 23, validation)"; blank for a run without one.
     */
    static String selected(Map<String, Object> sel) {
        if (sel == null) return "";
        if (!(sel.get("best") instanceof Number best)) return "none yet (" + sel.get("on") + ")";
        return String.format(Locale.ROOT, "%s (epoch %s, %s)", nats(best), sel.get("best_epoch"), sel.get("on"));
    }

    /**
     * The checkpoint in {@code file}; an export's model.safetensors ({@code elbo4j export}: the
     * weights and the model's metadata, no training) is read as a bare model.
     */
    static Checkpoint read(Path file) throws IOException {
        return Checkpoint.load(file, Set.of(Checkpoint.FORMAT, Export.FORMAT));
    }

    /** Everything the command reports, as the JSON object it prints with --json. */
    static Map<String, Object> describe(Path file, Checkpoint c, Path run) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("checkpoint", file.toString());
        m.put("bytes", Files.size(file));
        m.put("modified", TIME.format(Files.getLastModifiedTime(file).toInstant()));
        long params = c.model().parameterLayout().count();
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", c.model().type());
        model.put("description", c.model().toString());
        model.put("parameters", params);
        model.put("image_shape", c.image());
        m.put("model", model);
        if (Export.FORMAT.equals(c.file().metadata("format"))) m.put("export", true);
        TrainConfig t = c.training();
        boolean finished = t != null && c.state().epoch() == t.epochs() && c.state().batchInEpoch() == 0;
        if (t != null) {
            Checkpoint.State s = c.state();
            Map<String, Object> tr = new LinkedHashMap<>();
            tr.put("epoch", s.epoch());
            tr.put("batch_in_epoch", s.batchInEpoch());
            tr.put("epochs", t.epochs());
            tr.put("step", s.step());
            tr.put("finished", finished);
            tr.put("batch_size", t.batchSize());
            tr.put("lr", t.adam().lr());
            tr.put("lr_schedule", t.schedule().spec());
            tr.put("weight_decay", t.adam().weightDecay());
            tr.put("binarization", t.binarization().name().toLowerCase(Locale.ROOT));
            tr.put("seed", t.seed());
            if (t.warmupEpochs() > 0) tr.put("warmup_epochs", t.warmupEpochs());
            if (t.labelled() > 0) tr.put("labelled", t.labelled());
            m.put("training", tr);
        }
        if (c.numerics() != null) m.put("numerics", c.numerics());
        Map<String, Object> data = c.dataSource();
        if (data != null) m.put("data", data);
        Map<String, Object> selection = c.selection();
        boolean stoppedEarly = false;
        if (selection != null) {
            Map<String, Object> sel = new LinkedHashMap<>(selection);
            stoppedEarly = !finished && sel.get("patience") instanceof Number p && p.intValue() > 0
                    && sel.get("epochs_since_best") instanceof Number since && since.intValue() >= p.intValue();
            sel.put("stopped_early", stoppedEarly);
            if (data != null && data.get("validation") instanceof Number v) sel.put("validation_examples", v);
            m.put("selection", sel);
        }
        String bad = c.nonFinite(t != null);
        m.put("finite", bad == null);
        if (bad != null) m.put("non_finite", bad);
        Path log = run.resolve("log.jsonl"), evals = run.resolve(EvalLog.FILE);
        boolean inRun = Files.isSameFile(file.toAbsolutePath().getParent(), run.toAbsolutePath()); // the run's files describe it
        if (inRun && Files.isRegularFile(log)) {
            m.put("log", logSummary(log));
        }
        if (inRun && Files.isRegularFile(evals)) {
            m.put("evals", EvalLog.summary(evals, name -> stepOf(name, file, c, run)));
        }
        if (t != null) {
            String further = finished ? " --epochs N   (N > " + t.epochs() + ")"
                    : stoppedEarly ? " --early-stop P   (P > " + selection.get("patience") + ", or 0)" : "";
            // train --resume reads RUN/checkpoint.safetensors only.
            m.put("continue", file.getFileName().toString().equals("checkpoint.safetensors")
                    ? "elbo4j train --out " + ShellWord.of(run) + " --resume" + further
                    : "copy " + ShellWord.of(file) + " to RUN/checkpoint.safetensors, then: elbo4j train --out RUN --resume" + further);
        }
        return m;
    }

    /**
     * The step of the checkpoint file {@code name} in {@code run} as it is now, for the records of
     * evals.jsonl: {@code c}'s when it is the file described, else read from the file; null when it
     * holds no training or is not there or not readable.
     */
    private static Long stepOf(String name, Path file, Checkpoint c, Path run) {
        Checkpoint.State s;
        if (name.equals(file.getFileName().toString())) {
            s = c.state();
        } else {
            Path other = run.resolve(name);
            try {
                s = Files.isRegularFile(other) ? read(other).state() : null;
            } catch (IOException | RuntimeException e) {
                s = null;
            }
        }
        return s == null ? null : s.step();
    }

    /**
     * The log's epochs: how many, the objective's name, the last epoch's train and test figures,
     * the best test figure and its epoch, the seconds of training, and the last "final" record
     * (the figures train printed at its end). Lines that are not JSON objects are counted, not read.
     */
    static Map<String, Object> logSummary(Path log) throws IOException {
        Map<String, Object> s = new LinkedHashMap<>();
        RunLog.Lines lines = RunLog.read(log);
        int epochs = 0, unreadable = lines.unreadable();
        Map<String, Object> last = null, best = null, fin = null;
        double seconds = 0;
        for (Map<String, Object> r : lines.records()) {
            if ("final".equals(r.get("event"))) {
                fin = r;
            } else if (r.get("epoch") instanceof Number) {
                epochs++;
                last = r;
                if (r.get("seconds") instanceof Number n) seconds += n.doubleValue();
                if (r.get("test_objective") instanceof Number n && Double.isFinite(n.doubleValue())
                        && (best == null || n.doubleValue() > ((Number) best.get("test_objective")).doubleValue())) {
                    best = r;
                }
            }
        }
        s.put("path", log.toString());
        s.put("epochs", epochs);
        if (unreadable > 0) s.put("unreadable_lines", unreadable);
        if (last != null) {
            s.put("objective", last.getOrDefault("objective", "ELBO"));
            s.put("last_epoch", last.get("epoch"));
            s.put("last_train", last.get("train_objective"));
            s.put("last_test", last.get("test_objective"));
            if (last.get("test_accuracy") instanceof Number a) s.put("last_test_accuracy", a);
        }
        if (best != null) {
            s.put("best_test", best.get("test_objective"));
            s.put("best_epoch", best.get("epoch"));
        }
        s.put("training_seconds", seconds);
        if (fin != null) {
            Map<String, Object> f = new LinkedHashMap<>(fin);
            f.remove("event");
            s.put("final", f);
        }
        return s;
    }

    /** The report as lines: a label column, then the values. */
    @SuppressWarnings("unchecked")
    static List<String> lines(Map<String, Object> m) {
        List<String> l = new ArrayList<>();
        l.add(row("checkpoint", String.format(Locale.ROOT, "%s (%s, written %s)", m.get("checkpoint"),
                HostMemory.format(((Number) m.get("bytes")).longValue()), m.get("modified"))));
        Map<String, Object> model = (Map<String, Object>) m.get("model");
        int[] image = (int[]) model.get("image_shape");
        l.add(row("model", String.format(Locale.ROOT, "%s (%,d parameters)", model.get("description"), (Long) model.get("parameters"))));
        l.add(row("images", image.length == 3 ? image[0] + "x" + image[1] + " RGB" : image[0] + "x" + image[1] + " grey"));
        Map<String, Object> tr = (Map<String, Object>) m.get("training");
        Map<String, Object> sel = (Map<String, Object>) m.get("selection");
        boolean early = sel != null && Boolean.TRUE.equals(sel.get("stopped_early"));
        if (tr == null) {
            l.add(row("training", m.containsKey("export")
                    ? "none recorded: an export (elbo4j export) holds the weights for model.py and the ONNX graphs; the run's checkpoint.safetensors holds its training"
                    : "none recorded: the model's weights alone (no optimizer state; it cannot be resumed)"));
        } else {
            int batch = (Integer) tr.get("batch_in_epoch");
            String where = (Boolean) tr.get("finished")
                    ? String.format(Locale.ROOT, "finished: %d of %d epochs", (Integer) tr.get("epoch"), (Integer) tr.get("epochs"))
                    : batch > 0
                    ? String.format(Locale.ROOT, "stopped in epoch %d of %d, after batch %d", (Integer) tr.get("epoch") + 1,
                    (Integer) tr.get("epochs"), batch)
                    : String.format(Locale.ROOT, "stopped %safter epoch %d of %d", early ? "early (no improvement) " : "",
                    (Integer) tr.get("epoch"), (Integer) tr.get("epochs"));
            l.add(row("training", String.format(Locale.ROOT, "%s (step %,d)", where, (Long) tr.get("step"))));
            StringBuilder set = new StringBuilder(String.format(Locale.ROOT, "batch %d, Adam lr %s (%s)", (Integer) tr.get("batch_size"),
                    tr.get("lr"), tr.get("lr_schedule")));
            if (((Double) tr.get("weight_decay")) != 0) set.append(", weight decay ").append(tr.get("weight_decay"));
            set.append(", ").append("none".equals(tr.get("binarization")) ? "no" : tr.get("binarization")).append(" binarisation, seed ").append(tr.get("seed"));
            if (tr.containsKey("warmup_epochs")) set.append(", KL warm-up ").append(tr.get("warmup_epochs")).append(" epochs");
            if (tr.containsKey("labelled")) set.append(", ").append(tr.get("labelled")).append(" labelled examples");
            l.add(row("settings", set.toString()));
        }
        // What a resume must compute with to continue bit for bit (docs/RELIABILITY.md, "Resume is exact").
        if (m.get("numerics") != null) l.add(row("computed", "with " + m.get("numerics")));
        Map<String, Object> data = (Map<String, Object>) m.get("data");
        if (data != null) {
            StringBuilder d = new StringBuilder();
            d.append(data.getOrDefault("path", "?"));
            if (data.get("dataset") != null) d.append(" (the '").append(data.get("dataset")).append("' data set)");
            d.append(String.format(Locale.ROOT, ", %s train / %s test examples", count(data.get("train_examples")),
                    count(data.get("test_examples"))));
            if (data.get("sha256") instanceof String h) d.append(", sha256 ").append(h, 0, Math.min(12, h.length()));
            for (String k : List.of("train_limit", "test_limit", "validation")) {
                if (data.get(k) instanceof Number n && n.longValue() > 0) d.append(", --").append(k.replace('_', '-')).append(' ').append(n);
            }
            l.add(row("data", d.toString()));
        } else {
            l.add(row("data", "not recorded"));
        }
        Map<String, Object> log = (Map<String, Object>) m.get("log");
        if (log != null) {
            int n = (Integer) log.get("epochs");
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%d epoch%s in %s", n, n == 1 ? "" : "s", log.get("path")));
            if (log.containsKey("last_epoch")) {
                s.append(String.format(Locale.ROOT, "; epoch %s: train %s %s, test %s", log.get("last_epoch"), log.get("objective"),
                        nats(log.get("last_train")), nats(log.get("last_test"))));
            }
            if (log.containsKey("best_test")) {
                s.append(String.format(Locale.ROOT, "; best test %s at epoch %s", nats(log.get("best_test")), log.get("best_epoch")));
            }
            s.append(String.format(Locale.ROOT, "; %.0f s of training", ((Number) log.get("training_seconds")).doubleValue()));
            if (log.containsKey("unreadable_lines")) s.append("; ").append(log.get("unreadable_lines")).append(" lines unreadable");
            l.add(row("log", s.toString()));
            if (log.get("final") instanceof Map<?, ?> f) l.add(row("last figures", finalFigures(f)));
        }
        Map<String, Object> evals = (Map<String, Object>) m.get("evals");
        if (evals != null) {
            for (String e : EvalLog.lines(evals)) l.add(row("eval", e));
            if (evals.containsKey("unreadable_lines")) l.add(row("eval", evals.get("unreadable_lines") + " lines of " + evals.get("path") + " unreadable"));
        }
        if (sel != null) l.add(row("selection", selection(sel)));
        l.add(row("weights", (Boolean) m.get("finite") ? "all finite" : "NOT finite: " + m.get("non_finite")));
        if (m.get("continue") != null) l.add(row("continue", (String) m.get("continue")));
        return l;
    }

    /**
     * The model-selection row (train --keep-best / --early-stop): "on the validation figure (300
     * examples): best -129.20 at epoch 36, kept in best.safetensors; early stop after 3 epochs
     * without improvement: stopped".
     */
    static String selection(Map<String, Object> sel) {
        StringBuilder b = new StringBuilder("on the ").append(sel.get("on")).append(" figure");
        if (sel.get("validation_examples") instanceof Number v) b.append(String.format(Locale.ROOT, " (%,d examples)", v.longValue()));
        b.append(": ");
        if (sel.get("best") instanceof Number best) {
            b.append("best ").append(figure(best.doubleValue())).append(" at epoch ").append(sel.get("best_epoch"));
            if (Boolean.TRUE.equals(sel.get("keep_best"))) b.append(", kept in best.safetensors");
        } else {
            b.append("no epoch evaluated yet");
        }
        if (sel.get("patience") instanceof Number p && p.intValue() > 0) {
            b.append(String.format(Locale.ROOT, "; early stop after %d epochs without improvement", p.intValue()));
            b.append(Boolean.TRUE.equals(sel.get("stopped_early")) ? ": stopped"
                    : String.format(Locale.ROOT, " (%s so far)", sel.get("epochs_since_best")));
        }
        return b.toString();
    }

    /**
     * The figures train printed at its end (the log's "final" record) in train's words: "test ELBO
     * -320.58, log p(x) -293.59 (k=100)"; a key without a name of its own is shown as it is.
     */
    static String finalFigures(Map<?, ?> f) {
        List<String> parts = new ArrayList<>();
        Object objective = f.get("objective");
        for (Map.Entry<?, ?> e : f.entrySet()) {
            String k = String.valueOf(e.getKey());
            Object v = e.getValue();
            String value = v instanceof Number x ? figure(x.doubleValue()) : String.valueOf(v);
            switch (k) {
                case "event", "epochs", "objective", "k", "eval_seconds", "selection", "best_epoch", "best_objective",
                     "stopped_early" -> { } // the selection row says these
                case "test_objective" -> {
                    if (!f.containsKey("test_elbo")) parts.add("test " + (objective == null ? "objective" : objective) + " " + value);
                }
                case "test_elbo" -> parts.add("test ELBO " + value);
                case "test_log_px", "test_log_px_given_y" -> parts.add((k.endsWith("given_y") ? "log p(x|y) " : "log p(x) ") + value
                        + (f.get("k") instanceof Number n ? " (k=" + n.longValue() + ")" : ""));
                case "test_accuracy" -> parts.add("test accuracy " + value);
                case "test_bits_per_dim" -> parts.add("test bits_per_dim " + value);
                default -> parts.add(k + " " + value);
            }
        }
        if (f.get("epochs") instanceof Number n) parts.add("after epoch " + n.longValue());
        return String.join(", ", parts);
    }

    /** A figure as the other commands print it: nats to 2 decimals, a fraction (an accuracy) to 4. */
    private static String figure(double x) {
        return String.format(Locale.ROOT, Math.abs(x) < 1 ? "%.4f" : "%.2f", x);
    }

    static String count(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%,d", n.longValue()) : String.valueOf(v);
    }

    private static String nats(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.2f", n.doubleValue()) : "n/a";
    }

    private static String row(String label, String value) {
        return String.format(Locale.ROOT, "%-13s%s", label, value);
    }

}
