package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code eval --split}: "validation" is the examples {@code train --validation} held out, scored as
 * the trainer scored them after every epoch; "train" the examples the run trained on (under its
 * --train-limit, without the validation rows). The run: the first 500 of 600 training digits
 * (--train-limit 500), the last 100 of those held out, so it trains on rows 0..399 and validates on
 * rows 400..499; rows 500..599 belong to no split of the run.
 */
class EvalSplitCliTest {
    @TempDir
    static Path tmp;
    static Path data, run;

    @BeforeAll
    static void train() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("data"), 600, 100);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu",
                "--hidden", "32", "--latent", "4", "--batch-size", "50", "--lr", "3e-3", "--epochs", "2", "--seed", "7",
                "--train-limit", "500", "--validation", "100", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("400 train, 100 test examples"), r.err());
    }

    /** The figure of "SPLIT ELBO X nats" in eval's output. */
    private static String elbo(String out, String split) {
        Matcher m = Pattern.compile(split + " ELBO (-?[0-9.]+) nats").matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }

    /** The mean of a --scores CSV's elbo column and its labels. */
    private static double meanElbo(Path csv, int[] labelsOut) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        double s = 0;
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",");
            if (labelsOut != null) labelsOut[i - 1] = Integer.parseInt(f[1]);
            s += Double.parseDouble(f[2]);
        }
        return s / (lines.size() - 1);
    }

    @Test
    void theValidationElboIsTheFigureTheTrainerLoggedForTheSameCheckpoint() throws IOException {
        List<Map<String, Object>> log = SelectionCliTest.epochs(run);
        double logged = ((Number) log.getLast().get("validation_objective")).doubleValue();
        Path csv = tmp.resolve("validation.csv");
        // The trainer scores a VAE's validation split as its test split: the ELBO with one sample,
        // on one fixed binarisation, from the training seed (eval's default seed).
        CliTest.Result r = CliTest.run("eval", "-c", run.toString(), "--split", "validation", "--elbo-samples", "1", "-k", "1",
                "--scores", csv.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("100 validation examples"), r.err());
        assertEquals(String.format(java.util.Locale.ROOT, "%.3f", logged), elbo(r.out(), "validation"), r.out());
        assertEquals(logged, meanElbo(csv, null), 1e-5, "the per-example ELBOs (6 decimals) average to the logged figure");
        // Not the test split's or the trained-on examples' figure.
        assertNotEquals(logged, ((Number) log.getLast().get("test_objective")).doubleValue());
        CliTest.Result t = CliTest.run("eval", "-c", run.toString(), "--split", "train", "-k", "1", "--no-progress");
        assertEquals(0, t.code(), t.err());
        assertNotEquals(elbo(r.out(), "validation"), elbo(t.out(), "train"));
        // --limit takes the first N of the split.
        CliTest.Result l = CliTest.run("eval", "-c", run.toString(), "--split", "validation", "--limit", "10", "-k", "1",
                "--no-progress");
        assertEquals(0, l.code(), l.err());
        assertTrue(l.err().contains("10 validation examples"), l.err());
    }

    /** Eval's train and validation splits are the trainer's: rows 0..399 and 400..499 of the data, together its training split. */
    @Test
    void theTrainAndValidationSplitsPartitionTheRunsTrainingSplit() throws IOException {
        Checkpoint c = Checkpoint.load(run.resolve("checkpoint.safetensors"));
        Dataset trained = split(c, "train"), validation = split(c, "validation");
        Dataset all = Dataset.loadDir(data, "train");
        assertEquals(600, all.n());
        assertEquals(400, trained.n());
        assertEquals(100, validation.n());
        assertArrayEquals(all.subset(400).images(), trained.images(), "trained on rows 0..399");
        assertArrayEquals(all.slice(400, 100).images(), validation.images(), "validated on rows 400..499");
        byte[] both = Arrays.copyOf(trained.images(), trained.images().length + validation.images().length);
        System.arraycopy(validation.images(), 0, both, trained.images().length, validation.images().length);
        assertArrayEquals(all.subset(500).images(), both, "together the --train-limit 500 training split");
        // The command says the same, row by row through the labels of its --scores.
        int[] tl = new int[400], vl = new int[100];
        for (String[] s : List.of(new String[]{"train", "t.csv"}, new String[]{"validation", "v.csv"})) {
            CliTest.Result r = CliTest.run("eval", "-c", run.toString(), "--split", s[0], "-k", "1", "--no-progress",
                    "--scores", tmp.resolve(s[1]).toString());
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains((s[0].equals("train") ? 400 : 100) + " " + s[0] + " examples"), r.err());
        }
        meanElbo(tmp.resolve("t.csv"), tl);
        meanElbo(tmp.resolve("v.csv"), vl);
        for (int i = 0; i < 400; i++) assertEquals(all.label(i), tl[i], "train row " + i);
        for (int i = 0; i < 100; i++) assertEquals(all.label(400 + i), vl[i], "validation row " + i);
    }

    private static Dataset split(Checkpoint c, String which) throws IOException {
        DataOptions d = new DataOptions();
        return d.loadSplit(c, which, 0, new PrintWriter(new StringWriter()), "test");
    }

    @Test
    void aRunWithoutAValidationSplitIsRefusedSayingHowToGetOne() throws IOException {
        Path plain = tmp.resolve("plain");
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", plain.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "2", "--batch-size", "100", "--epochs", "1", "--train-limit", "200",
                "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("eval", "-c", plain.toString(), "--split", "validation", "-k", "1", "--no-progress");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--split validation: the run was trained without a validation split")
                && r.err().contains("--validation N"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        // Its train split is what it trained on: the first 200 (--train-limit), not all 600.
        r = CliTest.run("eval", "-c", plain.toString(), "--split", "train", "-k", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("200 train examples"), r.err());
        r = CliTest.run("eval", "-c", plain.toString(), "--split", "valid");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--split must be one of test, train, validation"), r.err());
    }
}
