package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
