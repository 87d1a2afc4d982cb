package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --threads: the CPU backend's thread count, on every command with --device. A bad count is a
 * usage error naming the flag; a good one is what the run's header says it computes on (in a child
 * JVM: the count is fixed once per process, and this test JVM's is fixed by the tests before).
 */
class ThreadsCliTest {
    @TempDir
    Path tmp;

    @Test
    void aCountBelowOneOrNotANumberIsAUsageErrorNamingTheFlag() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 100, 20);
        for (String bad : List.of("0", "-3", "two")) {
            CliTest.Result r = CliTest.run("train", "--threads", bad, "--device", "cpu", "--data", data.toString(),
                    "--out", tmp.resolve("run").toString(), "--epochs", "1");
            assertEquals(2, r.code(), "--threads " + bad + ": " + r.err());
            assertTrue(r.err().contains("--threads"), "--threads " + bad + ": " + r.err());
        }
        // Every command with --device has the flag, refused before it reads its checkpoint (which does not exist: exit 1).
        for (String command : List.of("eval", "sample", "reconstruct", "latent scatter")) {
            for (String bad : List.of("0", "two")) {
                List<String> args = new java.util.ArrayList<>(List.of(command.split(" ")));
                args.addAll(List.of("--threads", bad, "-c", tmp.resolve("none").toString()));
                CliTest.Result r = CliTest.run(args.toArray(String[]::new));
                assertEquals(2, r.code(), command + " --threads " + bad + ": " + r.err());
                assertTrue(r.err().startsWith("elbo4j " + command + ": ") && r.err().contains("--threads"), r.err());
            }
        }
    }

    @Test
    void trainComputesOnTheThreadsGivenAndSaysSo() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 100, 20);
        Path log = tmp.resolve("train.log");
        int code = ChildJvm.run(List.of(), List.of("train", "--data", data.toString(), "--out", tmp.resolve("run").toString(),
                "--device", "cpu", "--threads", "3", "--hidden", "16", "--latent", "2", "--epochs", "1", "--eval-k", "0",
                "--no-progress"), log);
        String said = ChildJvm.output(log);
        assertEquals(0, code, said);
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(said.contains("cpu (3 threads on " + cores + " core" + (cores == 1 ? "" : "s") + ", GEMM: "), said);
    }

    /**
     * With the pure-Java GEMM a run's numbers do not depend on the thread count: one epoch on 1 and
     * on 3 threads (one step) gives the same parameters and optimizer state, bit for bit, so the checkpoint
     * records no thread count (a resume on another machine continues exactly). Batch 512 x 256
     * hidden units is large enough that the bias gradient's sums are split across the threads.
     */
    @Test
    void theThreadCountDoesNotChangeTheNumbersWithTheJavaGemm() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 512, 20);
        java.util.Map<Integer, dev.elbo4j.io.SafeTensors.File> runs = new java.util.HashMap<>();
        for (int threads : new int[]{1, 3}) {
            Path run = tmp.resolve("run" + threads), log = tmp.resolve("train" + threads + ".log");
            int code = ChildJvm.run(List.of("-Delbo4j.blas=java"), List.of("train", "--data", data.toString(), "--out", run.toString(),
                    "--device", "cpu", "--threads", Integer.toString(threads), "--hidden", "256", "--latent", "8",
                    "--batch-size", "512", "--epochs", "1", "--eval-k", "0", "--no-progress"), log);
            assertEquals(0, code, ChildJvm.output(log));
            runs.put(threads, dev.elbo4j.io.SafeTensors.read(run.resolve("checkpoint.safetensors")));
        }
        assertEquals(runs.get(1).tensors().keySet(), runs.get(3).tensors().keySet());
        for (String name : runs.get(1).tensors().keySet()) {
            assertEquals(runs.get(1).entry(name), runs.get(3).entry(name), name + " differs between 1 and 3 threads");
        }
        assertEquals(runs.get(1).metadata("compute"), runs.get(3).metadata("compute"));
        assertFalse(runs.get(1).metadata("compute").contains("threads"), runs.get(1).metadata("compute"));
    }

    /**
     * A checkpoint records the numerics it was computed with; --resume with others (here the scalar
     * maths where the run had the vector ones) says what differs and goes on; with the same, it says nothing.
     */
    @Test
    void aResumeWithOtherNumericsSaysWhatDiffers() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 100, 20), run = tmp.resolve("run");
        List<String> train = List.of("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "2", "--eval-k", "0", "--no-progress");
        String[] said = new String[3];
        List<List<String>> jvm = List.of(List.of(), List.of("-Delbo4j.simd=scalar"), List.of("-Delbo4j.simd=scalar"));
        for (int i = 0; i < 3; i++) {
            Path log = tmp.resolve("train" + i + ".log");
            List<String> args = new java.util.ArrayList<>(train);
            args.addAll(List.of("--epochs", Integer.toString(i + 1)));
            if (i > 0) args.add("--resume");
            int code = ChildJvm.run(jvm.get(i), args, log);
            said[i] = ChildJvm.output(log);
            assertEquals(0, code, said[i]);
        }
        assertFalse(said[0].contains("note:"), said[0]);
        assertTrue(said[1].contains("note: the checkpoint was computed with other numerics (then: maths vector-")
                && said[1].contains("; now: maths scalar)") && said[1].contains("resume with the same numerics"), said[1]);
        assertFalse(said[2].contains("note:"), said[2]); // the checkpoint now records the scalar maths
    }

    @Test
    void theNoteNamesTheThreadCountThatContinuesARunExactly() {
        String then = "cpu, maths vector-256, GEMM OpenBLAS 0.3.21 Haswell, core Haswell, GEMM threads 1";
        assertNull(TrainCommand.numericsNote(then, then));
        assertNull(TrainCommand.numericsNote(null, then));
        String note = TrainCommand.numericsNote(then, then.replace("GEMM threads 1", "GEMM threads 2"));
        assertTrue(note.contains("(then: GEMM threads 1; now: GEMM threads 2)") && note.contains("--threads 1 continues it bit for bit"), note);
        note = TrainCommand.numericsNote(then, "cpu, maths vector-256, GEMM java");
        assertTrue(note.contains("(then: GEMM OpenBLAS 0.3.21 Haswell, core Haswell, GEMM threads 1; now: GEMM java)")
                && !note.contains("--threads"), note);
    }
}
