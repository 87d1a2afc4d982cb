package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Idx;
import dev.elbo4j.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The command line end to end on a small MNIST subset, and its answers to bad input. */
class CliTest {
    @TempDir
    static Path tmp;
    static Path data;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static Path mnist() {
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        Path d = root.resolve("data/mnist");
        assertTrue(Files.isRegularFile(d.resolve("train-images-idx3-ubyte")), "MNIST missing under " + d + ": run `make data`");
        return d;
    }

    /** A folder of IDX files holding the first 600 training and 200 test digits. */
    @BeforeAll
    static void subset() throws IOException {
        data = mnistSubset(tmp.resolve("subset"), 600, 200);
    }

    /** {@code dir} (created) holding the first {@code train} training and {@code test} test digits of MNIST as IDX files. */
    static Path mnistSubset(Path dir, int train, int test) throws IOException {
        Files.createDirectories(dir);
        writeSplit(Dataset.loadDir(mnist(), "train").subset(train), dir, "train");
        writeSplit(Dataset.loadDir(mnist(), "test").subset(test), dir, "t10k");
        return dir;
    }

    static void writeSplit(Dataset d, Path dir, String prefix) throws IOException {
        Idx.writeImages(dir.resolve(prefix + "-images-idx3-ubyte"), d.images(), d.n(), d.rows(), d.cols());
        Idx.writeLabels(dir.resolve(prefix + "-labels-idx1-ubyte"), d.labels());
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "48", "--latent", "6", "--batch-size", "64", "--eval-k", "10", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainEvalSampleReconstruct() throws IOException {
        Path run = tmp.resolve("run");
        Result r = run(train(run, "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("log p(x)") && r.out().contains("k=10"), r.out());
        for (String f : List.of("checkpoint.safetensors", "log.jsonl", "samples.png", "reconstructions.png")) {
            assertTrue(Files.size(run.resolve(f)) > 0, f);
        }
        List<String> log = Files.readAllLines(run.resolve("log.jsonl"));
        assertEquals(3, log.size(), "two epochs and the final line: " + log);
        assertTrue(log.get(1).contains("\"test_elbo\""));

        Path csv = tmp.resolve("scores.csv");
        r = run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "20", "--scores", csv.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)test ELBO -\\d+\\.\\d+ nats \\(L=1\\), log p\\(x\\) -\\d+\\.\\d+ nats \\(importance sampling, k=20.*"), r.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals(201, rows.size());
        assertEquals("index,label,elbo,log_px", rows.getFirst());
        // log p(x) >= ELBO in expectation per example; over 200 examples the mean must be higher.
        double elbo = 0, lpx = 0;
        for (String row : rows.subList(1, rows.size())) {
            String[] c = row.split(",");
            elbo += Double.parseDouble(c[2]);
            lpx += Double.parseDouble(c[3]);
        }
        assertTrue(lpx > elbo, "mean log p(x) " + lpx / 200 + " should exceed the mean ELBO " + elbo / 200);

        Path png = tmp.resolve("s.png");
        r = run("sample", "-c", run.resolve("checkpoint.safetensors").toString(), "-n", "9", "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(3 * 56 + 4 * 2, javax.imageio.ImageIO.read(png.toFile()).getWidth(), "3 columns of 28x28 at scale 2");

        r = run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-n", "8", "-o", tmp.resolve("r.png").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(2 * 56 + 3 * 2, javax.imageio.ImageIO.read(tmp.resolve("r.png").toFile()).getHeight(), "inputs over reconstructions");

        // An output named for another format than the one written is refused before any work, and nothing is written.
        r = run("sample", "-c", run.toString(), "-o", tmp.resolve("s.jpg").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--out " + tmp.resolve("s.jpg") + ": the file is written as PNG or NPY; name it *.png or *.npy"), r.err());
        r = run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-o", tmp.resolve("r.txt").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--out " + tmp.resolve("r.txt") + ": the file is written as PNG; name it *.png"), r.err());
        r = run("latent", "density", "-c", run.toString(), "--data", data.toString(), "--lowest-out", tmp.resolve("low").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--lowest-out " + tmp.resolve("low") + ": "), r.err());
        assertFalse(Files.exists(tmp.resolve("s.jpg")) || Files.exists(tmp.resolve("r.txt")) || Files.exists(tmp.resolve("low")));
    }

    /**
     * docs/FORMAT.md is enough to rebuild the model: tools/vae_elbo.py (numpy, no elbo4j code)
     * reads the checkpoint, reproduces the evaluation's binarisation and noise from the documented
     * Philox layout, and gets the ELBO elbo4j prints, to float rounding.
     */
    @Test
    void anIndependentReaderGetsTheSameElbo() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(python)
                && new ProcessBuilder(python.toString(), "-c", "import numpy").start().waitFor() == 0,
                "needs /usr/bin/python3 with numpy (apt-get install python3-numpy)");
        Path run = tmp.resolve("independent");
        assertEquals(0, run(train(run, "--epochs", "1", "--eval-k", "0", "--likelihood", "bernoulli")).code());
        Result r = run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        double ours = Double.parseDouble(r.out().replaceAll("(?s)^test ELBO (-?[0-9.]+) nats.*", "$1"));
        Path script = Path.of(System.getProperty("elbo4j.root", "../..")).resolve("tools/vae_elbo.py");
        Process p = new ProcessBuilder(python.toString(), script.toString(), run.resolve("checkpoint.safetensors").toString(),
                data.toString(), "--limit", "200").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        double theirs = Double.parseDouble(out.replaceAll("(?s).*\"elbo\": (-?[0-9.]+).*", "$1"));
        assertEquals(ours, theirs, 2e-3, "elbo4j " + ours + " vs numpy " + theirs);
    }

    /** A run trained on the first N examples resumes on the same N without being told again. */
    @Test
    void resumeKeepsTheRunsExampleLimits() {
        Path run = tmp.resolve("limited");
        assertEquals(0, run(train(run, "--epochs", "1", "--eval-k", "0", "--train-limit", "300", "--test-limit", "100")).code());
        Result r = run(train(run, "--epochs", "2", "--eval-k", "0", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("300 train, 100 test examples"), r.err());
        r = run(train(run, "--epochs", "3", "--eval-k", "0", "--resume", "--train-limit", "200"));
        assertEquals(2, r.code(), "another limit, given, is other data: " + r.err());
        assertTrue(r.err().contains("train_limit: 300 -> 200"), r.err());
    }

    @Test
    void resumeContinuesExactly() throws IOException {
        Path straight = tmp.resolve("straight"), resumed = tmp.resolve("resumed");
        assertEquals(0, run(train(straight, "--epochs", "3", "--eval-k", "0")).code());
        assertEquals(0, run(train(resumed, "--epochs", "1", "--eval-k", "0")).code());
        Result r = run(train(resumed, "--epochs", "3", "--eval-k", "0", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resuming at epoch 2"), r.err());
        SafeTensors.File a = SafeTensors.read(straight.resolve("checkpoint.safetensors"));
        SafeTensors.File b = SafeTensors.read(resumed.resolve("checkpoint.safetensors"));
        for (String name : a.names()) {
            assertArrayEquals(a.entry(name).bytes(), b.entry(name).bytes(), name);
        }
        assertEquals(a.metadata("state"), b.metadata("state"));
        List<String> log = Files.readAllLines(resumed.resolve("log.jsonl"));
        assertEquals(3, log.stream().filter(l -> l.contains("\"epoch\":")).count(), "one line per epoch, across both runs: " + log);
        assertEquals(2, log.stream().filter(l -> l.contains("\"event\":\"final\"")).count(), "a final line per run: " + log);
    }

    @Test
    void refusesToOverwriteARunWithoutForce() {
        Path run = tmp.resolve("twice");
        assertEquals(0, run(train(run, "--epochs", "1", "--eval-k", "0")).code());
        Result r = run(train(run, "--epochs", "1", "--eval-k", "0"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--resume") && r.err().contains("--force"), r.err());
        // A bad flag is named first: it used to show only once --force had been given.
        for (String[] bad : new String[][]{{"--binarize", "bogus"}, {"--cd-k", "3"}, {"--sigma", "0.5"}}) {
            List<String> a = new java.util.ArrayList<>(List.of(train(run, "--epochs", "1", "--eval-k", "0")));
            a.addAll(List.of(bad));
            r = run(a.toArray(String[]::new));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains(bad[bad.length - 2]) && !r.err().contains("already holds a run"), String.join(" ", bad) + ": " + r.err());
        }
    }

    @Test
    void badFlagsAreUsageErrors() {
        Result r = run("train", "--bogus");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Unknown option: '--bogus'"), r.err());
        r = run("train", "--epochs", "many");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--epochs"), r.err());
        r = run(train(tmp.resolve("bad-lik"), "--likelihood", "poisson"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown likelihood 'poisson'"), r.err());
        r = run(train(tmp.resolve("bad-shape"), "--latent", "0"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("latent dimension must be positive"), r.err());
        r = run(train(tmp.resolve("bad-device"), "--device", "tpu"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--device tpu: unknown"), r.err());
        r = run(train(tmp.resolve("bad-binding"), "--binding", "opencl"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--binding opencl: unknown"), r.err());
        r = run();
        assertEquals(2, r.code(), "no command");
        assertTrue(r.err().contains("a command is required (train, eval, sample, reconstruct, latent, export, info)"), r.err());
    }

    static Path copyData(String name) throws IOException {
        Path d = tmp.resolve(name);
        Files.createDirectories(d);
        try (var s = Files.list(data)) {
            for (Path f : s.toList()) Files.copy(f, d.resolve(f.getFileName()));
        }
        return d;
    }

    static void assertDataError(Path dir, String file, String problem) {
        Path out = tmp.resolve("out-" + dir.getFileName());
        Result r = run("train", "--data", dir.toString(), "--out", out.toString(), "--device", "cpu", "--epochs", "1", "--no-progress");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(file) && r.err().contains(problem), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(Files.exists(out.resolve("checkpoint.safetensors")), "nothing written on failure");
    }

    @Test
    void corruptDataFilesAreNamed() throws IOException {
        Path magic = copyData("magic");
        byte[] b = Files.readAllBytes(magic.resolve("train-images-idx3-ubyte"));
        b[3] = 0x09;
        Files.write(magic.resolve("train-images-idx3-ubyte"), b);
        assertDataError(magic, "train-images-idx3-ubyte", "magic");

        Path trunc = copyData("trunc");
        Files.write(trunc.resolve("t10k-images-idx3-ubyte"),
                Arrays.copyOf(Files.readAllBytes(trunc.resolve("t10k-images-idx3-ubyte")), 5000));
        assertDataError(trunc, "t10k-images-idx3-ubyte", "truncated");

        Path counts = copyData("counts");
        Idx.writeLabels(counts.resolve("train-labels-idx1-ubyte"), new byte[599]);
        assertDataError(counts, "train-labels-idx1-ubyte", "599");

        // Without label files the data is unlabelled: a VAE trains on it, a CVAE is told it needs labels.
        Path missing = copyData("missing");
        Files.delete(missing.resolve("train-labels-idx1-ubyte"));
        Files.delete(missing.resolve("t10k-labels-idx1-ubyte"));
        Result cvae = run("train", "--model", "cvae", "--data", missing.toString(), "--out", tmp.resolve("out-cvae").toString(),
                "--device", "cpu", "--epochs", "1", "--no-progress");
        assertEquals(2, cvae.code(), cvae.err());
        assertTrue(cvae.err().contains("needs labels") && cvae.err().contains(missing.toString()), cvae.err());
        Result vae = run(train(tmp.resolve("out-unlabelled"), "--epochs", "1", "--eval-k", "0", "--data", missing.toString()));
        assertEquals(0, vae.code(), vae.err());
    }

    @Test
    void corruptCheckpointsAreNamedAndNothingIsWritten() throws IOException {
        Path run = tmp.resolve("ck");
        assertEquals(0, run(train(run, "--epochs", "1", "--eval-k", "0")).code());
        byte[] good = Files.readAllBytes(run.resolve("checkpoint.safetensors"));

        Path trunc = tmp.resolve("trunc.safetensors");
        Files.write(trunc, Arrays.copyOf(good, good.length - 100));
        Path csv = tmp.resolve("never.csv");
        Result r = run("eval", "-c", trunc.toString(), "--data", data.toString(), "--scores", csv.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("trunc.safetensors"), r.err());
        assertFalse(Files.exists(csv), "no output after a failed load");

        // A header that lies: claim a bigger first tensor than its offsets span.
        long n = ByteBuffer.wrap(good, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(good, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        String lie = header.replaceFirst("\"shape\":\\[48,784\\]", "\"shape\":[49,784]");
        assertNotEquals(header, lie);
        byte[] bad = good.clone();
        System.arraycopy(lie.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, bad, 8, (int) n);
        Path liar = tmp.resolve("liar.safetensors");
        Files.write(liar, bad);
        r = run("sample", "-c", liar.toString(), "-o", tmp.resolve("never.png").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("liar.safetensors") && r.err().contains("encoder.0.weight"), r.err());
        assertFalse(Files.exists(tmp.resolve("never.png")));

        // A model file for another data shape.
        Path other = copyData("other-shape");
        Dataset small = Dataset.loadDir(data, "test").subset(10);
        byte[] px = Arrays.copyOf(small.images(), 10 * 14 * 14);
        for (String split : new String[] {"train", "t10k"}) {
            Idx.writeImages(other.resolve(split + "-images-idx3-ubyte"), px, 10, 14, 14);
            Idx.writeLabels(other.resolve(split + "-labels-idx1-ubyte"), Arrays.copyOf(small.labels(), 10));
        }
        r = run("eval", "-c", run.toString(), "--data", other.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("784") && r.err().contains("196"), r.err());
    }
}
