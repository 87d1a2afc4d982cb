package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** `--downsample RxC`: a fully visible Boltzmann machine trained and evaluated on 4 x 4 MNIST from the CLI. */
class DownsampleCliTest {
    @TempDir
    static Path tmp;

    private static String[] args(String... a) {
        return a;
    }

    @Test
    void anFvbmTrainsAndEvaluatesOnDownsampledMnist() {
        String data = CliTest.mnist().toString();
        Path run = tmp.resolve("fvbm");
        CliTest.Result r = CliTest.run(args("train", "--model", "fvbm", "--downsample", "4x4", "--data", data, "--train-limit",
                "2000", "--test-limit", "500", "--epochs", "2", "--out", run.toString(), "--device", "cpu", "--no-progress"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("test log p(x)"), r.out());
        CliTest.Result e = CliTest.run(args("eval", "-c", run.toString(), "--downsample", "4x4", "--data", data, "--limit", "500",
                "--device", "cpu", "--no-progress"));
        assertEquals(0, e.code(), e.err());
        // Without the flag the data no longer fits the model, and the message says what to add.
        CliTest.Result bad = CliTest.run(args("eval", "-c", run.toString(), "--data", data, "--limit", "500", "--device", "cpu"));
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("the model takes 16 values") && bad.err().contains("--downsample"), bad.err());
    }

    @Test
    void badSizesExitTwoWithOneLine() {
        String data = CliTest.mnist().toString();
        for (String[] c : new String[][]{{"4by4", "ROWSxCOLS"}, {"5x5", "must divide"}, {"0x4", "must divide"}}) {
            CliTest.Result r = CliTest.run(args("train", "--model", "fvbm", "--downsample", c[0], "--data", data, "--train-limit",
                    "100", "--test-limit", "50", "--epochs", "1", "--out", tmp.resolve("bad").toString(), "--device", "cpu",
                    "--no-progress", "--force"));
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]) && r.err().strip().lines().count() == 1, c[0] + ": " + r.err());
        }
    }
}
