package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.NumericArray;
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
 * A user's own data through the command line: a float32 .npy pair (no labels) trains a VAE, the
 * checkpoint records the data, and eval, reconstruct and latent default to it, say so, and notice
 * changed files; --resume refuses other data; the binarisation follows the likelihood.
 */
class DataCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    /** train.npy and test.npy: MNIST digits as float32 in [-1, 1] (a min-max scaled data set), unlabelled. */
    @BeforeAll
    static void npyPair() throws IOException {
        data = tmp.resolve("mine");
        Files.createDirectories(data);
        write(Dataset.loadDir(CliTest.mnist(), "train").subset(600), data.resolve("train.npy"));
        write(Dataset.loadDir(CliTest.mnist(), "test").subset(200), data.resolve("test.npy"));
    }

    static void write(Dataset d, Path f) throws IOException {
        float[] v = new float[d.images().length];
        for (int i = 0; i < v.length; i++) v[i] = (d.images()[i] & 0xff) / 127.5f - 1;
        Npy.write(f, new NumericArray(new int[] {d.n(), d.rows(), d.cols()}, null, v));
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "32", "--latent", "4", "--batch-size", "100", "--eval-k", "0", "--no-progress", "--epochs", "1"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void theRunRemembersItsDataAndEvalUsesIt() throws IOException {
        Path run = tmp.resolve("run");
        CliTest.Result r = CliTest.run(train(run));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> rec = Checkpoint.load(run.resolve("checkpoint.safetensors")).dataSource();
        assertEquals(data.toAbsolutePath().normalize().toString(), rec.get("path"));
        assertEquals("npy", rec.get("format"));
        assertEquals(600L, rec.get("train_examples"));
        assertEquals(-1.0, ((Number) rec.get("scale_min")).doubleValue(), 1e-6);
        assertEquals(1.0, ((Number) rec.get("scale_max")).doubleValue(), 1e-6);
        assertEquals(64, ((String) rec.get("sha256")).length());

        // eval with no data flag: the checkpoint's data (MNIST's full test set would give 10000 examples).
        CliTest.Result e = CliTest.run("eval", "-c", run.toString(), "--device", "cpu", "--no-progress", "-k", "2");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.err().contains("data: " + data.toAbsolutePath().normalize()) && e.err().contains("where the model was trained"), e.err());
        assertTrue(e.err().contains("200 test examples"), e.err());
        assertFalse(e.err().contains("changed"), e.err());

        // The files change: eval still runs on them, and says so.
        Path copy = tmp.resolve("test-backup.npy");
        Files.copy(data.resolve("test.npy"), copy);
        try {
            write(Dataset.loadDir(CliTest.mnist(), "test").slice(200, 200), data.resolve("test.npy"));
            CliTest.Result c = CliTest.run("reconstruct", "-c", run.toString(), "--device", "cpu", "-o", tmp.resolve("r.png").toString());
            assertEquals(0, c.code(), c.err());
            assertTrue(c.err().contains("changed since the model was trained"), c.err());
        } finally {
            Files.copy(copy, data.resolve("test.npy"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }

        // --resume with other data (here: a training limit) is refused, naming what differs.
        CliTest.Result res = CliTest.run(train(run, "--resume", "--epochs", "2", "--train-limit", "300"));
        assertEquals(2, res.code(), res.err());
        assertTrue(res.err().contains("--resume: the data differs") && res.err().contains("train_limit: 0 -> 300")
                && res.err().strip().lines().count() == 1, res.err());
        // ... and with the same data (no --data given: the recorded one) it goes on.
        CliTest.Result ok = CliTest.run("train", "--out", run.toString(), "--resume", "--epochs", "2", "--device", "cpu",
                "--no-progress", "--eval-k", "0");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.err().contains("resuming at epoch 2"), ok.err());

        // sample -o .npy: values in the data's own units (the [-1, 1] scaling undone).
        Path s = tmp.resolve("s.npy");
        assertEquals(0, CliTest.run("sample", "-c", run.toString(), "--device", "cpu", "-n", "3", "-o", s.toString()).code());
        NumericArray a = Npy.read(s);
        assertArrayEquals(new int[] {3, 28, 28}, a.shape());
        float min = Float.MAX_VALUE;
        for (float v : a.f32()) min = Math.min(min, v);
        assertTrue(min < 0 && min >= -1, "Bernoulli means in [0, 1] map to [-1, 1], some below 0: min " + min);
    }

    /** Data moved to another folder: --resume with --data at the new place goes on (and records it); other content there is refused. */
    @Test
    void aRunResumesFromItsDataMovedElsewhereButNotFromOtherData() throws IOException {
        Path before = tmp.resolve("moving"), after = tmp.resolve("moved"), run = tmp.resolve("movedrun");
        Files.createDirectories(before);
        for (String f : List.of("train.npy", "test.npy")) Files.copy(data.resolve(f), before.resolve(f));
        List<String> a = new ArrayList<>(Arrays.asList(train(run)));
        a.set(a.indexOf(data.toString()), before.toString());
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Files.move(before, after);

        CliTest.Result ok = CliTest.run("train", "--out", run.toString(), "--resume", "--epochs", "2", "--data", after.toString(),
                "--device", "cpu", "--no-progress", "--eval-k", "0");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.err().contains("the run's data moved: " + before.toAbsolutePath().normalize() + " is now "
                + after.toAbsolutePath().normalize()), ok.err());
        assertTrue(ok.err().contains("resuming at epoch 2"), ok.err());
        assertEquals(after.toAbsolutePath().normalize().toString(),
                Checkpoint.load(run.resolve("checkpoint.safetensors")).dataSource().get("path"), "the checkpoint records the new place");

        // The same place, other content: refused, naming the hash.
        write(Dataset.loadDir(CliTest.mnist(), "test").slice(200, 200), after.resolve("test.npy"));
        Files.move(after, before);
        CliTest.Result other = CliTest.run("train", "--out", run.toString(), "--resume", "--epochs", "3", "--data", before.toString(),
                "--device", "cpu", "--no-progress", "--eval-k", "0");
        assertEquals(2, other.code(), other.err());
        assertTrue(other.err().contains("--resume: the data differs") && other.err().contains("content (sha256) differs"), other.err());
    }

    @Test
    void aGaussianLikelihoodTrainsOnGreyLevelsUnlessToldOtherwise() throws IOException {
        Path run = tmp.resolve("gauss");
        CliTest.Result r = CliTest.run(train(run, "--likelihood", "gaussian"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("none binarisation"), r.err());
        assertEquals("NONE", Checkpoint.load(run.resolve("checkpoint.safetensors")).training().binarization().name());
        CliTest.Result b = CliTest.run(train(tmp.resolve("bern")));
        assertTrue(b.err().contains("dynamic binarisation"), b.err());
    }

    @Test
    void usageErrorsOfTheDataFlags() {
        for (String[] c : new String[][] {
                {"--epochs 0", "--epochs must be in 1.."},
                {"--test-fraction 1.5", "--test-fraction must be between 0 and 1"},
                {"--model cvae", "needs labels"}}) {
            List<String> extra = List.of(c[0].split(" "));
            CliTest.Result r = CliTest.run(train(tmp.resolve("bad"), extra.toArray(String[]::new)));
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]), c[0] + ": " + r.err());
        }
        CliTest.Result r = CliTest.run("train", "--data", tmp.resolve("nowhere").toString(), "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("nowhere: no such file or folder"), r.err());
    }

    @Test
    void aFolderOfColourImagesTrainsAndSamplesInColour() throws IOException {
        // 40 small RGB pictures in two class folders: red-ish and blue-ish squares.
        Path pics = tmp.resolve("pics");
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 40; i++) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(6, 5, java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 6; x++) {
                    int v = 128 + rnd.nextInt(128);
                    img.setRGB(x, y, i % 2 == 0 ? v << 16 : v);
                }
            }
            Path f = pics.resolve(i % 2 == 0 ? "red" : "blue").resolve(i + ".png");
            Files.createDirectories(f.getParent());
            javax.imageio.ImageIO.write(img, "png", f.toFile());
        }
        Path run = tmp.resolve("colour");
        CliTest.Result r = CliTest.run("train", "--data", pics.toString(), "--out", run.toString(), "--device", "cpu", "--hidden", "16",
                "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress", "--likelihood", "gaussian", "--test-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("30 train, 10 (25% held out) test examples"), r.err());
        Checkpoint c = Checkpoint.load(run.resolve("checkpoint.safetensors"));
        assertArrayEquals(new int[] {5, 6, 3}, c.image());
        assertEquals(java.util.List.of("blue", "red"), c.dataSource().get("classes"));
        java.awt.image.BufferedImage rec = javax.imageio.ImageIO.read(run.resolve("reconstructions.png").toFile());
        assertEquals(java.awt.image.BufferedImage.TYPE_3BYTE_BGR == rec.getType() || rec.getColorModel().getNumComponents() >= 3, true,
                "reconstructions.png is a colour image");
        // The first input cell (top left, past the separator) is red or blue, not grey.
        int px = rec.getRGB(3, 3);
        int red = px >> 16 & 0xff, blue = px & 0xff, green = px >> 8 & 0xff;
        assertTrue(green < 30 && Math.abs(red - blue) > 100, "an input pixel keeps its colour: " + Integer.toHexString(px));
        // A conditional model on the class folders' labels.
        CliTest.Result cv = CliTest.run("train", "--data", pics.toString(), "--out", tmp.resolve("cvae").toString(), "--device", "cpu",
                "--model", "cvae", "--classes", "2", "--hidden", "16", "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress");
        assertEquals(0, cv.code(), cv.err());
    }
}
