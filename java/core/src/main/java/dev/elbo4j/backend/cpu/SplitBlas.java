package dev.elbo4j.backend.cpu;

/**
 * Runs a single-threaded {@link Blas} on several cores by cutting C into one block of rows (or of
 * columns, when C is wider than tall) per thread, on the CPU backend's own workers
 * ({@link CpuParallel}).
 *
 * <p>Why not OpenBLAS's own threads: they spin for a while after every call, and in a training
 * step the next thing after a GEMM is elementwise work that wants the same cores. Measured on the
 * 2-core machine (batch 1024): with OpenBLAS threading the step's elementwise operations took
 * 9.7 ms, with one OpenBLAS thread and elbo4j's own split 6.4 ms. One mechanism for all
 * parallelism also keeps the results independent of timing: each block of C is computed by one
 * deterministic single-threaded call, and the cut depends only on the shape and thread count.
 */
final class SplitBlas implements Blas {
    /** Products with a dimension below this run on one thread (latent-sized layers). */
    static final int NARROW = 64;
    /** Products below this many multiply-adds run on one thread: a split costs more than it saves. */
    static final long SMALL = 1L << 21;

    private final Blas inner;
    private final int threads;

    SplitBlas(Blas inner, int threads) {
        this.inner = inner;
        this.threads = threads;
    }

    @Override
    public String name() {
        return inner.name() + " (split over " + threads + " threads)";
    }

    /**
     * The inner GEMM's. A product cut into blocks rounds otherwise than the same product whole
     * (OpenBLAS chooses its kernels and blocking per call), so the bits also depend on the thread
     * count, which {@link CpuBackend#numerics()} adds.
     */
    @Override
    public String numerics() {
        return inner.numerics();
    }

    private int parts(int m, int n, int k) {
        if (Math.min(m, Math.min(n, k)) < NARROW || (long) m * n * k < SMALL) return 1;
        return Math.min(threads, Math.max(m, n) / NARROW);
    }

    /** One block of C: rows m, columns n, and where its op(A), op(B) and C start. */
    @FunctionalInterface
    private interface Block {
        void run(int m, int n, int aOff, int bOff, int cOff);
    }

    /**
     * Runs {@code block} over C whole or cut into parts: rows [i0, i1) of C need rows [i0, i1) of
     * op(A) (row offsets of A, or column offsets of A^T); columns [j0, j1) need columns of op(B).
     */
    private void blocks(boolean ta, boolean tb, int m, int n, int k, int aOff, int lda, int bOff, int ldb,
                        int cOff, int ldc, Block block) {
        int parts = parts(m, n, k);
        if (parts <= 1) {
            block.run(m, n, aOff, bOff, cOff);
        } else if (m >= n) {
            CpuParallel.split(m, parts, (p, i0, i1) ->
                    block.run(i1 - i0, n, ta ? aOff + i0 : aOff + i0 * lda, bOff, cOff + i0 * ldc));
        } else {
            CpuParallel.split(n, parts, (p, j0, j1) ->
                    block.run(m, j1 - j0, aOff, tb ? bOff + j0 * ldb : bOff + j0, cOff + j0));
        }
    }

    @Override
    public void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        blocks(ta, tb, m, n, k, aOff, lda, bOff, ldb, cOff, ldc, (mm, nn, ao, bo, co) ->
                inner.sgemm(ta, tb, mm, nn, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc));
    }

    @Override
    public void dgemm(boolean ta, boolean tb, int m, int n, int k, double alpha, double[] a, int aOff, int lda,
                      double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc) {
        blocks(ta, tb, m, n, k, aOff, lda, bOff, ldb, cOff, ldc, (mm, nn, ao, bo, co) ->
                inner.dgemm(ta, tb, mm, nn, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc));
    }
}
