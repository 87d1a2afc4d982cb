package dev.elbo4j.cli;

import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j train} killed with SIGKILL at random points, several times, then resumed with
 * {@code --resume} until it finishes, ends with the same parameters and optimizer state, bit for
 * bit, as an uninterrupted run with the same seed.
 *
 * <p>Training runs in a separate JVM ({@code java} of this JVM, this test's class path), killed
 * with {@link Process#destroyForcibly()} (SIGKILL on Linux: no shutdown hooks, no finally blocks).
 * The run writes a checkpoint after every step ({@code --checkpoint-every 1}), so much of its time
 * is spent inside checkpoint writes; the kills are chosen by a seeded random generator among three
 * kinds: as soon as a new temporary checkpoint file appears (a kill during the write), once the
 * checkpoint on disk is 1 to 14 steps further, and after a random delay of under 1.5 s from launch
 * (which can land before the first checkpoint exists, so the next launch starts afresh). After every kill the
 * checkpoint on disk, if any, must load: never torn; and the temporary files the kills left behind
 * are removed by the next run.
 */
class CrashResumeTest {
    private static final int KILLS = 8;
    private static final long SEED = 20261121L;
    private static final String CKPT = "checkpoint.safetensors";

    @TempDir
    Path tmp;

    /** The train command line, without --resume. */
    private List<String> trainArgs(Path data, Path out, int checkpointEvery) {
        return new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "32", "--latent", "4", "--batch-size", "32", "--epochs", "3", "--seed", "7",
                "--checkpoint-every", Integer.toString(checkpointEvery), "--eval-k", "0", "--no-progress"));
    }

    private static Process launch(List<String> args, Path log) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", cp, Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
    }

    /** The temporary checkpoint files in {@code out} (a write under way, or left by a kill). */
    private static Set<String> tempFiles(Path out) throws IOException {
        if (!Files.isDirectory(out)) return Set.of();
        try (Stream<Path> s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("." + CKPT + ".tmp-"))
                    .collect(Collectors.toSet());
        }
    }

    /** True if {@code out} holds a temporary checkpoint file that is not in {@code old}. */
    private static boolean newTempFile(Path out, Set<String> old) throws IOException {
        for (String n : tempFiles(out)) if (!old.contains(n)) return true;
        return false;
    }

    /** The optimizer step of the checkpoint on disk, -1 if there is none. Fails if it is torn. */
    private static long checkpointStep(Path out) throws IOException {
        Path f = out.resolve(CKPT);
        if (!Files.exists(f)) return -1;
        return Checkpoint.load(f).state().step();
    }

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void killedAtRandomPointsAndResumedMatchesAnUninterruptedRunBitForBit() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 600, 100);
        Path log = tmp.resolve("processes.log");
        long t0 = System.nanoTime();

        // The uninterrupted reference: checkpoints at epoch ends only.
        Path straight = tmp.resolve("straight");
        Process p = launch(trainArgs(data, straight, 0), log);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the reference run hangs");
        assertEquals(0, p.exitValue(), () -> "reference run failed: " + read(log));
        double refSeconds = (System.nanoTime() - t0) / 1e9;
        long totalSteps = checkpointStep(straight);
        assertEquals(57, totalSteps, "3 epochs of 19 batches");

        Path out = tmp.resolve("crashed");
        Random rnd = new Random(SEED);
        List<String> kills = new ArrayList<>();
        int interrupted = 0, duringWrite = 0, launches = 0;
        boolean finished = false;
        for (int k = 0; k < KILLS && !finished; k++) {
            long before = checkpointStep(out);
            Set<String> leftovers = tempFiles(out);
            List<String> args = trainArgs(data, out, 1);
            if (before >= 0) args.add("--resume");
            p = launch(args, log);
            launches++;
            int kind = k % 3;
            long deadline = System.nanoTime() + 60_000_000_000L;
            String how;
            switch (kind) {
                case 0 -> { // as soon as a checkpoint write is under way
                    how = "during a write";
                    while (p.isAlive() && !newTempFile(out, leftovers) && System.nanoTime() < deadline) {
                        Thread.sleep(0, 100_000); // a write plus fsync takes about a millisecond
                    }
                }
                case 1 -> { // once the checkpoint on disk is 1 to 14 steps further, plus up to 3 ms
                    long target = Math.max(before, 0) + 1 + rnd.nextInt(14);
                    how = "after step >= " + target;
                    while (p.isAlive() && checkpointStep(out) < target && System.nanoTime() < deadline) Thread.sleep(1);
                    Thread.sleep(rnd.nextInt(4));
                }
                default -> { // a random delay from launch: JVM start, data loading or the first steps
                    long ms = rnd.nextLong(1500);
                    how = "after " + ms + " ms";
                    p.waitFor(ms, TimeUnit.MILLISECONDS);
                }
            }
            boolean alive = p.isAlive();
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "a killed process did not die");
            boolean torn = newTempFile(out, leftovers);
            long after = checkpointStep(out); // loads and validates the checkpoint: never torn
            if (alive) {
                interrupted++;
                if (torn) duringWrite++;
                kills.add(String.format("kill %d (%s): step %d -> %d%s", k + 1, how, before, after,
                        torn ? ", temporary file left: killed mid-write" : ""));
            } else {
                assertEquals(0, p.exitValue(), () -> "the run failed: " + read(log));
                finished = true;
                kills.add(String.format("launch %d (%s): finished before the kill", k + 1, how));
            }
        }
        for (int tries = 0; !finished; tries++) {
            assertTrue(tries < 3, "resuming did not finish: " + read(log));
            List<String> args = trainArgs(data, out, 1);
            if (checkpointStep(out) >= 0) args.add("--resume");
            p = launch(args, log);
            launches++;
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "a resumed run hangs");
            assertEquals(0, p.exitValue(), () -> "a resumed run failed: " + read(log));
            finished = true;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("crash-resume: %d launches, %d kills mid-run (%d mid-write), reference run %.1f s, all %.1f s%n  %s%n",
                launches, interrupted, duringWrite, refSeconds, seconds, String.join("\n  ", kills));

        SafeTensors.File a = SafeTensors.read(straight.resolve(CKPT)), b = SafeTensors.read(out.resolve(CKPT));
        assertEquals(a.names(), b.names());
        for (String name : a.names()) {
            assertArrayEquals(a.entry(name).bytes(), b.entry(name).bytes(), name + " differs from the uninterrupted run");
        }
        assertEquals(a.metadata("state"), b.metadata("state"));
        assertEquals(Set.of(), tempFiles(out), "a finished run removes the temporary files its killed runs left");
        assertTrue(interrupted >= KILLS / 2, "at least half the kills should land mid-run: " + kills);
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
