package dev.elbo4j.cli;

import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code train --on-nan} and {@code --checkpoint-every} on the command line. */
class NanCliTest {
    @TempDir
    Path tmp;

    private Path data() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 256, 64);
        return data;
    }

    /**
     * A learning rate of 1e30 makes step 2's loss non-finite: the run stops with exit 1 and one
     * line naming the step and the tensor, and the checkpoint written after step 1 is intact.
     */
    @Test
    void stopExitsWithOneAndKeepsTheLastGoodCheckpoint() throws Exception {
        Path out = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--data", data().toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "64", "--epochs", "1", "--lr", "1e30",
                "--checkpoint-every", "1", "--eval-k", "0", "--no-progress");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("elbo4j train: error: non-finite values at step 2 (epoch 1, batch 2 of 4): loss"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        Checkpoint c = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        assertEquals(1, c.state().step(), "the checkpoint after the last good step");
        for (float v : c.file().getFloats("decoder.1.weight")) assertTrue(Float.isFinite(v));
    }

    /**
     * Under {@code --on-nan skip} the same divergence drops every later batch with a warning line
     * each; the run finishes (exit 0), and the log records the non-finite ELBOs as null and the
     * count of dropped batches.
     */
    @Test
    void skipWarnsAndFinishes() throws Exception {
        Path out = tmp.resolve("skip");
        CliTest.Result r = CliTest.run("train", "--data", data().toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "64", "--epochs", "2", "--lr", "1e30",
                "--on-nan", "skip", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("elbo4j train: warning: skipped batch 2 of epoch 1 (step 2): loss"), r.err());
        assertEquals(7, r.err().lines().filter(l -> l.contains("warning: skipped batch")).count(), r.err());
        List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
        assertTrue(log.get(0).contains("\"test_elbo\":null") && log.get(0).contains("\"skipped_batches\":3"), log.get(0));
        assertTrue(log.get(1).contains("\"train_elbo\":null") && log.get(1).contains("\"skipped_batches\":4"), log.get(1));
        assertEquals(1, Checkpoint.load(out.resolve("checkpoint.safetensors")).state().step(), "one update applied");
    }

    @Test
    void badValuesAreUsageErrors() {
        CliTest.Result r = CliTest.run("train", "--on-nan", "ignore", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--on-nan: unknown NaN policy 'ignore' (expected stop or skip)"), r.err());
        r = CliTest.run("train", "--checkpoint-every", "-1", "--out", tmp.resolve("y").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--checkpoint-every must be >= 0, got -1"), r.err());
    }
}
