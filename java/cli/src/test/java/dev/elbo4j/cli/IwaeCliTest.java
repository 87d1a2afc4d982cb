package dev.elbo4j.cli;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.model.VaeObjective;
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
import java.util.TreeMap;

import static dev.elbo4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code train --objective iwae} end to end on a small MNIST subset, its bad-flag answers, KL
 * warm-up flags, and the IWAE paper's 784-200-200-50 tanh architecture from the flags.
 */
class IwaeCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    /** The first 400 training and 100 test digits. */
    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 400, 100);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "48", "--latent", "6", "--batch-size", "64", "--eval-k", "10", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsWithTheIwaeObjective() throws IOException {
        Path out = tmp.resolve("iwae");
        CliTest.Result r = run(train(out, "--objective", "iwae", "--samples", "5", "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("objective=iwae"), r.err());
        assertTrue(r.err().matches("(?s).*epoch 2/2: train IWAE bound -\\d+\\.\\d+, test IWAE bound -\\d+\\.\\d+ nats.*"), r.err());
        assertTrue(r.out().contains("log p(x)") && r.out().contains("k=10"), r.out());
        Checkpoint c = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        VaeConfig cfg = (VaeConfig) c.model();
        assertEquals(VaeObjective.IWAE, cfg.objective());
        assertEquals(5, cfg.samples());
        List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
        assertEquals(3, log.size(), "two epochs and the final line: " + log);
        // The bound improves from the first epoch to the second on the same 400 digits.
        double first = trainBound(log.get(0)), second = trainBound(log.get(1));
        assertTrue(second > first, "train bound " + first + " -> " + second);
        // Each epoch line names what its figures are: the IWAE bound, never under an ELBO key.
        for (String line : log.subList(0, 2)) {
            var rec = dev.elbo4j.io.Json.parseObject(line);
            assertEquals("IWAE bound", rec.get("objective"), line);
            assertTrue(rec.get("test_objective") instanceof Number && !rec.containsKey("test_elbo")
                    && !rec.containsKey("train_elbo"), line);
        }
        // The final line's test_elbo is the ELBO itself (one sample), below the k = 10 estimate.
        var fin = dev.elbo4j.io.Json.parseObject(log.get(2));
        assertTrue(((Number) fin.get("test_elbo")).doubleValue() < ((Number) fin.get("test_log_px")).doubleValue(), log.get(2));
    }

    private static double trainBound(String line) {
        var m = java.util.regex.Pattern.compile("\"train_objective\":(-?[0-9.eE+-]+)").matcher(line);
        assertTrue(m.find(), line);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void badObjectiveFlagsAreUsageErrors() {
        CliTest.Result r = run(train(tmp.resolve("bad-obj"), "--objective", "vi"));
        assertEquals(2, r.code());
        assertTrue(r.err().lines().findFirst().orElseThrow().contains("unknown objective 'vi' (known: elbo, iwae)"), r.err());
        r = run(train(tmp.resolve("bad-beta"), "--objective", "iwae", "--beta", "0.5"));
        assertEquals(2, r.code());
        assertTrue(r.err().lines().findFirst().orElseThrow().contains("beta must be 1"), r.err());
        r = run(train(tmp.resolve("bad-warmup"), "--objective", "iwae", "--samples", "3", "--warmup", "1"));
        assertEquals(2, r.code());
        assertTrue(r.err().lines().findFirst().orElseThrow().contains("--warmup does not apply to --objective iwae"), r.err());
        for (String d : List.of("bad-obj", "bad-beta", "bad-warmup")) assertFalse(Files.exists(tmp.resolve(d)), d + " must not be created");
        r = run("train", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("--objective") && r.out().contains("not with --objective iwae"), r.out());
    }

    /** A warm-up run keeps its setting in the checkpoint. */
    @Test
    void warmupIsKeptInTheCheckpoint() throws IOException {
        Path out = tmp.resolve("warm");
        CliTest.Result r = run(train(out, "--warmup", "2", "--epochs", "1", "--eval-k", "0"));
        assertEquals(0, r.code(), r.err());
        assertEquals(2.0, Checkpoint.load(out.resolve("checkpoint.safetensors")).training().warmupEpochs());
    }

    /** The IWAE paper's 784-200-200-50 network with tanh, from flags alone, trained one epoch; the checkpoint holds that architecture. */
    @Test
    void theIwaePapersArchitecture() throws IOException {
        Path out = tmp.resolve("paper");
        CliTest.Result r = run("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu", "--no-progress",
                "--hidden", "200,200", "--latent", "50", "--activation", "tanh", "--objective", "iwae", "--samples", "5",
                "--epochs", "1", "--batch-size", "100", "--train-limit", "200", "--eval-k", "2");
        assertEquals(0, r.code(), r.err());
        Path ck = out.resolve("checkpoint.safetensors");
        VaeConfig cfg = (VaeConfig) Checkpoint.load(ck).model();
        assertEquals(VaeConfig.builder().hidden(200, 200).latent(50).activation(Activation.TANH).samples(5)
                .objective(VaeObjective.IWAE).build(), cfg);
        assertArrayEquals(new int[]{784, 200, 200, 100}, cfg.encoderSizes());
        assertArrayEquals(new int[]{50, 200, 200, 784}, cfg.decoderSizes());
        Map<String, String> shapes = new TreeMap<>();
        SafeTensors.File f = Checkpoint.load(ck).file();
        for (String n : f.names()) if (!n.startsWith("optim")) shapes.put(n, Arrays.toString(f.entry(n).shape()));
        Map<String, String> expected = new TreeMap<>(Map.of(
                "encoder.0.weight", "[200, 784]", "encoder.0.bias", "[200]", "encoder.1.weight", "[200, 200]", "encoder.1.bias", "[200]",
                "encoder.2.weight", "[100, 200]", "encoder.2.bias", "[100]", "decoder.0.weight", "[200, 50]", "decoder.0.bias", "[200]",
                "decoder.1.weight", "[200, 200]", "decoder.1.bias", "[200]"));
        expected.put("decoder.2.weight", "[784, 200]");
        expected.put("decoder.2.bias", "[784]");
        assertEquals(expected, shapes);
    }
}
