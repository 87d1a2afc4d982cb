package dev.elbo4j.cli;

import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One process per run folder, with real processes: a second {@code train} into a live run's
 * folder (with {@code --force} or {@code --resume}) exits 2 naming the holder and touches nothing;
 * a run killed with SIGKILL leaves no stale lock. The old code had no lock: both runs exited 0 and
 * the first one's log lines vanished, and a second {@code --resume} deleted the live run's
 * temporary checkpoint mid-write.
 */
class RunLockTest {
    @TempDir
    Path tmp;

    private List<String> train(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "16", "--eval-k", "0", "--no-progress"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void aSecondRunInALiveRunsFolderIsRefusedAndAKilledRunLeavesNoLock() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 320, 32);
        Path out = tmp.resolve("run");
        Path log1 = tmp.resolve("first.log");
        // Long enough to be alive throughout (20 steps an epoch, a checkpoint after each).
        Process first = ChildJvm.start(List.of(), train(data, out, "--epochs", "1000", "--checkpoint-every", "1"), log1);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(out.resolve("checkpoint.safetensors"))) {
                assertTrue(first.isAlive(), "the first run died: " + ChildJvm.output(log1));
                assertTrue(System.nanoTime() < deadline, "no checkpoint after 60 s: " + ChildJvm.output(log1));
                Thread.sleep(50);
            }
            String holder = "pid " + first.pid() + ": elbo4j train ";
            for (String[] second : List.of(new String[]{"--force", "--epochs", "1"}, new String[]{"--resume", "--epochs", "1001"})) {
                Path log2 = tmp.resolve("second" + second[0] + ".log");
                int code = ChildJvm.run(List.of(), train(data, out, second), log2);
                String err = ChildJvm.output(log2);
                assertEquals(2, code, err);
                assertTrue(err.contains("elbo4j train: error: " + out + " is in use by another elbo4j process (" + holder), err);
                assertFalse(err.contains("removed"), "no cleanup outside the lock: " + err);
                assertTrue(first.isAlive(), "the first run goes on: " + ChildJvm.output(log1));
            }
        } finally {
            first.destroyForcibly(); // SIGKILL: no shutdown hook, no finally; the OS drops the lock
            first.waitFor(30, TimeUnit.SECONDS);
        }
        long before = Checkpoint.load(out.resolve("checkpoint.safetensors")).state().step();
        Path log3 = tmp.resolve("after-kill.log");
        int code = ChildJvm.run(List.of(), train(data, out, "--resume", "--epochs",
                Integer.toString(Checkpoint.load(out.resolve("checkpoint.safetensors")).state().epoch() + 1), "--checkpoint-every", "0"), log3);
        assertEquals(0, code, ChildJvm.output(log3));
        assertTrue(Checkpoint.load(out.resolve("checkpoint.safetensors")).state().step() > before, "the resumed run trained");
        try (var s = Files.list(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "temporaries removed by the lock holder");
        }
    }

    /** In one JVM too (two commands on two threads): the second is refused while the first holds the folder. */
    @Test
    void theLockIsHeldAgainstThisJvmToo() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("same-jvm"));
        try (RunLock lock = RunLock.acquire(out, "elbo4j train test")) {
            Main.UsageException e = assertThrows(Main.UsageException.class, () -> RunLock.acquire(out, "second"));
            assertTrue(e.getMessage().contains("(pid " + ProcessHandle.current().pid() + ": elbo4j train test)"), e.getMessage());
        }
        RunLock.acquire(out, "after release").close();
    }
}
