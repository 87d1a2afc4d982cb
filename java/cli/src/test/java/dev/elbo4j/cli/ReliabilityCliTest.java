package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Idx;
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
 * The command line's answers to a hostile user (docs/RELIABILITY.md): a resume that refuses
 * changed flags, models with non-finite weights refused, numeric flags range-checked, overflowing
 * updates never checkpointed, finished runs not run again, shapes that do not fit.
 */
class ReliabilityCliTest {
    @TempDir
    static Path tmp;
    static Path data;
    /** A finished two-epoch run, copied by the tests that change it. */
    static Path done;

    @BeforeAll
    static void setUp() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("data"), 256, 64);
        done = tmp.resolve("done");
        CliTest.Result r = CliTest.run(train(done, "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "64", "--eval-k", "0", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    private static Path copy(Path run, String name) throws IOException {
        Path d = tmp.resolve(name);
        Files.createDirectories(d);
        try (var s = Files.list(run)) {
            for (Path f : s.toList()) Files.copy(f, d.resolve(f.getFileName()));
        }
        return d;
    }

    /** {@code run}'s checkpoint with {@code value} written at index {@code at} of tensor {@code name}. */
    private static void poke(Path run, String name, int at, float value) throws IOException {
        Path f = run.resolve("checkpoint.safetensors");
        SafeTensors.File st = SafeTensors.read(f);
        float[] v = st.getFloats(name);
        v[at] = value;
        st.putFloats(name, st.entry(name).shape(), v);
        SafeTensors.write(f, st);
    }

    private static void oneLine(CliTest.Result r) {
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace: " + r.err());
    }

    /**
     * Each stored model or training flag, given with another value to {@code --resume}, is a usage
     * error naming the flag, the checkpoint's value and the given one. The old code ignored them
     * all and trained the checkpoint's run (exit 0).
     */
    @Test
    void resumeRefusesEveryChangedFlag() throws IOException {
        Path run = copy(done, "changed");
        String[][] cases = {
                {"--hidden", "32", "encoder_hidden [16], the flags give [32]"},
                {"--latent", "5", "latent 3, the flags give 5"},
                {"--lr", "0.01", "lr 0.001, the flags give 0.01"},
                {"--seed", "2", "seed 1, the flags give 2"},
                {"--batch-size", "32", "batch_size 64, the flags give 32"},
                {"--model", "ae", "type vae, the flags give ae"},
                {"--likelihood", "gaussian", "likelihood bernoulli, the flags give gaussian"},
                {"--binarize", "fixed", "binarization dynamic, the flags give fixed"},
                {"--samples", "2", "samples 1, the flags give 2"},
                {"--beta", "2", "beta 1.0, the flags give 2.0"},
                {"--activation", "tanh", "activation relu, the flags give tanh"},
                {"--weight-decay", "0.5", "weight_decay 0.0, the flags give 0.5"},
                {"--warmup", "1", "warmup_epochs 0.0, the flags give 1.0"},
                {"--objective", "iwae", "objective elbo, the flags give iwae"},
                {"--decoder-hidden", "8", "decoder_hidden [16], the flags give [8]"},
        };
        for (String[] c : cases) {
            CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu",
                    "--resume", "--epochs", "3", "--no-progress", "--eval-k", "0", c[0], c[1]);
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains("--resume: " + c[0] + " does not match the run in " + run + ": its checkpoint has " + c[2]),
                    c[0] + ": " + r.err());
            oneLine(r);
        }
        assertEquals(8, Checkpoint.load(run.resolve("checkpoint.safetensors")).state().step(), "nothing trained");
        // The same values as stored are fine, and so are the flags that are not part of the run.
        CliTest.Result r = CliTest.run(train(run, "--resume", "--epochs", "3", "--lr", "1e-3", "--seed", "1", "--checkpoint-every", "2"));
        assertEquals(0, r.code(), r.err());
        assertEquals(3, Checkpoint.load(run.resolve("checkpoint.safetensors")).state().epoch());
    }

    /** The flag-to-field rule: --batch-size is training.batch_size; a flag listed in KEYS is looked up there. */
    @Test
    void resumeCheckComparesNumbersByValue() {
        assertTrue(ResumeCheck.same(64L, 64.0));
        assertTrue(ResumeCheck.same(List.of(16L), List.of(16.0)));
        assertFalse(ResumeCheck.same(List.of(16L), List.of(16L, 8L)));
        assertFalse(ResumeCheck.same("1", 1L), "the seed is stored as a string and compared as one");
    }

    /**
     * eval, sample, reconstruct and latent refuse a model with a non-finite weight (exit 1, naming
     * the tensor); the old code printed "test ELBO NaN" or wrote a black picture with exit 0.
     */
    @Test
    void commandsRefuseNonFiniteWeights() throws IOException {
        Path run = copy(done, "nan-weights");
        poke(run, "decoder.1.weight", 7, Float.POSITIVE_INFINITY);
        String c = run.toString();
        for (String[] args : List.of(
                new String[]{"eval", "-c", c, "--data", data.toString(), "-k", "2", "--no-progress"},
                new String[]{"sample", "-c", c, "-o", tmp.resolve("nan-s.png").toString()},
                new String[]{"reconstruct", "-c", c, "--data", data.toString(), "-o", tmp.resolve("nan-r.png").toString()},
                new String[]{"latent", "scatter", "-c", c, "--data", data.toString(), "-o", tmp.resolve("nan-l.png").toString()})) {
            CliTest.Result r = CliTest.run(args);
            assertEquals(1, r.code(), args[0] + ": " + r.err());
            assertTrue(r.err().contains(run.resolve("checkpoint.safetensors")
                    + ": parameter decoder.1.weight (1 of 12544 values non-finite, first at index 7: Infinity)"), r.err());
            oneLine(r);
        }
        assertFalse(Files.exists(tmp.resolve("nan-s.png")), "no picture written");
    }

    /** A NaN in Adam's second moment would poison the first update after --resume: refused, naming it. */
    @Test
    void resumeRefusesANonFiniteOptimizerState() throws IOException {
        Path run = copy(done, "nan-v");
        poke(run, Checkpoint.OPTIM_V, 5, Float.NaN);
        CliTest.Result r = CliTest.run(train(run, "--resume", "--epochs", "3"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("checkpoint.safetensors: optimizer state optim.v (1 of "), r.err());
    }

    /**
     * --lr 1e39 and --weight-decay 1e45 overflow the first update although the gradients are finite.
     * The old code wrote the step-1 checkpoint with every parameter NaN and then said "the parameters
     * are those after step 1"; now the run stops at step 1, says so truly, and writes no checkpoint.
     */
    @Test
    void anOverflowingUpdateIsNeverCheckpointed() throws IOException {
        for (String[] flag : List.of(new String[]{"--lr", "1e39"}, new String[]{"--weight-decay", "1e45"})) {
            Path out = tmp.resolve("overflow" + flag[0]);
            CliTest.Result r = CliTest.run(train(out, "--epochs", "1", "--checkpoint-every", "1", flag[0], flag[1]));
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("non-finite values after the update of step 1 (epoch 1, batch 1 of 4): parameter "), r.err());
            assertTrue(r.err().contains("the update itself overflowed") && r.err().contains("no checkpoint was written"), r.err());
            assertFalse(Files.exists(out.resolve("checkpoint.safetensors")), flag[0]);
            oneLine(r);
        }
        // With a good checkpoint on disk, the message says which step it holds.
        Path run = copy(done, "overflow-resume");
        poke(run, Checkpoint.OPTIM_M, 0, 1e38f); // with v = 0 an update of about lr * m / eps: far beyond float32
        poke(run, Checkpoint.OPTIM_V, 0, 0f);
        CliTest.Result r = CliTest.run(train(run, "--resume", "--epochs", "3", "--checkpoint-every", "1"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("holds the parameters after step 8"), r.err());
        Checkpoint c = Checkpoint.load(run.resolve("checkpoint.safetensors"));
        assertEquals(8, c.state().step(), "the last good checkpoint is kept");
        assertNull(c.nonFinite(true));
    }

    /** Every numeric flag out of range is a usage error (exit 2) naming it; some were accepted or failed later. */
    @Test
    void numericFlagsAreRangeChecked() {
        String[][] cases = {
                {"--lr", "Infinity"}, {"--lr", "NaN"}, {"--lr", "0"}, {"--weight-decay", "Infinity"}, {"--weight-decay", "-1"},
                {"--warmup", "NaN"}, {"--train-limit", "-5"}, {"--test-limit", "-1"}, {"--eval-k", "-3"}, {"--epochs", "0"},
                {"--epochs", "-2"}, {"--batch-size", "0"}, {"--checkpoint-every", "-1"},
        };
        for (String[] c : cases) {
            CliTest.Result r = CliTest.run(train(tmp.resolve("flags"), c[0], c[1]));
            assertEquals(2, r.code(), Arrays.toString(c) + ": " + r.err());
            assertTrue(r.err().contains("error: " + c[0] + " must be"), Arrays.toString(c) + ": " + r.err());
        }
        // Sizes whose product overflows an array: usage errors too (they were exit 1).
        CliTest.Result r = CliTest.run(train(tmp.resolve("flags-samples"), "--samples", "2147483647"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("batch 64 x samples 2147483647 is too large"), r.err());
        r = CliTest.run("eval", "-c", done.toString(), "--data", data.toString(), "--limit", "2", "--elbo-samples", "2147483647");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--elbo-samples 2147483647: "), r.err());
        r = CliTest.run("eval", "-c", done.toString(), "--data", data.toString(), "--limit", "-1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--limit must be >= 0, got -1"), r.err());
        assertFalse(Files.exists(tmp.resolve("flags")), "nothing created for a usage error");
    }

    /** --batch-size 2147483647 overflowed the steps per epoch to 0: the run "finished" with no update. */
    @Test
    void aBatchSizeNear2To31TrainsOneStepPerEpoch() {
        Path out = tmp.resolve("huge-batch");
        CliTest.Result r = CliTest.run(train(out, "--epochs", "2", "--batch-size", "2147483647"));
        assertEquals(0, r.code(), r.err());
        assertDoesNotThrow(() -> assertEquals(2, Checkpoint.load(out.resolve("checkpoint.safetensors")).state().step()));
    }

    /**
     * A finished run resumed with no more epochs: the old code printed "resuming at epoch 3 ... 1
     * epochs", evaluated again and appended a second "final" line to log.jsonl.
     */
    @Test
    void aFinishedRunIsNotRunAgain() throws IOException {
        Path run = copy(done, "finished");
        List<String> log = Files.readAllLines(run.resolve("log.jsonl"));
        for (String[] extra : List.of(new String[]{"--epochs", "1"}, new String[]{"--epochs", "2"}, new String[0])) {
            List<String> a = new ArrayList<>(List.of(train(run, "--resume")));
            a.addAll(List.of(extra));
            CliTest.Result r = CliTest.run(a.toArray(String[]::new));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("pass --epochs N with N > 2 to train it further"), r.err());
        }
        assertEquals(log, Files.readAllLines(run.resolve("log.jsonl")), "the log is unchanged");
    }

    /** An epoch near 2^31 in the state: refused as corrupt (the old code printed a negative epoch). */
    @Test
    void anEpochNear2To31IsCorrupt() throws IOException {
        Path run = copy(done, "epoch-overflow");
        Path f = run.resolve("checkpoint.safetensors");
        SafeTensors.File st = SafeTensors.read(f);
        Map<String, Object> state = new java.util.LinkedHashMap<>(Json.parseObject(st.metadata("state")));
        state.put("epoch", Integer.MAX_VALUE);
        st.putMetadata("state", Json.write(state));
        SafeTensors.write(f, st);
        CliTest.Result r = CliTest.run(train(run, "--resume", "--epochs", "5"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("position epoch 2147483647, batch 0 lies beyond the run's 2 epochs; the file is corrupt"), r.err());
        assertFalse(r.err().contains("-2147483648"), r.err());
    }

    /**
     * 14x56 images hold 784 pixels too: the old code accepted them for a 28x28 model, and a test split
     * of another shape than the training split.
     */
    @Test
    void imagesOfAnotherShapeAreRefused() throws IOException {
        Path wide = tmp.resolve("wide");
        Files.createDirectories(wide);
        Dataset test = Dataset.loadDir(data, "test"), train = Dataset.loadDir(data, "train");
        Idx.writeImages(wide.resolve("t10k-images-idx3-ubyte"), test.images(), test.n(), 14, 56);
        Idx.writeLabels(wide.resolve("t10k-labels-idx1-ubyte"), test.labels());
        Idx.writeImages(wide.resolve("train-images-idx3-ubyte"), train.images(), train.n(), 14, 56);
        Idx.writeLabels(wide.resolve("train-labels-idx1-ubyte"), train.labels());
        CliTest.Result r = CliTest.run("eval", "-c", done.toString(), "--data", wide.toString(), "-k", "2", "--no-progress");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("the model takes 28x28 images, the test images of " + wide + " are 14x56"), r.err());

        Path mixed = tmp.resolve("mixed");
        Files.createDirectories(mixed);
        for (String f : List.of("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")) Files.copy(wide.resolve(f), mixed.resolve(f));
        for (String f : List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte")) Files.copy(data.resolve(f), mixed.resolve(f));
        for (String[] cmd : new String[][] {
                {"eval", "-c", done.toString(), "--data", mixed.toString(), "-k", "2", "--no-progress"},
                {"train", "--data", mixed.toString(), "--out", tmp.resolve("wide-run").toString(), "--device", "cpu", "--no-progress"}}) {
            r = CliTest.run(cmd);
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains(mixed.resolve("t10k-images-idx3-ubyte") + ": has examples of 14x56x1, but "
                    + mixed.resolve("train-images-idx3-ubyte") + " has 28x28x1; the splits must match"), r.err());
        }
    }

    /** A missing output folder is named as the user gave it; the old message named the internal temporary file. */
    @Test
    void aMissingOutputFolderIsNamed() {
        Path png = tmp.resolve("no-such-folder/s.png");
        CliTest.Result r = CliTest.run("sample", "-c", done.toString(), "-o", png.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(png + ": cannot write: the folder " + png.getParent() + " does not exist"), r.err());
        assertFalse(r.err().contains(".tmp-"), r.err());
    }

    /** --train-limit limits what is read: a train file declaring 2^31-17 images but holding 256 reads fine under a limit. */
    @Test
    void theTrainLimitAppliesWhileReading() throws IOException {
        Path d = tmp.resolve("declares-billions");
        Files.createDirectories(d);
        Dataset train = Dataset.loadDir(data, "train");
        byte[] head = java.nio.ByteBuffer.allocate(16).putInt(Idx.MAGIC_IMAGES).putInt(Integer.MAX_VALUE - 16).putInt(28).putInt(28).array();
        byte[] lhead = java.nio.ByteBuffer.allocate(8).putInt(Idx.MAGIC_LABELS).putInt(Integer.MAX_VALUE - 16).array();
        try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(d.resolve("train-images-idx3-ubyte.gz")))) {
            gz.write(head);
            gz.write(train.images());
        }
        try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(d.resolve("train-labels-idx1-ubyte.gz")))) {
            gz.write(lhead);
            gz.write(train.labels());
        }
        for (String f : List.of("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")) Files.copy(data.resolve(f), d.resolve(f));
        CliTest.Result r = CliTest.run("train", "--data", d.toString(), "--out", tmp.resolve("limited").toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--epochs", "1", "--eval-k", "0", "--no-progress", "--train-limit", "200");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("200 train, 64 test examples"), r.err());
    }
}
