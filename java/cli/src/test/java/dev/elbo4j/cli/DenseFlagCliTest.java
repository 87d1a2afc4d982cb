package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --dense}, the GPU's choice of dense-layer path, as a user meets it without a GPU: a bad value
 * and a contradiction with {@code --device cpu} are usage errors (exit 2) that name the flag and touch
 * no file; {@code --dense hand} on the CPU trains as without the flag. The GPU side is in
 * {@link CudaCliEmuTest}.
 */
class DenseFlagCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void setUp() throws IOException {
        data = Files.createDirectories(tmp.resolve("blobs"));
        CliTest.writeSplit(CudaCliEmuTest.blobs(64, 1, 8), data, "train");
        CliTest.writeSplit(CudaCliEmuTest.blobs(32, 2, 8), data, "t10k");
    }

    private static CliTest.Result train(Path out, String... extra) {
        String[] base = {"train", "--data", data.toString(), "--out", out.toString(), "--epochs", "1", "--batch-size", "16",
                "--hidden", "8", "--latent", "2", "--eval-k", "0", "--no-progress", "--seed", "3"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliTest.run(args);
    }

    @Test
    void anUnknownPathIsAUsageErrorNamingTheChoices() {
        Path out = tmp.resolve("bogus");
        CliTest.Result r = train(out, "--device", "cpu", "--dense", "cudnn");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--dense") && r.err().contains("hand") && r.err().contains("cublaslt"), r.err());
        assertFalse(Files.exists(out), "a usage error creates no run folder");
    }

    @Test
    void cublasLtOnTheCpuIsAUsageErrorBeforeAnyFileIsTouched() {
        Path out = tmp.resolve("cpu-lt");
        CliTest.Result r = train(out, "--device", "cpu", "--dense", "cublaslt");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--dense cublaslt") && r.err().contains("--device cuda"), r.err());
        assertFalse(r.err().contains("Exception"), "no stack trace: " + r.err());
        assertFalse(Files.exists(out), "a usage error creates no run folder");
    }

    @Test
    void handOnTheCpuTrainsAsWithoutTheFlag() {
        CliTest.Result with = train(tmp.resolve("hand"), "--device", "cpu", "--dense", "hand");
        CliTest.Result without = train(tmp.resolve("plain"), "--device", "cpu");
        assertEquals(0, with.code(), with.err());
        assertEquals(0, without.code(), without.err());
        String a = with.out().replaceAll("\\([^)]*\\bs\\b[^)]*\\)", "").replace(tmp.resolve("hand").toString(), "OUT");
        String b = without.out().replaceAll("\\([^)]*\\bs\\b[^)]*\\)", "").replace(tmp.resolve("plain").toString(), "OUT");
        assertEquals(b, a);
    }
}
