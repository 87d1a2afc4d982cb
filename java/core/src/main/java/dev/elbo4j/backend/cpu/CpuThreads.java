package dev.elbo4j.backend.cpu;

/**
 * How many threads the CPU backend computes on: one number for the process, fixed when the first
 * CPU backend is created (or the first GEMM chosen: {@link Blases#best()}), and the same for every
 * backend after it. Its row loops ({@code CpuParallel}) and its GEMMs ({@link SplitBlas},
 * {@link JavaBlas}) each use at most that many threads, the calling thread included.
 *
 * <p>Why not per backend: the CPU operations (CpuLinear, CpuLatent, ... and the GEMM choice of
 * {@link Blases}) are static functions of their tensors, shared by every backend; a per-backend
 * count and pool would have to be passed through every one of them.
 *
 * <p>The count: {@link #set(int)} if it was called before, else the system property
 * {@value #PROPERTY}, else the available processors.
 */
public final class CpuThreads {
    /** System property with the thread count, read when the count is fixed. */
    public static final String PROPERTY = "elbo4j.threads";

    private static int fixed;   // 0 until fixed; guarded by CpuThreads.class
    private static int chosen;  // 0 until set; guarded by CpuThreads.class

    private CpuThreads() {
    }

    /**
     * Chooses the thread count, overriding {@value #PROPERTY}; call it before the first CPU backend
     * is created. Setting the count already in force is allowed at any time.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     * @throws IllegalStateException    if the count was already fixed at another value
     */
    public static synchronized void set(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        if (fixed != 0 && fixed != threads) {
            throw new IllegalStateException("the CPU backend's threads are fixed at " + fixed + " for this process (by its first "
                    + "CPU backend); set them to " + threads + " before the first CPU backend is created");
        }
        chosen = threads;
    }

    /**
     * The thread count, fixing it if it is not yet.
     *
     * @throws IllegalStateException if {@value #PROPERTY} is not a positive integer
     */
    public static synchronized int get() {
        if (fixed == 0) fixed = chosen != 0 ? chosen : fromProperty();
        return fixed;
    }

    /** Whether the count is fixed (a CPU backend exists, or {@link #get()} was called). */
    public static synchronized boolean isFixed() {
        return fixed != 0;
    }

    private static int fromProperty() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int t = Integer.parseInt(v.strip());
            if (t >= 1) return t;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalStateException(PROPERTY + " must be a positive integer, got '" + v + "'");
    }
}
