package dev.elbo4j.cli;

import dev.elbo4j.io.Json;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The run folder's record of its evaluations, {@code evals.jsonl}: {@code elbo4j eval} appends one
 * JSON object per evaluation it completes (its settings and the figures it printed), and
 * {@code elbo4j info} shows the latest of each setting (docs/FORMAT.md). Each record is one write
 * of one whole line to a file opened for appending, so two evals, or an eval beside a training
 * (which writes only its own files), add whole lines without a lock.
 */
final class EvalLog {
    static final String FILE = "evals.jsonl";

    /**
     * The keys that make an evaluation's setting: two records that agree on all of them measure the
     * same figure (perhaps at another step of the checkpoint), and the later one replaces the
     * earlier in info.
     */
    static final List<String> SETTING = List.of("checkpoint", "data", "split", "limit", "seed", "method", "k", "elbo_samples",
            "ais_runs", "ais_schedule", "ais_base", "raise");

    private EvalLog() {
    }

    /** The elbo4j version for records: the jar's, or "development build" when run from classes. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /** The current time as records hold it: ISO-8601 UTC to the second ("2026-12-07T14:30:05Z"). */
    static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /**
     * Appends {@code record} to {@code run}/evals.jsonl as one line, in one write, synced. A NaN or
     * infinite number is written as {@code null} (as in log.jsonl).
     *
     * @throws IOException naming the file when it cannot be written
     */
    static void append(Path run, Map<String, Object> record) throws IOException {
        Path path = run.resolve(FILE);
        byte[] line = (Json.write(clean(record)) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) ch.write(b); // one write() for a line this size; APPEND puts it at the end
            ch.force(false);
        } catch (IOException e) {
            throw new IOException(path + ": " + Main.describe(e), e);
        }
    }

    /**
     * Records an evaluation the command has printed: a failure to write is a warning naming the
     * file, never an error, since the figure is already on the screen.
     */
    static void record(Path run, Map<String, Object> record, PrintWriter err) {
        try {
            append(run, record);
        } catch (IOException | RuntimeException e) {
            err.println("elbo4j eval: warning: the evaluation was not recorded in " + run.resolve(FILE) + ": "
                    + (e instanceof IOException ? e.getMessage() : Main.describe(e)) + " (the figures above stand; --no-record skips the record)");
            err.flush();
        }
    }

    @SuppressWarnings("unchecked")
    private static Object clean(Object v) {
        if (v instanceof Double d && !Double.isFinite(d)) return null;
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> c = new LinkedHashMap<>();
            ((Map<String, Object>) m).forEach((k, x) -> c.put(k, clean(x)));
            return c;
        }
        return v;
    }

    /**
     * The file's records, the latest of each setting in the order of their latest line, for info:
     * {@code path}, {@code records} (lines read), {@code unreadable_lines} when some are not JSON
     * objects (a line being appended at this moment, a damaged file), and {@code latest}, each with
     * {@code current_step} (the step of the file it evaluated as it is now, when it can be read) and
     * {@code older_step} (true when the figure is of an earlier step than that).
     *
     * @param stepOf the current step of a checkpoint file named in a record (null: no step, or none there)
     */
    static Map<String, Object> summary(Path log, Function<String, Long> stepOf) throws IOException {
        Map<List<Object>, Map<String, Object>> latest = new LinkedHashMap<>();
        RunLog.Lines lines = RunLog.read(log);
        int records = lines.records().size(), unreadable = lines.unreadable();
        for (Map<String, Object> r : lines.records()) {
            List<Object> key = new ArrayList<>();
            for (String k : SETTING) key.add(r.get(k) instanceof Number n ? (Object) n.doubleValue() : r.get(k));
            latest.remove(key); // the latest line of a setting goes last
            latest.put(key, r);
        }
        Map<String, Long> steps = new LinkedHashMap<>();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, Object> r : latest.values()) {
            Map<String, Object> row = new LinkedHashMap<>(r);
            String file = String.valueOf(r.get("checkpoint"));
            Long now = steps.containsKey(file) ? steps.get(file) : stepOf.apply(file);
            steps.put(file, now);
            if (now != null) row.put("current_step", now);
            row.put("older_step", now != null && r.get("step") instanceof Number s && s.longValue() < now);
            rows.add(row);
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("path", log.toString());
        s.put("records", records);
        if (unreadable > 0) s.put("unreadable_lines", unreadable);
        s.put("latest", rows);
        return s;
    }

    /**
     * One line per row of {@link #summary}: the figure, its setting and when, in eval's words and
     * to eval's 3 decimals ("log p(x), k = 5000, test, checkpoint step 18: -96.610 nats, ELBO
     * -102.290 (2026-12-07, 625 s)"), and a note when it is of an older step than the checkpoint.
     * The seed and the data are named only when the rows differ in them.
     */
    @SuppressWarnings("unchecked")
    static List<String> lines(Map<String, Object> summary) {
        List<Map<String, Object>> rows = (List<Map<String, Object>>) summary.get("latest");
        Set<Object> seeds = new HashSet<>(), data = new HashSet<>();
        for (Map<String, Object> r : rows) {
            seeds.add(String.valueOf(r.get("seed")));
            data.add(String.valueOf(r.get("data")));
        }
        List<String> out = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            StringBuilder b = new StringBuilder();
            String method = String.valueOf(r.get("method"));
            String what = r.containsKey("log_px_given_y") ? "log p(x|y)" : "log p(x)";
            switch (method) {
                case "importance sampling" -> {
                    b.append(what).append(", k = ").append(InfoCommand.count(r.get("k")));
                    if (r.get("elbo_samples") instanceof Number l && l.longValue() != 1) b.append(", L = ").append(l);
                }
                case "AIS" -> {
                    b.append("AIS log p(x), ").append(InfoCommand.count(r.get("ais_runs"))).append(" runs, ").append(InfoCommand.count(r.get("ais_betas")))
                            .append(" betas, ").append(r.get("ais_base")).append(" base");
                    if (r.get("raise") instanceof Number n && n.longValue() > 0) b.append(", RAISE on ").append(InfoCommand.count(n));
                }
                default -> b.append(r.getOrDefault("objective", "objective"));
            }
            b.append(", ").append(r.get("split"));
            if (r.get("limit") instanceof Number n && n.longValue() > 0) b.append(" (first ").append(InfoCommand.count(n)).append(")");
            if (data.size() > 1) b.append(", data ").append(r.get("data"));
            if (seeds.size() > 1) b.append(", seed ").append(r.get("seed"));
            String file = String.valueOf(r.get("checkpoint"));
            b.append(", ").append(file.equals("checkpoint.safetensors") ? "checkpoint" : file);
            if (r.get("step") instanceof Number s) b.append(" step ").append(InfoCommand.count(s));
            b.append(": ");
            switch (method) {
                case "importance sampling" -> b.append(nats(r.get(what.equals("log p(x)") ? "log_px" : "log_px_given_y")))
                        .append(", ELBO ").append(nats(r.get("elbo")));
                case "AIS" -> {
                    b.append(nats(r.get("log_px"))).append(", log Z ").append(number(r.get("log_z")))
                            .append(" (+-3 std: log p(x) in [").append(number(r.get("log_px_low"))).append(", ")
                            .append(number(r.get("log_px_high"))).append("]), ")
                            .append(r.get("effective_runs") instanceof Number e ? String.format(Locale.ROOT, "%.1f", e.doubleValue()) : "n/a")
                            .append(" effective runs");
                    if (r.containsKey("raise_log_px")) {
                        b.append("; RAISE ").append(number(r.get("raise_log_px"))).append(" +- ").append(number(r.get("raise_std_error")))
                                .append(" (AIS ").append(number(r.get("raise_ais_log_px"))).append(" on the same)");
                    }
                }
                default -> {
                    b.append(nats(r.get("value")));
                    if (r.get("metrics") instanceof Map<?, ?> m) {
                        m.forEach((k, v) -> b.append(", ").append(k).append(' ')
                                .append(v instanceof Number x ? String.format(Locale.ROOT, "%.4f", x.doubleValue()) : "n/a"));
                    }
                }
            }
            String time = String.valueOf(r.get("time"));
            b.append(" (").append(time.length() >= 10 ? time.substring(0, 10) : time);
            if (r.get("seconds") instanceof Number s) b.append(String.format(Locale.ROOT, ", %.0f s", s.doubleValue()));
            b.append(")");
            if (Boolean.TRUE.equals(r.get("older_step"))) {
                b.append("; of an older step: ").append(file).append(" is now at step ").append(InfoCommand.count(r.get("current_step")));
            }
            out.add(b.toString());
        }
        return out;
    }

    private static String number(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.3f", n.doubleValue()) : "n/a";
    }

    private static String nats(Object v) {
        return number(v) + (v instanceof Number ? " nats" : "");
    }
}
