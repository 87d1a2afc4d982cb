package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.cpu.openblas.OpenBlas;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks every {@link Blas} against a naive double-precision triple loop: odd and degenerate
 * sizes, all four transpose combinations, offsets and padded leading dimensions, general
 * alpha/beta, {@code beta == 0} over NaN-poisoned C, {@code alpha == 0} over NaN-poisoned A and
 * B, float and double; padding around C must stay untouched.
 */
class BlasTest {

    /** {m, n, k}: odd sizes, mixed shapes, degenerate ones, and multi-block / parallel ones. */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {3, 3, 3}, {17, 17, 17}, {33, 33, 33}, {65, 65, 65}, {130, 130, 130},
            {1, 17, 33}, {33, 1, 17}, {17, 33, 1}, {65, 3, 130}, {3, 130, 65}, {130, 65, 17},
            {5, 7, 0}, {0, 5, 7}, {5, 0, 7}, {0, 0, 0}, {1, 1, 0},
            {70, 9, 50},    // few columns: JavaBlas computes C^T
            {6, 9, 300},    // several k blocks: beta applied once
            {7, 530, 5},    // several n blocks (float)
            {135, 70, 450}, // > 4M multiply-adds: JavaBlas splits along m with 2+ threads
            {21, 530, 380}, // > 4M multiply-adds, few rows: split along n
    };
    private static final boolean[] BOOLS = {false, true};
    /**
     * {alpha, beta}: plain, general, accumulate, overwrite (NaN C), alpha = 0 (NaN A, B) with
     * and without beta. Odd entries are the ones kept for the large shapes.
     */
    private static final double[][] ALPHA_BETA = {
            {1, 0}, {0.5, -1.5}, {-2, 1}, {1.25, 0}, {0, 2}, {0, 0},
    };

    @Test
    void javaSingleThread() {
        sweep(new JavaBlas(1));
    }

    @Test
    void javaTwoThreads() {
        sweep(new JavaBlas(2));
    }

    @Test
    void javaThreeThreads() {
        sweep(new JavaBlas(3));
    }

    @Test
    void openBlas() {
        OpenBlas blas = loadOpenBlas();
        sweep(blas);
        if (blas.canSetThreads()) {
            int before = blas.threads();
            try {
                blas.setThreads(1);
                assertEquals(1, blas.threads());
                sweep(blas);
            } finally {
                blas.setThreads(Math.max(1, before));
            }
        }
    }

    /** Splitting C across threads gives the same products, for every transpose and both split directions. */
    @Test
    void splitAcrossThreads() {
        for (Blas inner : new Blas[]{new JavaBlas(1), Blases.openBlas().orElse(null)}) {
            if (inner == null) continue;
            Blas split = new SplitBlas(inner, 3);
            for (int[] mnk : new int[][]{{301, 130, 97}, {130, 301, 97}, {257, 257, 64}}) {
                for (boolean ta : new boolean[]{false, true}) {
                    for (boolean tb : new boolean[]{false, true}) {
                        Case c = new Case(mnk[0], mnk[1], mnk[2], ta, tb, 1.5, 0.5, new SplittableRandom(mnk[0] + 7L * mnk[1]));
                        c.checkFloat(split);
                        c.checkDouble(split);
                    }
                }
            }
        }
    }

    /** NaN left in per-thread scratch by one call must not reach the next (k padding). */
    @Test
    void javaScratchDoesNotLeakBetweenCalls() {
        JavaBlas blas = new JavaBlas(1);
        float[] nan = new float[64];
        Arrays.fill(nan, Float.NaN);
        float[] c = new float[16];
        blas.sgemm(false, false, 4, 4, 8, 1f, nan, 0, 8, nan, 0, 4, 0f, c, 0, 4);
        assertTrue(Float.isNaN(c[0]));
        double[] dnan = new double[64];
        Arrays.fill(dnan, Double.NaN);
        double[] dc = new double[16];
        blas.dgemm(false, false, 4, 4, 8, 1d, dnan, 0, 8, dnan, 0, 4, 0d, dc, 0, 4);
        assertTrue(Double.isNaN(dc[0]));
        float[] ones = new float[64];
        Arrays.fill(ones, 1f);
        c = new float[20]; // m = 5: the last row goes through the one-row path
        blas.sgemm(false, false, 5, 4, 5, 1f, ones, 0, 5, ones, 0, 4, 0f, c, 0, 4);
        double[] dones = new double[64];
        Arrays.fill(dones, 1d);
        dc = new double[20];
        blas.dgemm(false, false, 5, 4, 5, 1d, dones, 0, 5, dones, 0, 4, 0d, dc, 0, 4);
        for (int i = 0; i < 20; i++) {
            assertEquals(5f, c[i]);
            assertEquals(5d, dc[i]);
        }
    }

    @Test
    void javaRejectsBadArguments() {
        rejectsBadArguments(new JavaBlas(1));
    }

    @Test
    void openBlasRejectsBadArguments() {
        rejectsBadArguments(loadOpenBlas());
    }

    @Test
    void blasesJavaIsShared() {
        assertSame(Blases.java(), Blases.java());
        assertEquals("java", Blases.java().name());
        assertTrue(Blases.threads() >= 1);
    }

    @Test
    void blasesBestMatchesAvailability() {
        String choice = System.getProperty(Blases.BLAS_PROPERTY, "auto");
        Assumptions.assumeTrue(choice.equals("auto"), "elbo4j.blas=" + choice);
        Blas best = Blases.best();
        assertNotNull(best);
        assertTrue(best.name().startsWith(Blases.openBlas().isPresent() ? "openblas" : "java"), best.name());
        assertSame(best, Blases.best());
    }

    @Test
    void missingLibraryIsReportedNotThrown() {
        List<String> reasons = new ArrayList<>();
        String old = System.getProperty(OpenBlas.LIBRARY_PROPERTY);
        System.setProperty(OpenBlas.LIBRARY_PROPERTY, "/nonexistent/libopenblas.so.0");
        try {
            assertFalse(OpenBlas.load(reasons).isPresent());
        } finally {
            if (old == null) {
                System.clearProperty(OpenBlas.LIBRARY_PROPERTY);
            } else {
                System.setProperty(OpenBlas.LIBRARY_PROPERTY, old);
            }
        }
        assertEquals(1, reasons.size(), reasons.toString());
        assertTrue(reasons.get(0).contains("/nonexistent/libopenblas.so.0"), reasons.get(0));
    }

    private static OpenBlas loadOpenBlas() {
        Optional<OpenBlas> blas = Blases.openBlas();
        Assumptions.assumeTrue(blas.isPresent(),
                () -> "OpenBLAS not loadable: " + Blases.openBlasReasons());
        return blas.get();
    }

    // ------------------------------------------------------------------------------------------

    /** All cases with their references, built once and shared by the implementations. */
    private static final List<Case> CASES = buildCases();

    private static List<Case> buildCases() {
        SplittableRandom rnd = new SplittableRandom(42);
        List<Case> cases = new ArrayList<>();
        for (int[] s : SHAPES) {
            boolean large = (long) s[0] * s[1] * s[2] > 100_000;
            for (boolean ta : BOOLS) {
                for (boolean tb : BOOLS) {
                    for (int ab = 0; ab < ALPHA_BETA.length; ab++) {
                        if (large && ab % 2 == 0) {
                            continue; // big shapes: general alpha/beta, beta=0 and alpha=0 only
                        }
                        cases.add(new Case(s[0], s[1], s[2], ta, tb,
                                ALPHA_BETA[ab][0], ALPHA_BETA[ab][1], rnd));
                    }
                }
            }
        }
        return cases;
    }

    private static void sweep(Blas blas) {
        for (Case c : CASES) {
            c.checkFloat(blas);
            c.checkDouble(blas);
        }
    }

    /** One GEMM problem with padded storage, checked in float and in double. */
    private static final class Case {
        final int m, n, k;
        final boolean ta, tb;
        final double alpha, beta;
        final int aRows, aCols, bRows, bCols;
        final int aOff = 3, bOff = 7, cOff = 5;
        final int lda, ldb, ldc;
        final double[] a, b, c; // full arrays incl. padding; NaN where poisoned
        final double[] ref;     // expected C (full array)
        final double[] rowNormA, colNormB; // |op(A)[i,:]|, |op(B)[:,j]| for the tolerance

        Case(int m, int n, int k, boolean ta, boolean tb, double alpha, double beta,
             SplittableRandom rnd) {
            this.m = m;
            this.n = n;
            this.k = k;
            this.ta = ta;
            this.tb = tb;
            this.alpha = alpha;
            this.beta = beta;
            aRows = ta ? k : m;
            aCols = ta ? m : k;
            bRows = tb ? n : k;
            bCols = tb ? k : n;
            lda = Math.max(1, aCols) + 5;
            ldb = Math.max(1, bCols) + 2;
            ldc = Math.max(1, n) + 3;
            a = fill(aOff + aRows * lda + 4, rnd);
            b = fill(bOff + bRows * ldb + 4, rnd);
            c = fill(cOff + m * ldc + 4, rnd);
            if (alpha == 0) {
                Arrays.fill(a, Double.NaN); // must not be read
                Arrays.fill(b, Double.NaN);
            }
            if (beta == 0) {
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, Double.NaN);
                }
            }
            rowNormA = new double[m];
            colNormB = new double[n];
            for (int p = 0; p < k && alpha != 0; p++) {
                for (int i = 0; i < m; i++) {
                    rowNormA[i] += opA(i, p) * opA(i, p);
                }
                for (int j = 0; j < n; j++) {
                    colNormB[j] += opB(p, j) * opB(p, j);
                }
            }
            ref = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    if (alpha != 0) {
                        for (int p = 0; p < k; p++) {
                            s += opA(i, p) * opB(p, j);
                        }
                    }
                    int ci = cOff + i * ldc + j;
                    ref[ci] = alpha * s + (beta == 0 ? 0 : beta * c[ci]);
                }
            }
        }

        private static double[] fill(int len, SplittableRandom rnd) {
            double[] x = new double[len];
            for (int i = 0; i < len; i++) {
                x[i] = (float) (rnd.nextDouble() * 2 - 1); // exactly representable as float
            }
            return x;
        }

        double opA(int i, int p) {
            return ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }

        double opB(int p, int j) {
            return tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }

        /** Per-element error bound: a few eps * (sqrt(k) |alpha| |a_i| |b_j| + |beta c|). */
        double tolerance(int i, int j, double eps) {
            double cij = beta == 0 ? 0 : Math.abs(beta * c[cOff + i * ldc + j]);
            if (alpha == 0 || k == 0) {
                return 2 * eps * cij;
            }
            double ab = Math.sqrt(rowNormA[i] * colNormB[j]);
            return 8 * eps * ((Math.sqrt(k) + 1) * Math.abs(alpha) * ab + cij);
        }

        void checkFloat(Blas blas) {
            float[] fa = toFloat(a), fb = toFloat(b), fc = toFloat(c);
            blas.sgemm(ta, tb, m, n, k, (float) alpha, fa, aOff, lda, fb, bOff, ldb,
                    (float) beta, fc, cOff, ldc);
            double[] got = new double[fc.length];
            for (int i = 0; i < fc.length; i++) {
                got[i] = fc[i];
            }
            compare(blas, "sgemm", got, Math.ulp(1f));
        }

        void checkDouble(Blas blas) {
            double[] dc = c.clone();
            blas.dgemm(ta, tb, m, n, k, alpha, a.clone(), aOff, lda, b.clone(), bOff, ldb,
                    beta, dc, cOff, ldc);
            compare(blas, "dgemm", dc, Math.ulp(1d));
        }

        private static float[] toFloat(double[] x) {
            float[] f = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                f[i] = (float) x[i];
            }
            return f;
        }

        private void compare(Blas blas, String op, double[] got, double eps) {
            for (int idx = 0; idx < got.length; idx++) {
                int rel = idx - cOff;
                int i = rel >= 0 ? rel / ldc : -1;
                int j = rel >= 0 ? rel % ldc : -1;
                if (!(i >= 0 && i < m && j < n)) {
                    // padding: untouched, bit for bit (inputs are float-exact, never NaN there)
                    if (Double.compare(got[idx], c[idx]) != 0) {
                        fail(describe(blas, op) + ": padding element " + idx + " changed");
                    }
                    continue;
                }
                double want = ref[idx];
                double tol = tolerance(i, j, eps) + Double.MIN_NORMAL;
                if (!(Math.abs(got[idx] - want) <= tol)) {
                    fail(describe(blas, op) + ": C[" + i + "," + j + "] = " + got[idx]
                            + ", expected " + want + " +- " + tol);
                }
            }
        }

        private String describe(Blas blas, String op) {
            return blas + " " + op + " m=" + m + " n=" + n + " k=" + k + " transA=" + ta
                    + " transB=" + tb + " alpha=" + alpha + " beta=" + beta;
        }
    }

    // ------------------------------------------------------------------------------------------

    private static void rejectsBadArguments(Blas blas) {
        float[] x = new float[16];
        double[] d = new double[16];
        assertThrows(IllegalArgumentException.class,
                () -> blas.sgemm(false, false, -1, 2, 2, 1f, x, 0, 2, x, 0, 2, 0f, x, 0, 2));
        assertThrows(IllegalArgumentException.class, // lda < k
                () -> blas.sgemm(false, false, 2, 2, 3, 1f, x, 0, 2, x, 0, 2, 0f, x, 0, 2));
        assertThrows(IllegalArgumentException.class, // lda < m for transposed A
                () -> blas.dgemm(true, false, 3, 2, 2, 1d, d, 0, 2, d, 0, 2, 0d, d, 0, 2));
        assertThrows(IllegalArgumentException.class, // ldc < max(1, n)
                () -> blas.sgemm(false, false, 2, 0, 2, 1f, x, 0, 2, x, 0, 1, 0f, x, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> blas.dgemm(false, false, 2, 2, 2, 1d, d, -1, 2, d, 0, 2, 0d, d, 0, 2));
        assertThrows(IndexOutOfBoundsException.class, // C does not fit
                () -> blas.sgemm(false, false, 4, 4, 2, 1f, x, 0, 2, x, 0, 4, 0f, x, 1, 4));
        assertThrows(IndexOutOfBoundsException.class, // B does not fit (transposed)
                () -> blas.dgemm(false, true, 2, 9, 2, 1d, d, 0, 2, d, 0, 2, 0d, new double[18],
                        0, 9));
    }
}
