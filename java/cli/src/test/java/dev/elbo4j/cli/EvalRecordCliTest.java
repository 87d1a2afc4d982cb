package dev.elbo4j.cli;

import dev.elbo4j.io.Json;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j eval} records each evaluation it completes in the run folder's evals.jsonl, and
 * {@code elbo4j info} shows the latest of each setting: the figure eval printed, one row per
 * setting (k, checkpoint file, ...), a repeated setting replaced by its latest, a figure of an
 * older step than the checkpoint marked; --no-record, a failed eval and an unwritable folder
 * record nothing (the last with a warning, exit 0); an RBM's AIS figure reaches info; evals append
 * whole lines beside a training in the same folder. The old code recorded nothing.
 */
class EvalRecordCliTest {
    @TempDir
    static Path tmp;
    static Path data, run;

    @BeforeAll
    static void train() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 300, 60);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run(vae(run, "--epochs", "2", "--keep-best"));
        assertEquals(0, r.code(), r.err());
    }

    private static String[] vae(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "50", "--lr", "0.002", "--seed", "5", "--eval-k", "0", "--no-progress"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static CliTest.Result eval(Path c, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "-c", c.toString(), "--data", data.toString(), "--device", "cpu", "--no-progress"));
        a.addAll(List.of(extra));
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    private static String number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in " + text);
        return m.group(1);
    }

    /** info's rows of recorded evaluations. */
    private static List<String> evalRows(Path c) {
        CliTest.Result r = CliTest.run("info", c.toString());
        assertEquals(0, r.code(), r.err());
        return r.out().lines().filter(l -> l.startsWith("eval ")).map(l -> l.substring(13)).toList();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> latest(Path c) {
        CliTest.Result r = CliTest.run("info", c.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> evals = (Map<String, Object>) Json.parseObject(r.out().strip()).get("evals");
        assertNotNull(evals, r.out());
        return (List<Map<String, Object>>) evals.get("latest");
    }

    private static Path copy(String name) throws IOException {
        Path to = Files.createDirectories(tmp.resolve(name));
        try (var s = Files.list(run)) {
            for (Path p : s.toList()) if (Files.isRegularFile(p)) Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }

    @Test
    void infoShowsTheFigureEvalPrinted() throws IOException {
        Path c = copy("printed");
        long start = Instant.now().getEpochSecond();
        CliTest.Result r = eval(c, "-k", "7", "--limit", "40");
        String lpx = number(r.out(), "log p\\(x\\) (-?\\d+\\.\\d{3}) nats"), elbo = number(r.out(), "ELBO (-?\\d+\\.\\d{3}) nats");
        long step = Checkpoint.load(c.resolve("checkpoint.safetensors")).state().step();
        List<String> rows = evalRows(c);
        assertEquals(List.of("log p(x), k = 7, test (first 40), checkpoint step " + step + ": " + lpx + " nats, ELBO " + elbo + " nats"),
                rows.stream().map(l -> l.replaceFirst(" \\(\\d{4}-\\d{2}-\\d{2}, \\d+ s\\)$", "")).toList(), rows.toString());

        Map<String, Object> rec = latest(c).getFirst();
        assertEquals(Double.parseDouble(lpx), ((Number) rec.get("log_px")).doubleValue(), 5e-4);
        assertEquals(Double.parseDouble(elbo), ((Number) rec.get("elbo")).doubleValue(), 5e-4);
        assertEquals(7, ((Number) rec.get("k")).intValue());
        assertEquals(40, ((Number) rec.get("examples")).intValue());
        assertEquals(step, ((Number) rec.get("step")).longValue());
        assertEquals("checkpoint.safetensors", rec.get("checkpoint"));
        assertEquals(5, ((Number) rec.get("seed")).intValue(), "the training seed");
        assertEquals("cpu", rec.get("device"));
        assertEquals("importance sampling", rec.get("method"));
        assertEquals(Boolean.FALSE, rec.get("older_step"));
        assertNotNull(rec.get("elbo4j"));
        long when = Instant.parse((String) rec.get("time")).getEpochSecond();
        assertTrue(when >= start && when <= Instant.now().getEpochSecond(), rec.toString());
        assertTrue(((Number) rec.get("seconds")).doubleValue() > 0, rec.toString());
        assertEquals(1, Files.readAllLines(c.resolve(EvalLog.FILE)).size());
    }

    /**
     * Two settings (k, checkpoint file) give their own rows; a repeated setting after more training
     * replaces its row with the new step's figure, and the row left at the older step is marked.
     */
    @Test
    void oneRowPerSettingTheLatestOfEachAndOlderStepsMarked() throws IOException {
        Path c = copy("settings");
        String k3 = number(eval(c, "-k", "3").out(), "log p\\(x\\) (-?\\d+\\.\\d{3}) nats");
        String k5 = number(eval(c, "-k", "5").out(), "log p\\(x\\) (-?\\d+\\.\\d{3}) nats");
        String best = number(eval(c.resolve("best.safetensors"), "-k", "3").out(), "log p\\(x\\) (-?\\d+\\.\\d{3}) nats");
        long was = Checkpoint.load(c.resolve("checkpoint.safetensors")).state().step();
        long bestStep = Checkpoint.load(c.resolve("best.safetensors")).state().step();
        List<String> rows = evalRows(c);
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(0).startsWith("log p(x), k = 3, test, checkpoint step " + was + ": " + k3 + " nats"), rows.toString());
        assertTrue(rows.get(1).startsWith("log p(x), k = 5, test, checkpoint step " + was + ": " + k5 + " nats"), rows.toString());
        assertTrue(rows.get(2).startsWith("log p(x), k = 3, test, best.safetensors step " + bestStep + ": " + best + " nats"), rows.toString());
        assertTrue(rows.stream().noneMatch(l -> l.contains("older step")), rows.toString());

        // One more epoch, then k = 3 again: its row is replaced by the new figure; k = 5's is of the older step now.
        assertEquals(0, CliTest.run("train", "--out", c.toString(), "--data", data.toString(), "--resume", "--epochs", "3",
                "--device", "cpu", "--no-progress").code());
        long now = Checkpoint.load(c.resolve("checkpoint.safetensors")).state().step();
        assertTrue(now > was);
        String again = number(eval(c, "-k", "3").out(), "log p\\(x\\) (-?\\d+\\.\\d{3}) nats");
        rows = evalRows(c);
        assertEquals(3, rows.size(), "k = 3 on checkpoint.safetensors replaced, not added: " + rows);
        assertTrue(rows.get(0).startsWith("log p(x), k = 5, test, checkpoint step " + was + ": " + k5 + " nats"), rows.toString());
        assertTrue(rows.get(0).endsWith("; of an older step: checkpoint.safetensors is now at step " + now), rows.toString());
        assertTrue(rows.get(2).startsWith("log p(x), k = 3, test, checkpoint step " + now + ": " + again + " nats"), rows.toString());
        assertFalse(rows.get(2).contains("older step"), rows.toString());
        long bestNow = Checkpoint.load(c.resolve("best.safetensors")).state().step();
        assertEquals(bestNow > bestStep, rows.get(1).contains("older step"), "best.safetensors against its own step: " + rows);
        List<Map<String, Object>> json = latest(c);
        assertEquals(List.of(true, bestNow > bestStep, false), json.stream().map(m -> m.get("older_step")).toList(), json.toString());
        assertEquals(now, ((Number) json.get(0).get("current_step")).longValue());
        assertEquals(4, Files.readAllLines(c.resolve(EvalLog.FILE)).size(), "every evaluation stays in the file");

        // A new run in the folder starts without the old run's evaluations.
        assertEquals(0, CliTest.run(vae(c, "--epochs", "1", "--force")).code());
        assertFalse(Files.exists(c.resolve(EvalLog.FILE)), "train --force left the old run's evaluations");
    }

    @Test
    void noRecordAndAFailedEvalWriteNothing() throws IOException {
        Path c = copy("norecord");
        CliTest.Result r = eval(c, "-k", "2", "--no-record");
        assertTrue(r.out().contains("log p(x) "), r.out());
        assertFalse(Files.exists(c.resolve(EvalLog.FILE)), "--no-record wrote a record");
        r = CliTest.run("eval", "-c", c.toString(), "--data", data.toString(), "-k", "2", "--no-progress",
                "--scores", tmp.resolve("no-such-folder").resolve("s.csv").toString());
        assertEquals(1, r.code(), "the scores file cannot be written: " + r.err());
        assertFalse(Files.exists(c.resolve(EvalLog.FILE)), "a failed eval wrote a record");
        eval(c, "-k", "2");
        assertEquals(1, Files.readAllLines(c.resolve(EvalLog.FILE)).size(), "the same eval records without --no-record");
    }

    /** A record that cannot be written (here evals.jsonl is a folder) is a warning naming it: the figure stands, exit 0. */
    @Test
    void anUnwritableRecordWarnsAndExitsZero() throws IOException {
        Path c = copy("unwritable");
        Files.createDirectories(c.resolve(EvalLog.FILE));
        CliTest.Result r = eval(c, "-k", "2");
        assertTrue(r.out().matches("(?s)test ELBO -?\\d+\\.\\d{3} nats \\(L=1\\), log p\\(x\\) -?\\d+\\.\\d{3} nats.*"), r.out());
        assertTrue(r.err().contains("elbo4j eval: warning: the evaluation was not recorded in " + c.resolve(EvalLog.FILE) + ": "), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(r.err().contains("error"), r.err());
    }

    @Test
    @SuppressWarnings("unchecked")
    void anRbmsAisFigureReachesInfo() throws IOException {
        Path rbm = tmp.resolve("rbm");
        assertEquals(0, CliTest.run("train", "--data", data.toString(), "--out", rbm.toString(), "--device", "cpu", "--model", "rbm",
                "--hidden", "8", "--epochs", "1", "--gibbs-steps", "2", "--batch-size", "50", "--no-progress").code());
        CliTest.Result r = eval(rbm, "--ais-runs", "6", "--ais-schedule", "30:1.0", "--raise", "5", "--limit", "20");
        String lpx = number(r.out(), "test log p\\(x\\) (-?\\d+\\.\\d{3}) nats"), logZ = number(r.out(), "AIS log Z (-?\\d+\\.\\d{3})");
        String raise = number(r.out(), "RAISE log p\\(x\\) (-?\\d+\\.\\d{3}) nats");
        List<String> rows = evalRows(rbm);
        assertEquals(1, rows.size(), rows.toString());
        assertTrue(rows.getFirst().startsWith("AIS log p(x), 6 runs, 30 betas, data base, RAISE on 5, test (first 20), checkpoint step "),
                rows.toString());
        assertTrue(rows.getFirst().contains(": " + lpx + " nats, log Z " + logZ + " ("), rows.toString());
        assertTrue(rows.getFirst().contains("; RAISE " + raise + " +- "), rows.toString());
        Map<String, Object> rec = latest(rbm).getFirst();
        assertEquals("AIS", rec.get("method"));
        assertEquals(List.of(6, 30, "30:1.0", "data", 5), List.of(((Number) rec.get("ais_runs")).intValue(),
                ((Number) rec.get("ais_betas")).intValue(), rec.get("ais_schedule"), rec.get("ais_base"), ((Number) rec.get("raise")).intValue()));
        assertEquals(Double.parseDouble(lpx), ((Number) rec.get("log_px")).doubleValue(), 5e-4);
        assertEquals(Double.parseDouble(logZ), ((Number) rec.get("log_z")).doubleValue(), 5e-4);
    }

    /**
     * Evals beside a training in the same folder (which holds the folder's lock): two evals at once,
     * as separate processes, each append one whole line, and the training goes on with its log intact.
     */
    @Test
    void evalsBesideALiveTrainingAppendWholeLines() throws Exception {
        Path live = tmp.resolve("live");
        Path trainLog = tmp.resolve("live-train.log");
        Process training = ChildJvm.start(List.of(), List.of(vae(live, "--epochs", "1000", "--checkpoint-every", "1")), trainLog);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(live.resolve("log.jsonl")) || Files.readAllLines(live.resolve("log.jsonl")).isEmpty()) {
                assertTrue(training.isAlive(), "the training died: " + ChildJvm.output(trainLog));
                assertTrue(System.nanoTime() < deadline, "no epoch after 60 s: " + ChildJvm.output(trainLog));
                Thread.sleep(50);
            }
            List<Process> evals = new ArrayList<>();
            for (String k : List.of("2", "3")) {
                evals.add(ChildJvm.start(List.of(), List.of("eval", "-c", live.toString(), "--data", data.toString(), "--device", "cpu",
                        "-k", k, "--no-progress"), tmp.resolve("live-eval-" + k + ".log")));
            }
            for (int i = 0; i < evals.size(); i++) {
                assertTrue(evals.get(i).waitFor(2, TimeUnit.MINUTES));
                assertEquals(0, evals.get(i).exitValue(), ChildJvm.output(tmp.resolve("live-eval-" + (i + 2) + ".log")));
            }
            assertTrue(training.isAlive(), "the training goes on: " + ChildJvm.output(trainLog));
            List<String> lines = Files.readAllLines(live.resolve(EvalLog.FILE));
            assertEquals(2, lines.size(), lines.toString());
            assertEquals(java.util.Set.of(2, 3), new java.util.HashSet<>(lines.stream()
                    .map(l -> ((Number) Json.parseObject(l).get("k")).intValue()).toList()));
        } finally {
            training.destroyForcibly();
            training.waitFor(30, TimeUnit.SECONDS);
        }
        for (String l : Files.readAllLines(live.resolve("log.jsonl"))) {
            if (!l.isBlank()) Json.parseObject(l); // whole lines: none torn by the evals
        }
    }
}
