package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.ImportanceSampled;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "eval", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Evaluate a trained model on the test set: the ELBO and the importance-sampled estimate of "
                + "log p(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), in nats per example.",
                "A CVAE is evaluated with each input's own label: the conditional ELBO and log p(x|y) = "
                        + "log (1/k) sum_i p(x|z_i,y) p(z_i) / q(z_i|x,y) (--scores column log_px_given_y).",
                "Other families report their own test objective and metrics.",
                "Binarised models are evaluated on one fixed binarisation of the test set (from --seed).",
                "--split train takes the examples the run trained on instead, --split validation those train --validation held out.",
                "Each completed evaluation is recorded in the run folder's " + EvalLog.FILE
                        + " (elbo4j info shows the latest of each setting; --no-record: not)."})
final class EvalCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DataOptions data = new DataOptions();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "-k", paramLabel = "K", defaultValue = "1000",
            description = "Importance samples per input (default: ${DEFAULT-VALUE}; published tables use 5000).")
    int k;
    @Option(names = "--elbo-samples", paramLabel = "L", defaultValue = "1", description = "Samples for the ELBO estimate (default: ${DEFAULT-VALUE}).")
    int elboSamples;
    @Option(names = {"--limit", "--test-limit"}, paramLabel = "N", defaultValue = "0",
            description = "Evaluate only the first N examples of the split (0: all); --test-limit is the same flag, as train names it.")
    int limit;
    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "test", completionCandidates = Candidates.Splits.class,
            description = "test, train (the examples the run trained on: under its --train-limit, without its validation "
                    + "examples) or validation (the examples train --validation held out, as the run evaluated them "
                    + "after every epoch) (default: ${DEFAULT-VALUE}).")
    String split;
    @Option(names = "--scores", paramLabel = "FILE.csv", description = "Also write per-example scores (index, label, elbo, log_px; for a CVAE log_px_given_y) to this CSV.")
    Path scores;
    @Option(names = "--seed", paramLabel = "N", description = "Evaluation seed (default: the training seed).")
    Long seed;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;
    @Option(names = "--no-record", description = "Do not record the evaluation in the run folder's " + EvalLog.FILE
            + " (by default each completed evaluation appends its settings and figures there; elbo4j info shows them).")
    boolean noRecord;
    @Mixin
    AisOptions ais = new AisOptions(); // rbm: log Z by AIS

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * A usage error naming the first of {@code flags} given on the command line: they set
     * {@code what}, which the checkpoint's model does not get (before, they were dropped without a
     * word, and --scores wrote no file while eval exited 0).
     */
    private void refuseGiven(String what, Checkpoint c, String... flags) {
        for (String f : flags) {
            if (spec.commandLine().getParseResult().hasMatchedOption(f)) {
                throw new Main.UsageException(f + " applies to " + what + ", which a '" + c.model().type() + "' model does not get; eval reports "
                        + (c.model() instanceof dev.elbo4j.model.RbmConfig ? "its log p(x) by AIS (--ais-runs, --ais-schedule, --raise)"
                        : "its test " + c.model().objectiveName()) + " (drop " + f + ")");
            }
        }
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr(), out = spec.commandLine().getOut();
        if (k < 1) throw new Main.UsageException("-k must be >= 1, got " + k);
        if (elboSamples < 1) throw new Main.UsageException("--elbo-samples must be >= 1, got " + elboSamples);
        if (!DataOptions.SPLITS.contains(split)) {
            throw new Main.UsageException("--split must be one of " + String.join(", ", DataOptions.SPLITS) + ", got " + split);
        }
        Flags.writable(scores, ais.weightsFile); // before the evaluation, which can take hours
        long start = System.nanoTime();
        Path file = checkpoint.file();
        Checkpoint c = checkpoint.load();
        Dataset test = data.loadSplit(c, split, Flags.atLeast("--limit", limit, 0), err, "elbo4j eval");
        Binarization mode = c.training() == null ? Binarization.DYNAMIC : c.training().binarization();
        long s = seed != null ? seed : c.training() == null ? 1 : c.training().seed();
        // The record of this evaluation (evals.jsonl): its setting here, its figures below, written once all is printed.
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("time", null); // set when written; first in the line
        rec.put("elbo4j", EvalLog.version());
        rec.put("checkpoint", file.getFileName().toString());
        if (c.state() != null) {
            rec.put("step", c.state().step());
            rec.put("epoch", c.state().epoch());
        }
        rec.put("data", data.name());
        rec.put("split", split);
        rec.put("limit", limit);
        rec.put("examples", test.n());
        rec.put("seed", s);
        if (!(c.model() instanceof dev.elbo4j.model.RbmConfig)) {
            refuseGiven("the AIS estimate of an rbm's log p(x)", c, "--ais-runs", "--ais-schedule", "--ais-base", "--ais-weights", "--raise");
        }
        if (c.model() instanceof dev.elbo4j.model.RbmConfig) { // rbm: AIS
            refuseGiven("importance sampling (vae, cvae)", c, "-k", "--elbo-samples", "--scores");
            try (Backend be = device.open()) {
                rec.put("device", be.name());
                ais.evaluate(c, data, test, split, be, mode, s, !noProgress, out, err, rec);
            }
            return record(rec, start, err);
        }
        int classes = c.model().labelUse() == LabelUse.NONE ? 0 : c.model().classes();
        try (Backend be = device.open(c.model()); Model m = c.restoreModel(be); DeviceDataset td = new DeviceDataset(be, test, classes)) {
            if (!(m instanceof ImportanceSampled)) refuseGiven("importance sampling (vae, cvae)", c, "-k", "--elbo-samples", "--scores");
            err.printf(Locale.ROOT, "elbo4j eval: %s%n  %d %s examples of %s; %s%n", c.model(), test.n(), split, data.name(),
                    be.description());
            rec.put("device", be.name());
            if (!(m instanceof ImportanceSampled model)) {
                // Models without importance-sampled likelihood: the model's own test objective and metrics.
                Model.TestFigures f = m.testFigures(td, mode, s);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s %s %.3f nats", split,
                        c.model().objectiveName(), f.objective()));
                f.metrics().forEach((key, v) -> line.append(String.format(Locale.ROOT, ", %s %.4f", key, v)));
                out.println(line.append(", ").append(test.n()).append(" examples"));
                rec.put("method", "objective");
                rec.put("objective", c.model().objectiveName());
                rec.put("value", f.objective());
                if (!f.metrics().isEmpty()) rec.put("metrics", new LinkedHashMap<>(f.metrics()));
                return record(rec, start, err);
            }
            // A conditional model (the CVAE) is evaluated with each input's own label: log p(x|y).
            boolean conditional = model.conditioningClasses() > 0;
            String what = conditional ? "log p(x|y)" : "log p(x)";
            Evaluator ev = new Evaluator(model, td, mode, s);
            double[] elbo;
            try {
                elbo = ev.elbo(elboSamples);
            } catch (IllegalArgumentException e) { // a batch times the samples beyond an array
                throw new Main.UsageException("--elbo-samples " + elboSamples + ": " + e.getMessage());
            }
            Progress progress = new Progress(err, !noProgress);
            progress.begin(what + ", k=" + k, test.n(), 0);
            long t0 = System.nanoTime();
            double[] lpx = ev.logLikelihood(k, done -> progress.update(done, 1, "inputs/s", (String) null));
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "%s ELBO %.3f nats (L=%d), %s %.3f nats (importance sampling, k=%d, %.1f s), %d examples%n",
                    split, Evaluator.mean(elbo), elboSamples, what, Evaluator.mean(lpx), k, secs, test.n());
            rec.put("method", "importance sampling");
            rec.put("k", k);
            rec.put("elbo_samples", elboSamples);
            rec.put("elbo", Evaluator.mean(elbo));
            rec.put(conditional ? "log_px_given_y" : "log_px", Evaluator.mean(lpx));
            rec.put("log_px_seconds", secs);
            if (scores != null) {
                StringBuilder b = new StringBuilder(conditional ? "index,label,elbo,log_px_given_y\n" : "index,label,elbo,log_px\n");
                for (int i = 0; i < test.n(); i++) {
                    b.append(i).append(',').append(test.hasLabels() ? Integer.toString(test.label(i)) : "")
                            .append(',').append(String.format(Locale.ROOT, "%.6f", elbo[i]))
                            .append(',').append(String.format(Locale.ROOT, "%.6f", lpx[i])).append('\n');
                }
                AtomicFiles.writeBytes(scores, b.toString().getBytes(StandardCharsets.UTF_8));
                out.println("wrote " + scores);
            }
        }
        return record(rec, start, err);
    }

    /**
     * Appends the completed evaluation's record to the run folder's evals.jsonl (unless
     * --no-record); a failure to write it is a warning, the exit status stays 0.
     */
    private int record(Map<String, Object> rec, long start, PrintWriter err) {
        if (noRecord) return 0;
        out().flush(); // the figures first, then any warning about their record
        rec.put("seconds", (System.nanoTime() - start) / 1e9);
        rec.put("time", EvalLog.now());
        EvalLog.record(checkpoint.runFolder(), rec, err);
        return 0;
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }
}
