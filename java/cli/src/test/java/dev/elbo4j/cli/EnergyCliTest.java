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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The energy-based models end to end on small data: RBMs (CD and PCD) on 300 MNIST digits, AIS
 * evaluation, sampling, a DBN, and an FVBM on MNIST downsampled to 4x4 binary pixels (7x7 block
 * means above 1/4 become 255); and the answers to bad flags.
 */
class EnergyCliTest {
    @TempDir
    static Path tmp;
    static Path data, small;

    @BeforeAll
    static void subsets() throws IOException {
        data = tmp.resolve("subset");
        Files.createDirectories(data);
        Dataset train = Dataset.loadDir(CliTest.mnist(), "train").subset(300), test = Dataset.loadDir(CliTest.mnist(), "test").subset(100);
        CliTest.writeSplit(train, data, "train");
        CliTest.writeSplit(test, data, "t10k");
        small = tmp.resolve("mnist4x4");
        Files.createDirectories(small);
        CliTest.writeSplit(downsample(train), small, "train");
        CliTest.writeSplit(downsample(test), small, "t10k");
    }

    /** 28x28 -> 4x4: each output pixel is 255 where the mean of its 7x7 block exceeds 255 / 4, else 0. */
    static Dataset downsample(Dataset d) {
        byte[] px = new byte[d.n() * 16];
        for (int i = 0; i < d.n(); i++) {
            for (int by = 0; by < 4; by++) {
                for (int bx = 0; bx < 4; bx++) {
                    int s = 0;
                    for (int y = 0; y < 7; y++) for (int x = 0; x < 7; x++) s += d.pixel(i, (by * 7 + y) * 28 + bx * 7 + x);
                    px[i * 16 + by * 4 + bx] = (byte) (s / 49.0 > 255 / 4.0 ? 255 : 0);
                }
            }
        }
        return new Dataset(px, d.labels(), d.n(), 4, 4);
    }

    static String[] train(Path dir, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", dir.toString(), "--out", out.toString(), "--device", "cpu",
                "--batch-size", "50", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in " + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void rbmWithCdTrainsSamplesAndEvaluatesByAis() throws IOException {
        Path run = tmp.resolve("rbm-cd");
        CliTest.Result r = CliTest.run(train(data, run, "--model", "rbm", "--hidden", "32", "--cd-k", "2", "--lr", "0.01",
                "--epochs", "2", "--gibbs-steps", "20"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("RBM 784-32, CD-2"), r.err());
        double ce = -number(r.out(), "test -recon CE (-?\\d+\\.\\d+) nats");
        assertTrue(ce > 50 && ce < 400, "reconstruction cross-entropy " + ce);
        for (String f : List.of("checkpoint.safetensors", "log.jsonl", "samples.png", "reconstructions.png")) {
            assertTrue(Files.size(run.resolve(f)) > 0, f);
        }
        Path weights = tmp.resolve("ais-weights.csv");
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "--ais-runs", "20", "--ais-schedule",
                "100:0.5,200:1.0", "--no-progress", "--ais-weights", weights.toString(), "--raise", "30");
        assertEquals(0, r.code(), r.err());
        // The weights file holds the 20 runs' log weights; the printed effective runs are (sum w)^2 / sum w^2 of them.
        List<String> lines = Files.readAllLines(weights);
        assertEquals("run,log_weight", lines.get(0));
        assertEquals(21, lines.size());
        double[] lw = lines.stream().skip(1).mapToDouble(l -> Double.parseDouble(l.split(",")[1])).toArray();
        double top = java.util.Arrays.stream(lw).max().orElseThrow(), s1 = 0, s2 = 0;
        for (double w : lw) {
            s1 += Math.exp(w - top);
            s2 += Math.exp(2 * (w - top));
        }
        assertEquals(s1 * s1 / s2, number(r.out(), "AIS weights: (\\d+\\.\\d+) effective runs of 20"), 0.05);
        double lpx = number(r.out(), "test log p\\(x\\) (-?\\d+\\.\\d+) nats");
        double logZ = number(r.out(), "AIS log Z (-?\\d+\\.\\d+)");
        double meanF = number(r.out(), "mean free energy (-?\\d+\\.\\d+)");
        assertEquals(-meanF - logZ, lpx, 2e-3);
        // log p(x) of binary 784-pixel digits is negative and better than the uniform model's -784 log 2.
        assertTrue(lpx < 0 && lpx > -784 * Math.log(2), "log p(x) " + lpx);
        assertTrue(r.out().contains("20 runs, 300 betas"), r.out());
        // RAISE on the first 30 examples: conservative where AIS is optimistic, so on a 300-beta schedule it is the lower one.
        double raise = number(r.out(), "RAISE log p\\(x\\) (-?\\d+\\.\\d+) nats");
        double aisSame = number(r.out(), "AIS on the same examples (-?\\d+\\.\\d+)");
        assertTrue(raise < aisSame && raise > -784 * Math.log(2), "RAISE " + raise + " vs AIS " + aisSame);
        assertTrue(r.out().contains("on the first 30 examples"), r.out());

        Path png = tmp.resolve("rbm.png");
        r = CliTest.run("sample", "-c", run.toString(), "-n", "4", "--gibbs-steps", "5", "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(png) > 0);
    }

    @Test
    void rbmWithPcdAndADbnTrain() {
        CliTest.Result r = CliTest.run(train(data, tmp.resolve("rbm-pcd"), "--model", "rbm", "--hidden", "24", "--pcd",
                "--epochs", "1", "--gibbs-steps", "10"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("RBM 784-24, PCD-5"), "CD-5 is the default: " + r.err());

        Path dbn = tmp.resolve("dbn");
        r = CliTest.run(train(data, dbn, "--model", "dbn", "--hidden", "40,20", "--layer-steps", "3", "--epochs", "1",
                "--gibbs-steps", "10"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("DBN 784-40-20, greedy CD-5, 3 steps per layer"), r.err());
        r = CliTest.run("eval", "-c", dbn.toString(), "--data", data.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("test -recon CE -"), r.out());
    }

    /** train --resume of a PCD RBM continues its persistent chains: two epochs in one go or one plus one agree bit for bit. */
    @Test
    void pcdRbmResumesBitExact() throws IOException {
        String[] model = {"--model", "rbm", "--hidden", "8", "--pcd", "--cd-k", "1", "--gibbs-steps", "2", "--train-limit", "120",
                "--test-limit", "20", "--eval-k", "0"};
        Path straight = tmp.resolve("pcd-straight"), resumed = tmp.resolve("pcd-resumed");
        List<String> two = new ArrayList<>(Arrays.asList(model));
        two.addAll(List.of("--epochs", "2"));
        assertEquals(0, CliTest.run(train(data, straight, two.toArray(String[]::new))).code());
        List<String> one = new ArrayList<>(Arrays.asList(model));
        one.addAll(List.of("--epochs", "1"));
        assertEquals(0, CliTest.run(train(data, resumed, one.toArray(String[]::new))).code());
        var first = dev.elbo4j.io.SafeTensors.read(resumed.resolve("checkpoint.safetensors"));
        assertTrue(Arrays.equals(new int[]{50, 784}, first.entry("train.chains").shape()), "the chains are in the checkpoint");
        CliTest.Result r = CliTest.run(train(data, resumed, "--resume", "--epochs", "2", "--train-limit", "120", "--test-limit", "20",
                "--eval-k", "0"));
        assertEquals(0, r.code(), r.err());
        var a = dev.elbo4j.io.SafeTensors.read(straight.resolve("checkpoint.safetensors"));
        var b = dev.elbo4j.io.SafeTensors.read(resumed.resolve("checkpoint.safetensors"));
        for (String name : List.of("weight", "visible_bias", "hidden_bias", "optim.m", "optim.v", "train.chains")) {
            assertTrue(Arrays.equals(a.getFloats(name), b.getFloats(name)), name + " differs after --resume");
        }
    }

    @Test
    void fvbmOnDownsampledDigitsReportsTheExactLogLikelihood() throws IOException {
        Path run = tmp.resolve("fvbm");
        CliTest.Result r = CliTest.run(train(small, run, "--model", "fvbm", "--lr", "0.05", "--epochs", "3", "--binarize", "none"));
        assertEquals(0, r.code(), r.err());
        double lpx = number(r.out(), "test log p\\(x\\) (-?\\d+\\.\\d+) nats");
        assertTrue(lpx > -16 * Math.log(2) + 1 && lpx < 0, "exact log p(x) " + lpx + " beats the uniform model's " + -16 * Math.log(2));
        r = CliTest.run("eval", "-c", run.toString(), "--data", small.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertEquals(lpx, number(r.out(), "test log p\\(x\\) (-?\\d+\\.\\d+) nats"), 5.01e-3); // train prints 2 decimals, eval 3
        r = CliTest.run("sample", "-c", run.toString(), "-n", "4", "-o", tmp.resolve("f.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(tmp.resolve("f.png")) > 0);
    }

    private static void usage(String expect, String... args) {
        CliTest.Result r = CliTest.run(args);
        assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
        assertTrue(r.err().contains(expect), "'" + expect + "' in " + r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> l.contains("error")).count(), r.err());
    }

    @Test
    void badFlagsAreUsageErrors() {
        Path out = tmp.resolve("bad");
        usage("--cd-k must be >= 1, got 0", train(data, out, "--model", "rbm", "--cd-k", "0"));
        usage("--gibbs-steps must be >= 1, got 0", train(data, out, "--model", "rbm", "--gibbs-steps", "0"));
        usage("--hidden: an rbm has one hidden layer", train(data, out, "--model", "rbm", "--hidden", "10,10"));
        usage("--layer-steps must be >= 1, got 0", train(data, out, "--model", "dbn", "--layer-steps", "0"));
        usage("--hidden sizes must be positive", train(data, out, "--model", "dbn", "--hidden", "10,-1"));
        usage("takes 1..20 pixels, got 784", train(data, out, "--model", "fvbm"));
        usage("--warmup: a 'rbm' model has no KL term to warm up", train(data, out, "--model", "rbm", "--warmup", "2"));

        Path rbm = tmp.resolve("rbm-for-bad-flags");
        assertEquals(0, CliTest.run(train(data, rbm, "--model", "rbm", "--hidden", "8", "--epochs", "1", "--gibbs-steps", "2",
                "--train-limit", "100", "--test-limit", "20")).code());
        String c = rbm.toString(), d = data.toString();
        usage("--ais-runs must be >= 1, got 0", "eval", "-c", c, "--data", d, "--ais-runs", "0");
        usage("--raise must be >= 0, got -1", "eval", "-c", c, "--data", d, "--raise", "-1");
        usage("--ais-schedule: AIS schedule '10:0.5' must end at beta 1.0", "eval", "-c", c, "--data", d, "--ais-schedule", "10:0.5");
        usage("--ais-schedule: AIS schedule segment 'x' is not N:BETA", "eval", "-c", c, "--data", d, "--ais-schedule", "x");
        usage("--ais-base must be data or uniform, got 'zero'", "eval", "-c", c, "--data", d, "--ais-base", "zero");
        usage("--gibbs-steps must be >= 1, got 0", "sample", "-c", c, "--gibbs-steps", "0", "-o", tmp.resolve("x.png").toString());
    }
}
