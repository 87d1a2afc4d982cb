package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --model cvae} and {@code --model m2} end to end on a small MNIST subset, and their bad flags. */
class ConditionalCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    /** The first 600 training and 200 test digits. */
    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 600, 200);
    }

    static String[] train(Path out, String model, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", model, "--data", data.toString(), "--out", out.toString(),
                "--device", "cpu", "--hidden", "48", "--latent", "6", "--batch-size", "64", "--eval-k", "0", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    private static void assertUsage(CliTest.Result r, String... parts) {
        assertEquals(2, r.code(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("WARNING") && !l.startsWith("elbo4j: using")).count(),
                "one line: " + r.err());
    }

    private static int pngWidth(Path png) throws IOException {
        return javax.imageio.ImageIO.read(png.toFile()).getWidth();
    }

    @Test
    void cvaeTrainEvalSampleReconstruct() throws IOException {
        Path run = tmp.resolve("cvae");
        CliTest.Result r = CliTest.run(train(run, "cvae", "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("CVAE 784(+y:10)"), r.err());
        assertTrue(r.out().matches("(?s)test ELBO -\\d+\\.\\d+ nats.*"), r.out());
        for (String f : List.of("checkpoint.safetensors", "log.jsonl", "samples.png", "reconstructions.png")) {
            assertTrue(Files.size(run.resolve(f)) > 0, f);
        }
        assertEquals(3, Files.readAllLines(run.resolve("log.jsonl")).size());

        // The CVAE's eval: the conditional ELBO and the importance-sampled log p(x|y), per example in --scores.
        Path csv = tmp.resolve("cvae-scores.csv");
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "50", "--limit", "60",
                "--scores", csv.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher mm = java.util.regex.Pattern.compile(
                "test ELBO (-\\d+\\.\\d+) nats \\(L=1\\), log p\\(x\\|y\\) (-\\d+\\.\\d+) nats \\(importance sampling, k=50, "
                        + "[\\d.]+ s\\), 60 examples").matcher(r.out());
        assertTrue(mm.find(), r.out());
        double elbo = Double.parseDouble(mm.group(1)), lpx = Double.parseDouble(mm.group(2));
        assertTrue(lpx > elbo, r.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals("index,label,elbo,log_px_given_y", rows.getFirst());
        assertEquals(61, rows.size());
        Dataset test = Dataset.loadDir(data, "test");
        double sum = 0;
        for (int i = 0; i < 60; i++) {
            String[] f = rows.get(i + 1).split(",");
            assertEquals(Integer.toString(i), f[0]);
            assertEquals(Integer.toString(test.label(i)), f[1]);
            sum += Double.parseDouble(f[3]);
        }
        assertEquals(lpx, sum / 60, 1e-3);
        // The same seed, k and inputs: the same estimates.
        Path again = tmp.resolve("cvae-scores-again.csv");
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "50", "--limit", "60",
                "--scores", again.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertEquals(rows, Files.readAllLines(again));

        Path png = tmp.resolve("seven.png");
        r = CliTest.run("sample", "-c", run.toString(), "--label", "7", "-n", "9", "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(3 * 56 + 4 * 2, pngWidth(png));
        assertUsage(CliTest.run("sample", "-c", run.toString(), "--label", "10", "-o", png.toString()), "--label must be in 0..9", "10");
        assertUsage(CliTest.run("sample", "-c", run.toString(), "--label", "-1", "-o", png.toString()), "--label must be in 0..9");

        r = CliTest.run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-n", "8", "-o", tmp.resolve("cr.png").toString());
        assertEquals(0, r.code(), r.err());
    }

    /** train's final evaluation of a CVAE: the test ELBO and log p(x|y), logged as test_log_px_given_y. */
    @Test
    void cvaeTrainEndsWithLogPxGivenY() throws IOException {
        Path run = tmp.resolve("cvae-k");
        CliTest.Result r = CliTest.run("train", "--model", "cvae", "--data", data.toString(), "--out", run.toString(),
                "--device", "cpu", "--hidden", "32", "--latent", "4", "--epochs", "1", "--test-limit", "50", "--eval-k", "20",
                "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)test ELBO -\\d+\\.\\d+ nats, log p\\(x\\|y\\) -\\d+\\.\\d+ nats \\(importance sampling, k=20\\).*"),
                r.out());
        String last = Files.readAllLines(run.resolve("log.jsonl")).getLast();
        assertTrue(last.contains("\"test_log_px_given_y\"") && !last.contains("\"test_log_px\""), last);
    }

    @Test
    void m2TrainEvalSample() throws IOException {
        Path run = tmp.resolve("m2");
        CliTest.Result r = CliTest.run(train(run, "m2", "--epochs", "1", "--labels", "50", "--alpha", "20"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("M2 q(y|x) 784-48-10") && r.err().contains("alpha=20.0, beta=3.0"), r.err());  // m2's own --beta default
        assertTrue(r.out().matches("(?s)test ELBO -\\d+\\.\\d+ nats, test accuracy 0\\.\\d{4}.*"), r.out());
        String log = Files.readString(run.resolve("log.jsonl"));
        assertTrue(log.contains("\"test_accuracy\""), log);

        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)test ELBO -\\d+\\.\\d+ nats, accuracy 0\\.\\d{4}, 200 examples.*"), r.out());

        Path png = tmp.resolve("m2-three.png");
        r = CliTest.run("sample", "-c", run.toString(), "--label", "3", "-n", "4", "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(2 * 56 + 3 * 2, pngWidth(png));
        r = CliTest.run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-n", "8", "-o", tmp.resolve("mr.png").toString());
        assertEquals(0, r.code(), r.err());
    }

    /**
     * {@code elbo4j latent} on M2, whose decoder takes a label: interpolate, manifold and attribute
     * decode with the given (or the input's) class. They used to exit 1 with the library's "M2
     * decodes with one-hot labels of 10 x 10, got none", and manifold's --label was refused as
     * "unconditional".
     */
    @Test
    void m2LatentDecodesWithTheLabel() throws IOException {
        Path run = tmp.resolve("m2-2d");
        CliTest.Result r = CliTest.run(train(run, "m2", "--latent", "2", "--epochs", "1", "--labels", "50", "--test-limit", "50"));
        assertEquals(0, r.code(), r.err());
        Path three = tmp.resolve("m2-manifold-3.png"), five = tmp.resolve("m2-manifold-5.png");
        r = CliTest.run("latent", "manifold", "-c", run.toString(), "--grid", "3", "--label", "3", "-o", three.toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("latent", "manifold", "-c", run.toString(), "--grid", "3", "--label", "5", "-o", five.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Arrays.equals(Files.readAllBytes(three), Files.readAllBytes(five)), "the label changes what is decoded");
        assertUsage(CliTest.run("latent", "manifold", "-c", run.toString(), "--label", "10", "-o", five.toString()), "--label must be in 0..9");
        r = CliTest.run("latent", "interpolate", "-c", run.toString(), "--data", data.toString(), "--limit", "20", "--steps", "4",
                "-o", tmp.resolve("m2-path.png").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(6 * 56 + 7 * 2, pngWidth(tmp.resolve("m2-path.png")));  // both inputs and 4 decoded codes, twice the size
        r = CliTest.run("latent", "attribute", "-c", run.toString(), "--data", data.toString(), "--limit", "50", "--class-a", "1",
                "--class-b", "7", "-o", tmp.resolve("m2-attr.png").toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void badFlags() {
        assertUsage(CliTest.run(train(tmp.resolve("b1"), "m2", "--labels", "0")), "--labels must be in 1..600, got 0");
        assertUsage(CliTest.run(train(tmp.resolve("b2"), "m2", "--labels", "601")), "--labels must be in 1..600, got 601");
        assertUsage(CliTest.run(train(tmp.resolve("b3"), "m2", "--alpha", "-1")), "alpha must be >= 0");
        assertUsage(CliTest.run(train(tmp.resolve("b4"), "cvae", "--classes", "1")), "at least 2 classes");
        assertUsage(CliTest.run(train(tmp.resolve("b8"), "m2", "--beta", "-1")), "beta must be >= 0");  // an explicit --beta reaches m2
        assertUsage(CliTest.run(train(tmp.resolve("b5"), "cvae", "--classes", "5")), "--classes", "5 classes", "has label");
        assertUsage(CliTest.run(train(tmp.resolve("b6"), "m2", "--likelihood", "gaussian-learned")), "gaussian-learned");
        assertUsage(CliTest.run(train(tmp.resolve("b7"), "m3")), "--model must be one of vae, ae, cvae, m2, ");
        for (String b : List.of("b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8")) {
            assertTrue(!Files.exists(tmp.resolve(b).resolve("checkpoint.safetensors")), "nothing written for " + b);
        }
    }
}
