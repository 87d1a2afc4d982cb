package dev.elbo4j.backend.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CpuThreads}: the count is set before the first CPU backend and then fixed, a later
 * different count fails loudly, the row loops run on that many threads at once, and the count set
 * is what the row loops, the GEMMs and the backend's description take (in a child JVM, where the
 * count is not yet fixed).
 */
class CpuThreadsTest {

    /** Runs THREADS parts that each wait for all the others: only THREADS threads at once get through. */
    static Set<Thread> runAllPartsAtOnce() {
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        CyclicBarrier all = new CyclicBarrier(CpuParallel.THREADS);
        CpuParallel.split(CpuParallel.THREADS * 10, CpuParallel.THREADS, (p, from, to) -> {
            seen.add(Thread.currentThread());
            try {
                all.await(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the " + CpuParallel.THREADS + " parts did not run at once", e);
            }
        });
        return seen;
    }

    @Test
    void theCountIsFixedByTheFirstBackendAndADifferentOneFailsLoudly() {
        try (CpuBackend be = new CpuBackend()) {
            int n = CpuThreads.get();
            assertTrue(CpuThreads.isFixed());
            assertTrue(be.description().startsWith("cpu (" + n + " thread"), be.description());
            CpuThreads.set(n); // the count in force: allowed
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> CpuThreads.set(n + 1));
            assertTrue(e.getMessage().contains("fixed at " + n) && e.getMessage().contains("before the first CPU backend"), e.getMessage());
            assertEquals(n, CpuThreads.get(), "unchanged by the refused set");
            assertThrows(IllegalArgumentException.class, () -> CpuThreads.set(0));
            if (n <= java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1) {  // the default count: the cores
                assertEquals(n, runAllPartsAtOnce().size(), "the row loops' threads");
            }
        }
    }

    /** The child JVM: sets the count from its argument, then prints the backend's description and the threads a split used. */
    public static void main(String[] args) {
        CpuThreads.set(Integer.parseInt(args[0]));
        try (CpuBackend be = new CpuBackend()) {
            System.out.println(be.description());
            System.out.println("threads " + CpuParallel.THREADS + " parts " + CpuParallel.parts(1 << 20, 1 << 10)
                    + " blas " + Blases.threads());
            try {
                CpuThreads.set(Integer.parseInt(args[0]) + 1);
                System.out.println("set after the first backend was allowed");
            } catch (IllegalStateException e) {
                System.out.println("refused: " + e.getMessage());
            }
        }
    }

    @Test
    void aCountSetBeforeTheFirstBackendOverridesThePropertyEverywhere() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-Delbo4j.threads=1", "-cp", cp, CpuThreadsTest.class.getName(), "3").redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().filter(l -> !l.contains("jdk.incubator.vector") && !l.startsWith("elbo4j: OpenBLAS")).toList();
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(lines.get(0).startsWith("cpu (3 threads on " + cores + " core"), out);
        assertEquals("threads 3 parts 3 blas 3", lines.get(1), "set() overrides the property, for the row loops and the GEMMs: " + out);
        assertTrue(lines.get(2).startsWith("refused: the CPU backend's threads are fixed at 3"), out);
    }
}
