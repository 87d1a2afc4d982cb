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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code train --flow planar} end to end on a small MNIST subset, and the flow flags' usage errors. */
class FlowCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 300, 100);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "32", "--latent", "4", "--batch-size", "50", "--eval-k", "10", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void planarFlowVaeTrainsEvaluatesAndSamples() throws IOException {
        Path run = tmp.resolve("flow");
        CliTest.Result r = CliTest.run(train(run, "--epochs", "2", "--flow", "planar", "--flow-steps", "3"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*test ELBO -\\d+\\.\\d+ nats, log p\\(x\\) -\\d+\\.\\d+ nats \\(importance sampling, k=10\\).*"), r.out());
        SafeTensors.File ckpt = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        Map<String, Object> model = Json.parseObject(ckpt.metadata("model"));
        assertEquals("planar", model.get("flow"));
        assertEquals(3L, ((Number) model.get("flow_steps")).longValue());
        assertTrue(ckpt.names().contains("flow.u") && ckpt.names().contains("flow.w") && ckpt.names().contains("flow.b"), ckpt.names().toString());

        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "20", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("log p(x)") && r.out().contains("k=20"), r.out());
        r = CliTest.run("sample", "-c", run.resolve("checkpoint.safetensors").toString(), "-n", "4", "-o", tmp.resolve("s.png").toString());
        assertEquals(0, r.code(), r.err());
    }

    static void assertUsage(String message, String... args) {
        CliTest.Result r = CliTest.run(args);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    }

    @Test
    void badFlowFlagsAreUsageErrors() {
        assertUsage("--flow-steps must be >= 1, got 0", train(tmp.resolve("b1"), "--flow", "planar", "--flow-steps", "0"));
        assertUsage("--flow-steps must be >= 1, got -2", train(tmp.resolve("b2"), "--flow", "planar", "--flow-steps", "-2"));
        assertUsage("--flow must be none or planar, got 'radial'", train(tmp.resolve("b3"), "--flow", "radial"));
        assertUsage("--flow-steps needs --flow planar", train(tmp.resolve("b4"), "--flow-steps", "4"));
        assertUsage("--flow applies to --model vae only, not 'ae'", train(tmp.resolve("b5"), "--model", "ae", "--flow", "planar"));
        assertUsage("--flow-steps applies to --model vae only", train(tmp.resolve("b6"), "--model", "nice", "--flow-steps", "2"));
        // picocli's own type errors (first line names the flag, then the usage text): exit code 2
        CliTest.Result r = CliTest.run(train(tmp.resolve("b7"), "--flow", "planar", "--flow-steps", "many"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().lines().findFirst().orElse("").contains("'--flow-steps': 'many' is not an int"), r.err());
        for (String d : List.of("b1", "b2", "b3", "b4", "b5", "b6", "b7")) {
            assertTrue(!Files.exists(tmp.resolve(d).resolve("checkpoint.safetensors")), "nothing written for " + d);
        }
    }
}
