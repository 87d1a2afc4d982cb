package dev.elbo4j.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits row loops of the CPU backend across cores. Each row is computed by one thread in a fixed
 * way, and sums across rows are cut into blocks that do not depend on the split (CpuLinear's column
 * sums), so results do not depend on the thread count: parallel runs give a serial run's bits
 * (ThreadCountInvarianceTest).
 * A split has at most {@link #THREADS} parts, run on the calling thread and the common pool, so at
 * most the common pool's parallelism + 1 of them (the cores, by default) run at once, whatever
 * {@link CpuThreads} allows. A pool of elbo4j's own with {@code THREADS - 1} workers was tried: no
 * faster on a quiet 2-core machine, and slower at batch 1024 on a loaded one (TrainStepBenchmark).
 */
final class CpuParallel {
    /** Threads to use, the calling thread included: {@link CpuThreads#get()}. */
    static final int THREADS = CpuThreads.get();
    /** Below this much work (rows x cost) a split costs more than it saves. */
    private static final long MIN_WORK = 1 << 16;

    /** Work on rows [from, to). */
    @FunctionalInterface
    interface RowRange {
        void run(int from, int to);
    }

    private CpuParallel() {
    }

    /** Part p of a split: rows [from, to). */
    @FunctionalInterface
    interface Part {
        void run(int part, int from, int to);
    }

    /** How many parts {@link #rows} splits this much work into (1 when too small to gain). */
    static int parts(int rows, int costPerRow) {
        int parts = (int) Math.min(THREADS, Math.max(1, (long) rows * costPerRow / MIN_WORK));
        return Math.max(1, Math.min(parts, rows));
    }

    /** Runs {@code body} over [0, rows), split into one contiguous range per thread when large enough. */
    static void rows(int rows, int costPerRow, RowRange body) {
        split(rows, parts(rows, costPerRow), (p, from, to) -> body.run(from, to));
    }

    /**
     * Runs part p of {@code parts} contiguous ranges of [0, rows) for every p, the first on the
     * calling thread. Part boundaries depend only on (rows, parts), so per-part partial results
     * combined in part order are deterministic.
     */
    static void split(int rows, int parts, Part body) {
        if (parts <= 1) {
            body.run(0, 0, rows);
            return;
        }
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int part = p, from = (int) ((long) rows * p / parts), to = (int) ((long) rows * (p + 1) / parts);
            tasks[p - 1] = ForkJoinPool.commonPool().submit(() -> body.run(part, from, to));
        }
        body.run(0, 0, (int) ((long) rows / parts));
        for (ForkJoinTask<?> t : tasks) t.join();
    }
}
