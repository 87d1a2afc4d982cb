package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Memory a command needs is checked against the heap before it is allocated: in a JVM with a small
 * heap ({@code -Xmx}), a model or a data file too large ends in one line with the figures and the
 * way out, not in an {@link OutOfMemoryError} and a stack trace (what the old code printed).
 */
class MemoryCliTest {
    @TempDir
    Path tmp;

    private static void assertOneLine(String err, int code) {
        assertEquals(1, code, err);
        assertFalse(err.contains("\tat ") || err.contains("OutOfMemoryError"), "no stack trace: " + err);
        assertTrue(err.contains("set ELBO4J_JAVA_OPTS=-Xmx"), err);
    }

    @Test
    void aModelTooLargeForTheHeapIsRefusedBeforeAllocating() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 64, 16);
        Path log = tmp.resolve("hidden.log");
        int code = ChildJvm.run(List.of("-Xmx256m"), List.of("train", "--data", data.toString(), "--out", tmp.resolve("big").toString(),
                "--device", "cpu", "--hidden", "500000", "--epochs", "1", "--no-progress"), log);
        String err = ChildJvm.output(log);
        assertOneLine(err, code);
        assertTrue(err.contains("elbo4j train: error: training this vae model (815,000,824 parameters, batch 64) needs "), err);
    }

    /**
     * A new run that is to replace an earlier one ({@code --force}) but is refused for memory leaves
     * the earlier run's log as it was, beside its checkpoint: a run that never started replaces nothing.
     */
    @Test
    void aRefusedNewRunKeepsTheEarlierRunsLog() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 64, 16);
        Path out = tmp.resolve("run");
        CliTest.Result first = CliTest.run("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "8", "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress");
        assertEquals(0, first.code(), first.err());
        byte[] before = Files.readAllBytes(out.resolve("log.jsonl"));
        int code = ChildJvm.run(List.of("-Xmx256m"), List.of("train", "--data", data.toString(), "--out", out.toString(),
                "--device", "cpu", "--hidden", "500000", "--epochs", "1", "--no-progress", "--force"), tmp.resolve("refused.log"));
        assertOneLine(ChildJvm.output(tmp.resolve("refused.log")), code);
        assertTrue(Files.exists(out.resolve("log.jsonl")), "the earlier run's log is still there");
        assertArrayEquals(before, Files.readAllBytes(out.resolve("log.jsonl")));
    }

    /** A new run refused once its folder is locked (here: it does not fit the heap) leaves no empty folder behind. */
    @Test
    void aRefusedRunInANewFolderLeavesNoFolder() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 64, 16);
        Path out = tmp.resolve("never");
        int code = ChildJvm.run(List.of("-Xmx256m"), List.of("train", "--data", data.toString(), "--out", out.toString(),
                "--device", "cpu", "--hidden", "500000", "--epochs", "1", "--no-progress"), tmp.resolve("never.log"));
        assertOneLine(ChildJvm.output(tmp.resolve("never.log")), code);
        assertFalse(Files.exists(out), "the refused run's folder is gone");
        // A folder that existed before the refused run stays, with what it held.
        Path kept = Files.createDirectories(tmp.resolve("kept"));
        code = ChildJvm.run(List.of("-Xmx256m"), List.of("train", "--data", data.toString(), "--out", kept.toString(),
                "--device", "cpu", "--hidden", "500000", "--epochs", "1", "--no-progress"), tmp.resolve("kept.log"));
        assertOneLine(ChildJvm.output(tmp.resolve("kept.log")), code);
        assertTrue(Files.isDirectory(kept), "a folder the user made stays");
    }

    /** A 260 kB gzip file declaring 2^31-17 images of 1x1, with 256 MB of zeros: the reader refuses to grow past the heap. */
    @Test
    void aSmallGzipDeclaringBillionsOfImagesIsRefusedInOneLine() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 64, 16);
        Path bomb = data.resolve("train-images-idx3-ubyte");
        Files.delete(bomb);
        Files.delete(data.resolve("train-labels-idx1-ubyte"));
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(data.resolve("train-images-idx3-ubyte.gz")), 1 << 16)) {
            gz.write(ByteBuffer.allocate(16).putInt(0x803).putInt(Integer.MAX_VALUE - 16).putInt(1).putInt(1).array());
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++) gz.write(zeros);
        }
        Files.write(data.resolve("train-labels-idx1-ubyte"), ByteBuffer.allocate(9).putInt(0x801).putInt(1).array());
        Path log = tmp.resolve("bomb.log");
        int code = ChildJvm.run(List.of("-Xmx128m"), List.of("train", "--data", data.toString(), "--out", tmp.resolve("b").toString(),
                "--device", "cpu", "--epochs", "1", "--no-progress"), log);
        String err = ChildJvm.output(log);
        assertOneLine(err, code);
        assertTrue(err.contains("train-images-idx3-ubyte.gz: reading 2147483631 images of 1x1 (2.1 GB in all, "), err);
    }
}
