package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Model selection in {@code train}: the validation split, --keep-best and --early-stop, each
 * across a --resume. The setting (500 training digits, lr 1e-2) makes the validation ELBO stall
 * within about 25 epochs, so early stopping fires; the CPU backend is deterministic, so two runs
 * with the same flags compute the same numbers.
 */
class SelectionCliTest {
    @TempDir
    static Path tmp;
    static Path data;
    /** A run that stopped early: --validation 100 --keep-best --early-stop 2, up to 80 epochs. */
    static Path stopped;
    static List<Map<String, Object>> stoppedLog;
    static CliTest.Result stoppedResult;

    static final String[] SELECT = {"--validation", "100", "--keep-best", "--early-stop", "2"};

    @BeforeAll
    static void setUp() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("data"), 600, 100);
        stopped = tmp.resolve("stopped");
        stoppedResult = CliTest.run(train(stopped, concat(SELECT, "--epochs", "80")));
        assertEquals(0, stoppedResult.code(), stoppedResult.err());
        stoppedLog = epochs(stopped);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "48", "--latent", "6", "--batch-size", "64", "--lr", "1e-2", "--eval-k", "0", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(Arrays.asList(a));
        l.addAll(Arrays.asList(b));
        return l.toArray(String[]::new);
    }

    /** The per-epoch records of a run's log.jsonl (not the final one). */
    static List<Map<String, Object>> epochs(Path run) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("log.jsonl"))) {
            Map<String, Object> m = Json.parseObject(line);
            if (!m.containsKey("event")) out.add(m);
        }
        return out;
    }

    /** The epoch (1-based) of the highest validation objective in {@code log}, the earliest of ties. */
    static int bestEpoch(List<Map<String, Object>> log) {
        return bestEpoch(log, "validation_objective");
    }

    /** The epoch (1-based) of the highest figure under {@code key} in {@code log}, the earliest of ties. */
    static int bestEpoch(List<Map<String, Object>> log, String key) {
        int best = 0;
        double v = Double.NEGATIVE_INFINITY;
        for (Map<String, Object> m : log) {
            double x = ((Number) m.get(key)).doubleValue();
            if (x > v) {
                v = x;
                best = ((Number) m.get("epoch")).intValue();
            }
        }
        return best;
    }

    static Map<String, SafeTensors.Entry> tensors(Path file) throws IOException {
        return SafeTensors.read(file).tensors();
    }

    @Test
    void theValidationSplitIsTheLastExamplesDisjointFromTraining() {
        byte[] images = new byte[10 * 4];
        byte[] labels = new byte[10];
        for (int i = 0; i < 10; i++) {
            Arrays.fill(images, i * 4, i * 4 + 4, (byte) i);
            labels[i] = (byte) i;
        }
        Dataset all = new Dataset(images, labels, 10, 2, 2);
        for (String spec : List.of("3", "0.25")) { // 0.25 of 10 rounds to 3
            SelectionOptions s = new SelectionOptions();
            s.validation = spec;
            Dataset train = s.holdOut(all);
            Dataset val = s.validationSet();
            assertEquals(7, train.n(), spec);
            assertEquals(3, val.n(), spec);
            for (int i = 0; i < 7; i++) assertEquals(i, train.label(i), spec);
            for (int i = 0; i < 3; i++) {
                assertEquals(7 + i, val.label(i), spec);
                assertEquals(7 + i, val.pixel(i, 0), spec);
            }
        }
    }

    @Test
    void theSplitIsRecordedAndLoggedAndTheTestSetPlaysNoPart() throws IOException {
        assertTrue(stoppedResult.err().contains("500 train, 100 test examples"), stoppedResult.err());
        assertTrue(stoppedResult.err().contains("model selection on the validation ELBO"), stoppedResult.err());
        Checkpoint c = Checkpoint.load(stopped.resolve("checkpoint.safetensors"));
        assertEquals(100, ((Number) c.dataSource().get("validation")).intValue());
        assertEquals("validation", c.selection().get("on"));
        for (Map<String, Object> m : stoppedLog) {
            assertTrue(m.get("validation_objective") instanceof Number, m.toString());
            assertNotEquals(m.get("validation_objective"), m.get("test_objective"), m.toString());
        }
        // The epoch kept is the one with the best validation figure, not the best test figure.
        int byTest = bestEpoch(stoppedLog, "test_objective");
        int best = bestEpoch(stoppedLog);
        assertEquals(best, ((Number) c.selection().get("best_epoch")).intValue());
        assertNotEquals(byTest, best, "the setting should pick different epochs by test and by validation");
    }

    @Test
    void earlyStopFiresPatienceEpochsAfterTheBest() {
        int best = bestEpoch(stoppedLog);
        assertEquals(best + 2, stoppedLog.size(), "epochs run: " + stoppedLog.size() + ", best " + best);
        assertTrue(stoppedLog.size() < 80);
        assertTrue(stoppedResult.err().contains("stopped early after epoch " + (best + 2) + "/80"), stoppedResult.err());
        assertTrue(stoppedResult.err().contains("was at epoch " + best), stoppedResult.err());
        assertTrue(stoppedResult.out().contains("test ELBO"), stoppedResult.out()); // the final evaluation ran
    }

    @Test
    void infoSaysTheRunStoppedEarlyAndHowToGoOn() {
        int best = bestEpoch(stoppedLog);
        CliTest.Result r = CliTest.run("info", stopped.toString());
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("stopped early (no improvement) after epoch " + (best + 2) + " of 80"), out);
        assertTrue(out.contains("selection    on the validation figure (100 examples): best "), out);
        assertTrue(out.contains(" at epoch " + best + ", kept in best.safetensors; early stop after 2 epochs without improvement: stopped"), out);
        assertTrue(out.contains("--validation 100"), out);
        // A bare --resume is refused for an early-stopped run; info names the flag that goes on.
        assertTrue(out.contains("--resume --early-stop P   (P > 2, or 0)"), out);
        assertFalse(out.contains("best_epoch"), out); // no raw log keys in the last figures
        // The best file's state: the best epoch itself, nothing counted since, so no stop.
        CliTest.Result b = CliTest.run("info", "--json", stopped.resolve("best.safetensors").toString());
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("\"stopped_early\":false"), b.out());
        assertTrue(b.out().contains("\"best_epoch\":" + best), b.out());
    }

    /**
     * info over several runs: a SELECTED column with the best figure, its epoch and what it was
     * selected on for the run that selected, blank for the one that did not; without any such run
     * the table has no such column.
     */
    @Test
    void infoOverSeveralRunsShowsTheSelectedBest() throws IOException {
        Path plain = tmp.resolve("plain");
        CliTest.Result t = CliTest.run(train(plain, "--epochs", "1"));
        assertEquals(0, t.code(), t.err());
        CliTest.Result r = CliTest.run("info", stopped.toString(), plain.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(0).matches("RUN .*BEST TEST +SELECTED"), r.out());
        int column = lines.get(0).indexOf("SELECTED");
        Checkpoint c = Checkpoint.load(stopped.resolve("checkpoint.safetensors"));
        String expected = String.format(java.util.Locale.ROOT, "%.2f (epoch %d, validation)",
                ((Number) c.selection().get("best")).doubleValue(), bestEpoch(stoppedLog));
        assertEquals(expected, lines.get(1).substring(column), r.out());
        assertEquals(String.format(java.util.Locale.ROOT, "%.2f", ((Number) stoppedLog.get(bestEpoch(stoppedLog) - 1)
                .get("validation_objective")).doubleValue()), expected.substring(0, expected.indexOf(' ')), "the log's figure");
        assertTrue(lines.get(2).length() <= column, "blank for the run without selection: " + r.out());
        r = CliTest.run("info", plain.toString(), plain.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().contains("SELECTED"), r.out());
    }

    /** train's curves.png of a run with a validation split draws its line (green) and rings the best epoch (red). */
    @Test
    void theRunsCurvesShowTheValidationLineAndTheBest() throws IOException {
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(stopped.resolve("curves.png").toFile());
        int green = PlotsTest.count(img, 0x2ca02c), red = PlotsTest.count(img, 0xd62728);
        assertTrue(green > 100 && red > 50, "validation line " + green + ", best ring " + red);
    }

    @Test
    void theBestFileHoldsTheBestEpochsCheckpoint() throws IOException {
        int best = bestEpoch(stoppedLog);
        assertTrue(best < stoppedLog.size());
        Path upTo = tmp.resolve("up-to-best");
        CliTest.Result r = CliTest.run(train(upTo, concat(SELECT, "--epochs", Integer.toString(best))));
        assertEquals(0, r.code(), r.err());
        assertEquals(tensors(upTo.resolve("checkpoint.safetensors")), tensors(stopped.resolve("best.safetensors")));
        assertNotEquals(tensors(stopped.resolve("checkpoint.safetensors")), tensors(stopped.resolve("best.safetensors")));
        // The other commands take it as they take a checkpoint.
        r = CliTest.run("eval", "-c", stopped.resolve("best.safetensors").toString(), "-k", "2", "--limit", "20", "--no-progress");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void aResumeContinuesTheSplitTheBestAndThePatience() throws IOException {
        int best = bestEpoch(stoppedLog);
        Path run = tmp.resolve("resumed");
        CliTest.Result r = CliTest.run(train(run, concat(SELECT, "--epochs", Integer.toString(best + 1))));
        assertEquals(0, r.code(), r.err());
        // Resumed with none of the selection flags: the run's own split, best and patience.
        r = CliTest.run(train(run, "--resume", "--epochs", "80"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("100 validation examples"), r.err());
        assertTrue(r.err().contains("stopped early after epoch " + (best + 2) + "/80"), r.err());
        assertEquals(stoppedLog.size(), epochs(run).size());
        assertEquals(tensors(stopped.resolve("best.safetensors")), tensors(run.resolve("best.safetensors")));
        assertEquals(tensors(stopped.resolve("checkpoint.safetensors")).get("optim.m"),
                tensors(run.resolve("checkpoint.safetensors")).get("optim.m"));
        for (String k : tensors(stopped.resolve("checkpoint.safetensors")).keySet()) {
            assertEquals(tensors(stopped.resolve("checkpoint.safetensors")).get(k), tensors(run.resolve("checkpoint.safetensors")).get(k), k);
        }
        // A run that stopped early is not trained on under the same patience.
        r = CliTest.run(train(run, "--resume", "--epochs", "90"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--early-stop"), r.err());
        // Another split is other data.
        r = CliTest.run(train(tmp.resolve("resumed"), "--resume", "--epochs", "90", "--validation", "50", "--early-stop", "0"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("validation: 100 -> 50"), r.err());
    }

    @Test
    void badValuesExit2NamingTheFlag() {
        String[][] cases = {{"--validation", "0.0"}, {"--validation", "1.5"}, {"--validation", "abc"}, {"--validation", "600"},
                {"--validation", "0.0001"}, {"--early-stop", "-1"}};
        for (String[] c : cases) {
            CliTest.Result r = CliTest.run(train(tmp.resolve("bad"), c[0], c[1], "--epochs", "1"));
            assertEquals(2, r.code(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().contains(c[0]), String.join(" ", c) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
