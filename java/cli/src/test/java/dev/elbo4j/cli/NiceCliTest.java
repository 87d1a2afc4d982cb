package dev.elbo4j.cli;

import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code train --model nice} end to end on a small MNIST subset, and NICE's usage errors. */
class NiceCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 300, 100);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", "nice", "--data", data.toString(), "--out", out.toString(),
                "--device", "cpu", "--hidden", "32", "--couplings", "2", "--batch-size", "50", "--binarize", "none", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void niceTrainsReportsBitsPerDimAndSamples() throws IOException {
        Path run = tmp.resolve("nice");
        CliTest.Result r = CliTest.run(train(run, "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("NICE 784, 2 additive couplings") || r.out().contains("NICE 784, 2 additive couplings"), r.err());
        assertTrue(r.out().matches("(?s).*test log-likelihood -?\\d+\\.\\d+ nats, test bits_per_dim \\d+\\.\\d+.*"), r.out());
        List<String> log = Files.readAllLines(run.resolve("log.jsonl"));
        assertEquals(3, log.size(), log.toString());
        Map<String, Object> e1 = Json.parseObject(log.get(0)), e2 = Json.parseObject(log.get(1));
        double b1 = ((Number) e1.get("test_bits_per_dim")).doubleValue(), b2 = ((Number) e2.get("test_bits_per_dim")).doubleValue();
        assertTrue(b2 < b1, "bits/dim falls over two epochs: " + b1 + " -> " + b2);
        assertTrue(Files.size(run.resolve("samples.png")) > 0);
        assertFalse(Files.exists(run.resolve("reconstructions.png")), "NICE does not reconstruct");
        SafeTensors.File ckpt = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        assertEquals("nice", Json.parseObject(ckpt.metadata("model")).get("type"));
        r = CliTest.run("sample", "-c", run.resolve("checkpoint.safetensors").toString(), "-n", "4", "-o", tmp.resolve("s.png").toString());
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-o", tmp.resolve("r.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("error: the checkpoint holds a 'nice' model, which has no code to reconstruct an input "
                + "through; `elbo4j sample -c " + run + "` draws from it"), r.err());
        // eval recomputes the final test figure from the checkpoint: the same dequantization noise, the same number
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        var last = Json.parseObject(log.get(2));
        assertEquals("log-likelihood", last.get("objective"));
        assertFalse(last.containsKey("test_elbo"), "a log-likelihood is not logged as an ELBO: " + last);
        double fin = ((Number) last.get("test_objective")).doubleValue();
        assertTrue(r.out().startsWith(String.format(java.util.Locale.ROOT, "test log-likelihood %.3f nats, bits_per_dim ", fin)), r.out() + " vs " + fin);
        r = CliTest.run(train(run, "--epochs", "3", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertEquals(5, Files.readAllLines(run.resolve("log.jsonl")).size(), "epoch 3 and a second final line after resume");
    }

    @Test
    void badNiceFlagsAreUsageErrors() {
        FlowCliTest.assertUsage("--couplings must be >= 1, got 0", train(tmp.resolve("n1"), "--couplings", "0"));
        FlowCliTest.assertUsage("--prior must be logistic or gaussian, got 'cauchy'", train(tmp.resolve("n2"), "--prior", "cauchy"));
        FlowCliTest.assertUsage("--model nice models the 256 grey levels: it needs --binarize none, got dynamic",
                train(tmp.resolve("n3"), "--binarize", "dynamic"));
        FlowCliTest.assertUsage("--flow applies to --model vae only, not 'nice'", train(tmp.resolve("n4"), "--flow", "planar"));
        FlowCliTest.assertUsage("coupling hidden sizes must be positive", train(tmp.resolve("n5"), "--hidden", "0"));
    }
}
