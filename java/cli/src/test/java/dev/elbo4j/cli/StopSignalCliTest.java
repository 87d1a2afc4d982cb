package dev.elbo4j.cli;

import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A stop signal in the middle of training loses nothing: the run writes a checkpoint of the step it
 * stopped at, says so and how to resume, and exits 128 + the signal; resumed, it ends bit for bit
 * where a run that was never stopped ends. The signal goes to a child JVM with kill -TERM: SIGINT
 * (Ctrl-C) takes the same path, but a process started in the background by a shell without job
 * control (nohup, `cmd &` in a script, some CI runners) inherits SIGINT as ignored, and the JVM then
 * leaves it ignored, so a test sending it would depend on how the build was started.
 */
class StopSignalCliTest {
    @TempDir
    Path tmp;

    /**
     * 600 digits in batches of 8: 75 steps an epoch; no checkpoints but the epoch ends (and the stop).
     * Model selection on (on the test figure), so the stop's checkpoint must carry its state too.
     */
    private static List<String> args(Path data, Path out, int epochs) {
        return new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "32", "--latent", "4", "--batch-size", "8", "--epochs", Integer.toString(epochs), "--seed", "3",
                "--checkpoint-every", "0", "--eval-k", "0", "--no-progress", "--keep-best", "--early-stop", "400"));
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aStopSignalWritesACheckpointAndResumingMatchesAnUnstoppedRun() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 600, 100);
        Path out = tmp.resolve("stopped"), log = tmp.resolve("stopped.log");
        Process p = ChildJvm.start(List.of(), args(data, out, 500), log);
        long deadline = System.nanoTime() + 120_000_000_000L;
        // Once the first epoch has ended the run is certainly in its loop (500 epochs are far off).
        while (p.isAlive() && System.nanoTime() < deadline
                && (!Files.exists(out.resolve("log.jsonl")) || Files.readAllLines(out.resolve("log.jsonl")).isEmpty())) {
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), () -> "the run ended before the signal: " + read(log));
        assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the run did not stop on SIGTERM");
        String said = ChildJvm.output(log);
        assertEquals(143, p.exitValue(), said);
        Matcher m = Pattern.compile("elbo4j train: stopped by SIGTERM in epoch (\\d+)/500 after .* \\(step (\\d+)\\); "
                + Pattern.quote(out.resolve("checkpoint.safetensors") + " holds it: `elbo4j train --out " + out + " --resume`")).matcher(said);
        assertTrue(m.find(), said);
        long step = Long.parseLong(m.group(2));
        Checkpoint stoppedAt = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        assertEquals(step, stoppedAt.state().step(), "the checkpoint is the stopping step");
        Map<String, Object> selection = stoppedAt.selection();
        assertNotNull(selection, "the stop's checkpoint keeps the model selection's state");
        assertEquals(true, selection.get("keep_best"));
        assertEquals(400, ((Number) selection.get("patience")).intValue());
        assertTrue(((Number) selection.get("best_epoch")).intValue() >= 1, selection.toString());
        assertTrue(step >= 75, "at least the first epoch: " + step);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(), s.map(f -> f.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList(),
                    "no temporary file is left");
        }

        // Resumed to the end of the next epoch, it matches a run of as many epochs never stopped.
        int epochs = (int) (step / 75) + 1;
        List<String> resume = args(data, out, epochs);
        resume.add("--resume");
        assertEquals(0, ChildJvm.run(List.of(), resume, log), () -> read(log));
        Path straight = tmp.resolve("straight");
        assertEquals(0, ChildJvm.run(List.of(), args(data, straight, epochs), log), () -> read(log));
        SafeTensors.File a = SafeTensors.read(straight.resolve("checkpoint.safetensors")), b = SafeTensors.read(out.resolve("checkpoint.safetensors"));
        assertEquals(a.names(), b.names());
        for (String name : a.names()) {
            assertArrayEquals(a.entry(name).bytes(), b.entry(name).bytes(), name + " differs from the run never stopped");
        }
        assertEquals(a.metadata("state"), b.metadata("state"));
        assertEquals(a.metadata("selection"), b.metadata("selection"), "the best so far, as the run never stopped has it");
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
