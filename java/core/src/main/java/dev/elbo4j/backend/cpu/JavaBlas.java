package dev.elbo4j.backend.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Pure-Java {@link Blas}: always available, no native code, no incubator modules.
 *
 * <h2>How it is fast</h2>
 * The GEMM is blocked over {@code n} (NC columns) and {@code k} (KC steps). For each block,
 * {@code op(B)} is packed (transposed if needed) into KC separate row arrays, and for each group of
 * four rows of C the scaled {@code alpha op(A)} values are packed into a small array and the four C
 * rows are copied into four scratch row arrays. The micro-kernel then updates the four C rows with
 * four B rows at a time:
 * <pre>
 *   c_r[j] = fma(a_r3, b3[j], fma(a_r2, b2[j], fma(a_r1, b1[j], fma(a_r0, b0[j], c_r[j]))))
 * </pre>
 * C2 auto-vectorizes this loop (8 floats / 4 doubles per AVX2 instruction) because every array
 * in it is indexed by the same plain {@code j}: C2 (JDK 25) cannot prove that two float arrays
 * indexed with different offsets do not overlap and then refuses to vectorize, which is why the
 * packed rows are separate arrays. {@link Math#fma} keeps the loop body small enough for C2 to
 * unroll it to the full vector width (with separate multiplies and adds the same loop gets only
 * 2- or 4-lane vectors, about 3x slower). See {@code docs/CPU_GEMM.md} for measurements.
 *
 * <p>Large problems (at least 2<sup>22</sup> multiply-adds) are split over a small
 * fixed pool of daemon threads ({@code threads - 1} workers plus the calling thread), along
 * {@code m} unless C has too few rows, then along {@code n}; each part is an independent GEMM
 * on a slice of C. When C has few columns and more rows, {@code C^T = op(B)^T op(A)^T} is
 * computed instead, so that the vectorized loops stay long.
 *
 * <p>Semantics are those of BLAS: {@code beta == 0} overwrites C without reading it (NaN in C
 * does not propagate); {@code alpha == 0} or {@code k == 0} only scales C and never reads A or B.
 * The products are accumulated with fused multiply-adds, so results can differ from a naive loop
 * in the last bits.
 *
 * <p>Thread-safe: per-thread scratch buffers are kept in thread-locals (about 270 KiB per thread
 * and precision in use).
 */
public final class JavaBlas implements Blas {

    // Block sizes: a packed B block (KC x NC) is 256 KiB for both precisions, half of a Zen 3 L2.
    private static final int KC_F = 128;
    private static final int NC_F = 512;
    private static final int KC_D = 128;
    private static final int NC_D = 256;
    /** Rows of C updated together by the micro-kernel. */
    private static final int MR = 4;
    /**
     * With fewer columns than this (and more rows than columns) C^T = op(B)^T op(A)^T is
     * computed instead, so that the vectorized loops are long.
     */
    private static final int NARROW_N = 64;

    /**
     * Below this many multiply-adds (about 0.1 ms of work) a GEMM runs on the calling thread
     * only: handing work to a parked thread costs tens of microseconds.
     */
    private static final long PARALLEL_MIN_MACS = 1L << 22;
    /** Minimum columns (split along n) or rows (split along m) per part. */
    private static final int MIN_PART_COLS = 64;
    private static final int MIN_PART_ROWS = 16;

    private static final AtomicInteger POOL_IDS = new AtomicInteger();
    private static final ThreadLocal<FloatWork> FLOAT_WORK =
            ThreadLocal.withInitial(FloatWork::new);
    private static final ThreadLocal<DoubleWork> DOUBLE_WORK =
            ThreadLocal.withInitial(DoubleWork::new);

    private final int threads;
    private volatile ExecutorService pool; // created on first parallel call; null when threads == 1

    /** One thread per available processor. */
    public JavaBlas() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * A pure-Java GEMM that splits one large product over {@code threads} threads.
     *
     * @param threads threads a single large GEMM may use, calling thread included ({@code >= 1});
     *                {@code threads - 1} daemon worker threads are started on first need
     */
    public JavaBlas(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
    }

    @Override
    public String name() {
        return "java";
    }

    /** Threads a single large GEMM may use, calling thread included. */
    public int threads() {
        return threads;
    }

    /** For messages: the thread count. */
    @Override
    public String toString() {
        return "JavaBlas[threads=" + threads + "]";
    }

    // ------------------------------------------------------------------------------------------
    // Argument checks and C scaling, shared with the OpenBLAS binding.

    /**
     * Checks GEMM arguments the way BLAS does, plus array bounds: {@code m, n, k >= 0};
     * offsets {@code >= 0}; each leading dimension at least {@code max(1, stored row length)};
     * every element of a non-empty stored matrix inside its array.
     *
     * @throws IllegalArgumentException for a negative size or offset or a too small leading
     *         dimension
     * @throws IndexOutOfBoundsException when a matrix does not fit its array
     */
    public static void checkArgs(boolean transA, boolean transB, int m, int n, int k,
                                 int aLength, int aOff, int lda, int bLength, int bOff, int ldb,
                                 int cLength, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("negative size: m=" + m + ", n=" + n + ", k=" + k);
        }
        checkMatrix("A", transA ? k : m, transA ? m : k, aLength, aOff, lda);
        checkMatrix("B", transB ? n : k, transB ? k : n, bLength, bOff, ldb);
        checkMatrix("C", m, n, cLength, cOff, ldc);
    }

    private static void checkMatrix(String what, int rows, int cols, int length, int off, int ld) {
        if (off < 0) {
            throw new IllegalArgumentException(what + ": negative offset " + off);
        }
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(
                    what + ": leading dimension " + ld + " < max(1, " + cols + ")");
        }
        if (rows > 0 && cols > 0 && off + (long) (rows - 1) * ld + cols > length) {
            throw new IndexOutOfBoundsException(what + ": " + rows + "x" + cols + " at offset "
                    + off + " with leading dimension " + ld + " exceeds array length " + length);
        }
    }

    /** {@code C = beta C} on an {@code m x n} block; {@code beta == 0} writes zeros. */
    public static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        if (beta == 1f) {
            return;
        }
        for (int i = 0; i < m; i++) {
            int o = cOff + i * ldc;
            if (beta == 0f) {
                Arrays.fill(c, o, o + n, 0f);
            } else {
                for (int j = o; j < o + n; j++) {
                    c[j] *= beta;
                }
            }
        }
    }

    /** {@code C = beta C} on an {@code m x n} block; {@code beta == 0} writes zeros. */
    public static void scale(int m, int n, double beta, double[] c, int cOff, int ldc) {
        if (beta == 1d) {
            return;
        }
        for (int i = 0; i < m; i++) {
            int o = cOff + i * ldc;
            if (beta == 0d) {
                Arrays.fill(c, o, o + n, 0d);
            } else {
                for (int j = o; j < o + n; j++) {
                    c[j] *= beta;
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Entry points.

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb,
                c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        forParts(m, n, k, (splitN, from, to) -> {
            if (splitN) {
                sgemmSerial(transA, transB, m, to - from, k, alpha, a, aOff, lda,
                        b, bOff + (transB ? from * ldb : from), ldb, beta, c, cOff + from, ldc);
            } else {
                sgemmSerial(transA, transB, to - from, n, k, alpha,
                        a, aOff + (transA ? from : from * lda), lda, b, bOff, ldb,
                        beta, c, cOff + from * ldc, ldc);
            }
        });
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                      double beta, double[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb,
                c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0d) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        forParts(m, n, k, (splitN, from, to) -> {
            if (splitN) {
                dgemmSerial(transA, transB, m, to - from, k, alpha, a, aOff, lda,
                        b, bOff + (transB ? from * ldb : from), ldb, beta, c, cOff + from, ldc);
            } else {
                dgemmSerial(transA, transB, to - from, n, k, alpha,
                        a, aOff + (transA ? from : from * lda), lda, b, bOff, ldb,
                        beta, c, cOff + from * ldc, ldc);
            }
        });
    }

    // ------------------------------------------------------------------------------------------
    // Splitting across threads.

    /** A slice {@code [from, to)} of C's columns ({@code splitN}) or rows. */
    private interface Part {
        void run(boolean splitN, int from, int to);
    }

    /**
     * Runs {@code part} over C, in one piece on the calling thread for small problems, else in
     * up to {@link #threads} slices, the first on the calling thread.
     */
    private void forParts(int m, int n, int k, Part part) {
        // Rows first: every part then keeps the long vector loops over n (measured faster than
        // splitting n, despite each part packing all of op(B)).
        boolean splitN = m < 2 * MIN_PART_ROWS && n >= 2 * MIN_PART_COLS;
        int extent = splitN ? n : m;
        int parts = Math.min(threads, extent / (splitN ? MIN_PART_COLS : MIN_PART_ROWS));
        if (parts < 2 || (long) m * n * k < PARALLEL_MIN_MACS) {
            part.run(false, 0, m);
            return;
        }
        int align = splitN ? 16 : MR; // keep slices vector / row-group aligned
        int[] bounds = new int[parts + 1];
        for (int p = 1; p < parts; p++) {
            bounds[p] = (int) ((long) extent * p / parts) / align * align;
        }
        bounds[parts] = extent;
        ExecutorService workers = pool();
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = bounds[p], to = bounds[p + 1];
            futures.add(workers.submit(() -> part.run(splitN, from, to)));
        }
        Throwable failure = null;
        try {
            part.run(splitN, bounds[0], bounds[1]);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        // Wait for every part, even when interrupted: returning early would leave workers
        // writing into C. The parts are short; the interrupt is re-asserted afterwards.
        boolean interrupted = false;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (ExecutionException e) {
                    failure = failure != null ? failure : e.getCause();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException("GEMM worker failed", failure);
        }
    }

    /**
     * Width of the column blocks: at most {@code max}, and equal blocks (rounded up to 8) rather
     * than full blocks plus a narrow, slow remainder.
     */
    private static int blockWidth(int n, int max) {
        int blocks = (n + max - 1) / max;
        return Math.min(max, ((n + blocks - 1) / blocks + 7) & ~7);
    }

    private ExecutorService pool() {
        ExecutorService p = pool;
        if (p == null) {
            synchronized (this) {
                p = pool;
                if (p == null) {
                    int id = POOL_IDS.incrementAndGet();
                    AtomicInteger n = new AtomicInteger();
                    p = Executors.newFixedThreadPool(threads - 1, r -> {
                        Thread t = new Thread(r, "elbo4j-gemm-" + id + "-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
                    pool = p;
                }
            }
        }
        return p;
    }

    // ------------------------------------------------------------------------------------------
    // float

    /** Per-thread scratch: packed B rows, four C rows, packed A for four rows. */
    private static final class FloatWork {
        final float[][] b = new float[KC_F][NC_F];
        final float[][] c = new float[MR][NC_F];
        final float[] a = new float[MR * KC_F];
    }

    /** C = alpha op(A) op(B) + beta C on the calling thread; m, n, k > 0 and alpha != 0. */
    private static void sgemmSerial(boolean transA, boolean transB, int m, int n, int k,
                                    float alpha, float[] a, int aOff, int lda,
                                    float[] b, int bOff, int ldb,
                                    float beta, float[] c, int cOff, int ldc) {
        if (n < NARROW_N && m > n) {
            // Few columns: compute C^T = op(B)^T op(A)^T so the vector loops run along m.
            sgemmBlocked(!transB, !transA, n, m, k, alpha, b, bOff, ldb, a, aOff, lda,
                    beta, c, cOff, ldc, true);
        } else {
            sgemmBlocked(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb,
                    beta, c, cOff, ldc, false);
        }
    }

    /**
     * The blocked GEMM D = alpha op(A) op(B) + beta D, where D is C, or C^T when
     * {@code transC} (then D[i][j] is {@code c[cOff + j*ldc + i]}).
     */
    private static void sgemmBlocked(boolean transA, boolean transB, int m, int n, int k,
                                     float alpha, float[] a, int aOff, int lda,
                                     float[] b, int bOff, int ldb,
                                     float beta, float[] c, int cOff, int ldc, boolean transC) {
        FloatWork w = FLOAT_WORK.get();
        float[][] bp = w.b, ct = w.c;
        float[] ap = w.a;
        int ncStep = blockWidth(n, NC_F);
        for (int jc = 0; jc < n; jc += ncStep) {
            int nc = Math.min(ncStep, n - jc);
            for (int pc = 0; pc < k; pc += KC_F) {
                int kc = Math.min(KC_F, k - pc);
                int kcPad = (kc + 3) & ~3;
                boolean first = pc == 0;
                packB(transB, b, bOff, ldb, pc, kc, kcPad, jc, nc, bp);
                int i = 0;
                for (; i + MR <= m; i += MR) {
                    packA4(transA, a, aOff, lda, alpha, i, pc, kc, kcPad, ap);
                    loadC(c, cOff, ldc, transC, i, MR, jc, nc, ct, first, beta);
                    kernel4(ct[0], ct[1], ct[2], ct[3], bp, ap, kcPad, nc);
                    storeC(c, cOff, ldc, transC, i, MR, jc, nc, ct);
                }
                for (; i < m; i++) {
                    packA1(transA, a, aOff, lda, alpha, i, pc, kc, kcPad, ap);
                    loadC(c, cOff, ldc, transC, i, 1, jc, nc, ct, first, beta);
                    kernel1(ct[0], bp, ap, kcPad, nc);
                    storeC(c, cOff, ldc, transC, i, 1, jc, nc, ct);
                }
            }
        }
    }

    /**
     * {@code bp[p][j] = op(B)[pc + p][jc + j]} for {@code p < kc, j < nc}; rows
     * {@code kc..kcPad-1} zeroed.
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc,
                              int kcPad, int jc, int nc, float[][] bp) {
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                System.arraycopy(b, bOff + (pc + p) * ldb + jc, bp[p], 0, nc);
            }
        } else {
            // op(B)[p][j] = b[bOff + j*ldb + p]: eight columns at a time, each read along p.
            int j = 0;
            for (; j + 8 <= nc; j += 8) {
                int s0 = bOff + (jc + j) * ldb + pc, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
                int s4 = s3 + ldb, s5 = s4 + ldb, s6 = s5 + ldb, s7 = s6 + ldb;
                for (int p = 0; p < kc; p++) {
                    float[] row = bp[p];
                    row[j] = b[s0 + p];
                    row[j + 1] = b[s1 + p];
                    row[j + 2] = b[s2 + p];
                    row[j + 3] = b[s3 + p];
                    row[j + 4] = b[s4 + p];
                    row[j + 5] = b[s5 + p];
                    row[j + 6] = b[s6 + p];
                    row[j + 7] = b[s7 + p];
                }
            }
            for (; j < nc; j++) {
                int s = bOff + (jc + j) * ldb + pc;
                for (int p = 0; p < kc; p++) {
                    bp[p][j] = b[s + p];
                }
            }
        }
        for (int p = kc; p < kcPad; p++) {
            Arrays.fill(bp[p], 0, nc, 0f);
        }
    }

    /**
     * Packs {@code alpha op(A)[i..i+3][pc..pc+kc-1]} as {@code ap[(p/4)*16 + r*4 + p%4]},
     * zero-padded to {@code kcPad}.
     */
    private static void packA4(boolean transA, float[] a, int aOff, int lda, float alpha,
                               int i, int pc, int kc, int kcPad, float[] ap) {
        if (transA) {
            int s = aOff + pc * lda + i;
            for (int p = 0; p < kc; p++, s += lda) {
                int o = (p >> 2) * 16 + (p & 3);
                ap[o] = alpha * a[s];
                ap[o + 4] = alpha * a[s + 1];
                ap[o + 8] = alpha * a[s + 2];
                ap[o + 12] = alpha * a[s + 3];
            }
        } else {
            for (int r = 0; r < MR; r++) {
                int s = aOff + (i + r) * lda + pc;
                for (int p = 0; p < kc; p++) {
                    ap[(p >> 2) * 16 + r * 4 + (p & 3)] = alpha * a[s + p];
                }
            }
        }
        for (int p = kc; p < kcPad; p++) {
            int o = (p >> 2) * 16 + (p & 3);
            ap[o] = 0f;
            ap[o + 4] = 0f;
            ap[o + 8] = 0f;
            ap[o + 12] = 0f;
        }
    }

    /** Packs {@code alpha op(A)[i][pc..pc+kc-1]} as {@code ap[p]}, zero-padded to kcPad. */
    private static void packA1(boolean transA, float[] a, int aOff, int lda, float alpha,
                               int i, int pc, int kc, int kcPad, float[] ap) {
        if (transA) {
            int s = aOff + pc * lda + i;
            for (int p = 0; p < kc; p++, s += lda) {
                ap[p] = alpha * a[s];
            }
        } else {
            int s = aOff + i * lda + pc;
            for (int p = 0; p < kc; p++) {
                ap[p] = alpha * a[s + p];
            }
        }
        Arrays.fill(ap, kc, kcPad, 0f);
    }

    /**
     * Copies rows {@code i..i+rows-1}, columns {@code jc..jc+nc-1} of D (C or C^T) into
     * {@code ct}; on the first k block applies beta, and for beta == 0 does not read C at all.
     */
    private static void loadC(float[] c, int cOff, int ldc, boolean transC, int i, int rows,
                              int jc, int nc, float[][] ct, boolean first, float beta) {
        if (first && beta == 0f) {
            for (int r = 0; r < rows; r++) {
                Arrays.fill(ct[r], 0, nc, 0f);
            }
            return;
        }
        if (!transC) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(c, cOff + (i + r) * ldc + jc, ct[r], 0, nc);
            }
        } else {
            for (int j = 0, s = cOff + jc * ldc + i; j < nc; j++, s += ldc) {
                for (int r = 0; r < rows; r++) {
                    ct[r][j] = c[s + r];
                }
            }
        }
        if (first && beta != 1f) {
            for (int r = 0; r < rows; r++) {
                float[] row = ct[r];
                for (int j = 0; j < nc; j++) {
                    row[j] *= beta;
                }
            }
        }
    }

    /** Writes {@code ct} back to D (C or C^T); the inverse of {@link #loadC}. */
    private static void storeC(float[] c, int cOff, int ldc, boolean transC, int i, int rows,
                               int jc, int nc, float[][] ct) {
        if (!transC) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(ct[r], 0, c, cOff + (i + r) * ldc + jc, nc);
            }
        } else {
            for (int j = 0, s = cOff + jc * ldc + i; j < nc; j++, s += ldc) {
                for (int r = 0; r < rows; r++) {
                    c[s + r] = ct[r][j];
                }
            }
        }
    }

    /** {@code c_r += sum_p ap4[p][r] * bp[p]} for four rows; C2 vectorizes the j loop. */
    private static void kernel4(float[] c0, float[] c1, float[] c2, float[] c3, float[][] bp,
                                float[] ap, int kcPad, int nc) {
        for (int p = 0, o = 0; p < kcPad; p += 4, o += 16) {
            float[] b0 = bp[p], b1 = bp[p + 1], b2 = bp[p + 2], b3 = bp[p + 3];
            float a00 = ap[o], a01 = ap[o + 1], a02 = ap[o + 2], a03 = ap[o + 3];
            float a10 = ap[o + 4], a11 = ap[o + 5], a12 = ap[o + 6], a13 = ap[o + 7];
            float a20 = ap[o + 8], a21 = ap[o + 9], a22 = ap[o + 10], a23 = ap[o + 11];
            float a30 = ap[o + 12], a31 = ap[o + 13], a32 = ap[o + 14], a33 = ap[o + 15];
            for (int j = 0; j < nc; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = fma4(a00, a01, a02, a03, x0, x1, x2, x3, c0[j]);
                c1[j] = fma4(a10, a11, a12, a13, x0, x1, x2, x3, c1[j]);
                c2[j] = fma4(a20, a21, a22, a23, x0, x1, x2, x3, c2[j]);
                c3[j] = fma4(a30, a31, a32, a33, x0, x1, x2, x3, c3[j]);
            }
        }
    }

    /** {@code c += sum_p ap[p] * bp[p]} for one row. */
    private static void kernel1(float[] c0, float[][] bp, float[] ap, int kcPad, int nc) {
        for (int p = 0; p < kcPad; p += 4) {
            float[] b0 = bp[p], b1 = bp[p + 1], b2 = bp[p + 2], b3 = bp[p + 3];
            float a0 = ap[p], a1 = ap[p + 1], a2 = ap[p + 2], a3 = ap[p + 3];
            for (int j = 0; j < nc; j++) {
                c0[j] = fma4(a0, a1, a2, a3, b0[j], b1[j], b2[j], b3[j], c0[j]);
            }
        }
    }

    /** {@code c + a0 x0 + a1 x1 + a2 x2 + a3 x3} as a chain of fused multiply-adds. */
    private static float fma4(float a0, float a1, float a2, float a3,
                              float x0, float x1, float x2, float x3, float c) {
        return Math.fma(a3, x3, Math.fma(a2, x2, Math.fma(a1, x1, Math.fma(a0, x0, c))));
    }

    // ------------------------------------------------------------------------------------------
    // double: the same code with double (Java has no generics over primitives)

    /** Per-thread scratch: packed B rows, four C rows, packed A for four rows. */
    private static final class DoubleWork {
        final double[][] b = new double[KC_D][NC_D];
        final double[][] c = new double[MR][NC_D];
        final double[] a = new double[MR * KC_D];
    }

    /** C = alpha op(A) op(B) + beta C on the calling thread; m, n, k > 0 and alpha != 0. */
    private static void dgemmSerial(boolean transA, boolean transB, int m, int n, int k,
                                    double alpha, double[] a, int aOff, int lda,
                                    double[] b, int bOff, int ldb,
                                    double beta, double[] c, int cOff, int ldc) {
        if (n < NARROW_N && m > n) {
            // Few columns: compute C^T = op(B)^T op(A)^T so the vector loops run along m.
            dgemmBlocked(!transB, !transA, n, m, k, alpha, b, bOff, ldb, a, aOff, lda,
                    beta, c, cOff, ldc, true);
        } else {
            dgemmBlocked(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb,
                    beta, c, cOff, ldc, false);
        }
    }

    /**
     * The blocked GEMM D = alpha op(A) op(B) + beta D, where D is C, or C^T when
     * {@code transC} (then D[i][j] is {@code c[cOff + j*ldc + i]}).
     */
    private static void dgemmBlocked(boolean transA, boolean transB, int m, int n, int k,
                                     double alpha, double[] a, int aOff, int lda,
                                     double[] b, int bOff, int ldb,
                                     double beta, double[] c, int cOff, int ldc, boolean transC) {
        DoubleWork w = DOUBLE_WORK.get();
        double[][] bp = w.b, ct = w.c;
        double[] ap = w.a;
        int ncStep = blockWidth(n, NC_D);
        for (int jc = 0; jc < n; jc += ncStep) {
            int nc = Math.min(ncStep, n - jc);
            for (int pc = 0; pc < k; pc += KC_D) {
                int kc = Math.min(KC_D, k - pc);
                int kcPad = (kc + 3) & ~3;
                boolean first = pc == 0;
                packB(transB, b, bOff, ldb, pc, kc, kcPad, jc, nc, bp);
                int i = 0;
                for (; i + MR <= m; i += MR) {
                    packA4(transA, a, aOff, lda, alpha, i, pc, kc, kcPad, ap);
                    loadC(c, cOff, ldc, transC, i, MR, jc, nc, ct, first, beta);
                    kernel4(ct[0], ct[1], ct[2], ct[3], bp, ap, kcPad, nc);
                    storeC(c, cOff, ldc, transC, i, MR, jc, nc, ct);
                }
                for (; i < m; i++) {
                    packA1(transA, a, aOff, lda, alpha, i, pc, kc, kcPad, ap);
                    loadC(c, cOff, ldc, transC, i, 1, jc, nc, ct, first, beta);
                    kernel1(ct[0], bp, ap, kcPad, nc);
                    storeC(c, cOff, ldc, transC, i, 1, jc, nc, ct);
                }
            }
        }
    }

    /**
     * {@code bp[p][j] = op(B)[pc + p][jc + j]} for {@code p < kc, j < nc}; rows
     * {@code kc..kcPad-1} zeroed.
     */
    private static void packB(boolean transB, double[] b, int bOff, int ldb, int pc, int kc,
                              int kcPad, int jc, int nc, double[][] bp) {
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                System.arraycopy(b, bOff + (pc + p) * ldb + jc, bp[p], 0, nc);
            }
        } else {
            // op(B)[p][j] = b[bOff + j*ldb + p]: eight columns at a time, each read along p.
            int j = 0;
            for (; j + 8 <= nc; j += 8) {
                int s0 = bOff + (jc + j) * ldb + pc, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
                int s4 = s3 + ldb, s5 = s4 + ldb, s6 = s5 + ldb, s7 = s6 + ldb;
                for (int p = 0; p < kc; p++) {
                    double[] row = bp[p];
                    row[j] = b[s0 + p];
                    row[j + 1] = b[s1 + p];
                    row[j + 2] = b[s2 + p];
                    row[j + 3] = b[s3 + p];
                    row[j + 4] = b[s4 + p];
                    row[j + 5] = b[s5 + p];
                    row[j + 6] = b[s6 + p];
                    row[j + 7] = b[s7 + p];
                }
            }
            for (; j < nc; j++) {
                int s = bOff + (jc + j) * ldb + pc;
                for (int p = 0; p < kc; p++) {
                    bp[p][j] = b[s + p];
                }
            }
        }
        for (int p = kc; p < kcPad; p++) {
            Arrays.fill(bp[p], 0, nc, 0d);
        }
    }

    /**
     * Packs {@code alpha op(A)[i..i+3][pc..pc+kc-1]} as {@code ap[(p/4)*16 + r*4 + p%4]},
     * zero-padded to {@code kcPad}.
     */
    private static void packA4(boolean transA, double[] a, int aOff, int lda, double alpha,
                               int i, int pc, int kc, int kcPad, double[] ap) {
        if (transA) {
            int s = aOff + pc * lda + i;
            for (int p = 0; p < kc; p++, s += lda) {
                int o = (p >> 2) * 16 + (p & 3);
                ap[o] = alpha * a[s];
                ap[o + 4] = alpha * a[s + 1];
                ap[o + 8] = alpha * a[s + 2];
                ap[o + 12] = alpha * a[s + 3];
            }
        } else {
            for (int r = 0; r < MR; r++) {
                int s = aOff + (i + r) * lda + pc;
                for (int p = 0; p < kc; p++) {
                    ap[(p >> 2) * 16 + r * 4 + (p & 3)] = alpha * a[s + p];
                }
            }
        }
        for (int p = kc; p < kcPad; p++) {
            int o = (p >> 2) * 16 + (p & 3);
            ap[o] = 0d;
            ap[o + 4] = 0d;
            ap[o + 8] = 0d;
            ap[o + 12] = 0d;
        }
    }

    /** Packs {@code alpha op(A)[i][pc..pc+kc-1]} as {@code ap[p]}, zero-padded to kcPad. */
    private static void packA1(boolean transA, double[] a, int aOff, int lda, double alpha,
                               int i, int pc, int kc, int kcPad, double[] ap) {
        if (transA) {
            int s = aOff + pc * lda + i;
            for (int p = 0; p < kc; p++, s += lda) {
                ap[p] = alpha * a[s];
            }
        } else {
            int s = aOff + i * lda + pc;
            for (int p = 0; p < kc; p++) {
                ap[p] = alpha * a[s + p];
            }
        }
        Arrays.fill(ap, kc, kcPad, 0d);
    }

    /**
     * Copies rows {@code i..i+rows-1}, columns {@code jc..jc+nc-1} of D (C or C^T) into
     * {@code ct}; on the first k block applies beta, and for beta == 0 does not read C at all.
     */
    private static void loadC(double[] c, int cOff, int ldc, boolean transC, int i, int rows,
                              int jc, int nc, double[][] ct, boolean first, double beta) {
        if (first && beta == 0d) {
            for (int r = 0; r < rows; r++) {
                Arrays.fill(ct[r], 0, nc, 0d);
            }
            return;
        }
        if (!transC) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(c, cOff + (i + r) * ldc + jc, ct[r], 0, nc);
            }
        } else {
            for (int j = 0, s = cOff + jc * ldc + i; j < nc; j++, s += ldc) {
                for (int r = 0; r < rows; r++) {
                    ct[r][j] = c[s + r];
                }
            }
        }
        if (first && beta != 1d) {
            for (int r = 0; r < rows; r++) {
                double[] row = ct[r];
                for (int j = 0; j < nc; j++) {
                    row[j] *= beta;
                }
            }
        }
    }

    /** Writes {@code ct} back to D (C or C^T); the inverse of {@link #loadC}. */
    private static void storeC(double[] c, int cOff, int ldc, boolean transC, int i, int rows,
                               int jc, int nc, double[][] ct) {
        if (!transC) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(ct[r], 0, c, cOff + (i + r) * ldc + jc, nc);
            }
        } else {
            for (int j = 0, s = cOff + jc * ldc + i; j < nc; j++, s += ldc) {
                for (int r = 0; r < rows; r++) {
                    c[s + r] = ct[r][j];
                }
            }
        }
    }

    /** {@code c_r += sum_p ap4[p][r] * bp[p]} for four rows; C2 vectorizes the j loop. */
    private static void kernel4(double[] c0, double[] c1, double[] c2, double[] c3, double[][] bp,
                                double[] ap, int kcPad, int nc) {
        for (int p = 0, o = 0; p < kcPad; p += 4, o += 16) {
            double[] b0 = bp[p], b1 = bp[p + 1], b2 = bp[p + 2], b3 = bp[p + 3];
            double a00 = ap[o], a01 = ap[o + 1], a02 = ap[o + 2], a03 = ap[o + 3];
            double a10 = ap[o + 4], a11 = ap[o + 5], a12 = ap[o + 6], a13 = ap[o + 7];
            double a20 = ap[o + 8], a21 = ap[o + 9], a22 = ap[o + 10], a23 = ap[o + 11];
            double a30 = ap[o + 12], a31 = ap[o + 13], a32 = ap[o + 14], a33 = ap[o + 15];
            for (int j = 0; j < nc; j++) {
                double x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = fma4(a00, a01, a02, a03, x0, x1, x2, x3, c0[j]);
                c1[j] = fma4(a10, a11, a12, a13, x0, x1, x2, x3, c1[j]);
                c2[j] = fma4(a20, a21, a22, a23, x0, x1, x2, x3, c2[j]);
                c3[j] = fma4(a30, a31, a32, a33, x0, x1, x2, x3, c3[j]);
            }
        }
    }

    /** {@code c += sum_p ap[p] * bp[p]} for one row. */
    private static void kernel1(double[] c0, double[][] bp, double[] ap, int kcPad, int nc) {
        for (int p = 0; p < kcPad; p += 4) {
            double[] b0 = bp[p], b1 = bp[p + 1], b2 = bp[p + 2], b3 = bp[p + 3];
            double a0 = ap[p], a1 = ap[p + 1], a2 = ap[p + 2], a3 = ap[p + 3];
            for (int j = 0; j < nc; j++) {
                c0[j] = fma4(a0, a1, a2, a3, b0[j], b1[j], b2[j], b3[j], c0[j]);
            }
        }
    }

    /** {@code c + a0 x0 + a1 x1 + a2 x2 + a3 x3} as a chain of fused multiply-adds. */
    private static double fma4(double a0, double a1, double a2, double a3,
                              double x0, double x1, double x2, double x3, double c) {
        return Math.fma(a3, x3, Math.fma(a2, x2, Math.fma(a1, x1, Math.fma(a0, x0, c))));
    }
}
