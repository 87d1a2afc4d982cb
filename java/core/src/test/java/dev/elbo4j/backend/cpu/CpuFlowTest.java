package dev.elbo4j.backend.cpu;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The planar-flow ops of the CPU reference: the log-determinant against a numerical Jacobian,
 * the invertibility constraint, the backward against finite differences (F64), F32 against F64,
 * the KL / log-ratio bookkeeping, and shape errors.
 */
class CpuFlowTest {
    private final CpuBackend be = new CpuBackend();
    private static final int Z = 4, K = 3;

    private Tensor up(double[] v, int... dims) {
        return be.upload(v, Shape.of(dims));
    }

    /** zK of z0 (one row) under the flow (u, w, b). */
    private double[] flow(double[] z0, Tensor u, Tensor w, Tensor b) {
        Tensor z = up(z0, 1, z0.length), zk = be.alloc(DType.F64, 1, z0.length), ld = be.alloc(DType.F64, 1);
        be.planarForward(z, u, w, b, zk, ld, null, null);
        return be.download(zk);
    }

    /** log|det A| of a small square matrix by Gaussian elimination with partial pivoting. */
    private static double logAbsDet(double[][] a) {
        int n = a.length;
        double s = 0;
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
            double[] t = a[c];
            a[c] = a[p];
            a[p] = t;
            s += Math.log(Math.abs(a[c][c]));
            for (int r = c + 1; r < n; r++) {
                double f = a[r][c] / a[c][c];
                for (int j = c; j < n; j++) a[r][j] -= f * a[c][j];
            }
        }
        return s;
    }

    /**
     * For random parameters (including w.u far below -1, where the constraint on u_hat matters),
     * the summed log-det equals log|det dzK/dz0| of the central-difference Jacobian.
     */
    @Test
    void logDetMatchesNumericalJacobian() {
        for (int trial = 0; trial < 6; trial++) {
            double[] wv = Rand.normal(10 + trial, K * Z, 1.0);
            double[] uv = Rand.normal(20 + trial, K * Z, 1.5);
            if (trial % 2 == 1) for (int i = 0; i < uv.length; i++) uv[i] = -2 * wv[i]; // w.u << -1
            Tensor u = up(uv, K, Z), w = up(wv, K, Z), b = up(Rand.normal(30 + trial, K, 0.5), K);
            int rows = 3;
            double[] z0 = Rand.normal(40 + trial, rows * Z, 1.0);
            Tensor zk = be.alloc(DType.F64, rows, Z), ld = be.alloc(DType.F64, rows);
            be.planarForward(up(z0, rows, Z), u, w, b, zk, ld, null, null);
            double[] logDet = be.download(ld);
            double h = 1e-6;
            for (int r = 0; r < rows; r++) {
                double[][] jac = new double[Z][Z];
                for (int j = 0; j < Z; j++) {
                    double[] p = java.util.Arrays.copyOfRange(z0, r * Z, r * Z + Z), m = p.clone();
                    p[j] += h;
                    m[j] -= h;
                    double[] fp = flow(p, u, w, b), fm = flow(m, u, w, b);
                    for (int i = 0; i < Z; i++) jac[i][j] = (fp[i] - fm[i]) / (2 * h);
                }
                assertEquals(logAbsDet(jac), logDet[r], 1e-7, "trial " + trial + ", row " + r);
            }
        }
    }

    /**
     * w . u_hat >= -1 for any u, w: each step's Jacobian determinant 1 + h'(a) w.u_hat is then
     * positive, so the flow is invertible. Checked through the op: for one step with w.u very
     * negative, det > 0 for every a, and det = 1 + (1 - tanh^2 a) m(w.u) exactly.
     */
    @Test
    void constraintKeepsEveryStepInvertible() {
        for (int trial = 0; trial < 50; trial++) {
            double[] wv = Rand.normal(100 + trial, Z, 1.0), uv = Rand.normal(200 + trial, Z, 3.0);
            if (trial % 3 == 0) for (int i = 0; i < Z; i++) uv[i] = -(1 + trial) * wv[i];
            double alpha = 0;
            for (int i = 0; i < Z; i++) alpha += wv[i] * uv[i];
            double m = -1 + CpuFlow.softplus(alpha);
            assertTrue(m >= -1, "m(" + alpha + ") = " + m);
            // z0 = 0: a = b; pick b = 0 so tanh' = 1, the extreme case 1 + m.
            Tensor zk = be.alloc(DType.F64, 1, Z), ld = be.alloc(DType.F64, 1);
            be.planarForward(be.alloc(DType.F64, 1, Z), up(uv, 1, Z), up(wv, 1, Z), be.alloc(DType.F64, 1), zk, ld, null, null);
            double got = be.download(ld)[0];
            // 1 + m = softplus(alpha) > 0, computed without the cancellation of 1 + m
            assertEquals(Math.log(CpuFlow.softplus(alpha)), got, 1e-12 * Math.max(1, Math.abs(got)), "trial " + trial);
            assertTrue(Double.isFinite(got), "log det is finite, trial " + trial);
        }
    }

    /** The backward's dz0, dU, dW, dB against central differences of its loss, in F64. */
    @Test
    void backwardMatchesFiniteDifferences() {
        int rows = 5;
        Tensor u = up(Rand.normal(1, K * Z, 0.8), K, Z), w = up(Rand.normal(2, K * Z, 0.8), K, Z), b = up(Rand.normal(3, K, 0.3), K);
        Tensor z0 = up(Rand.normal(4, rows * Z, 1.0), rows, Z);
        double[] gK = Rand.normal(5, rows * Z, 1.0);
        Tensor dzK = up(gK, rows, Z);
        double weight = 0.37;
        Tensor zk = be.alloc(DType.F64, rows, Z), ld = be.alloc(DType.F64, rows), kl = be.alloc(DType.F64, rows);
        java.util.function.DoubleSupplier loss = () -> {
            be.fill(kl, 0);
            be.planarForward(z0, u, w, b, zk, ld, kl, null);
            double[] z = be.download(zk);
            double s = 0;
            for (int i = 0; i < z.length; i++) s += gK[i] * z[i];
            return s + weight * be.sum(kl);
        };
        Tensor dz0 = be.alloc(DType.F64, rows, Z), du = be.alloc(DType.F64, K, Z), dw = be.alloc(DType.F64, K, Z);
        Tensor db = be.alloc(DType.F64, K), scratch = be.alloc(DType.F64, rows, K * (2 * Z + 2));
        be.planarBackward(z0, u, w, b, dzK, weight, dz0, du, dw, db, scratch);
        GradCheck.check("dz0", be, z0, be.download(dz0), loss, 1e-6, 1e-6);
        GradCheck.check("dU", be, u, be.download(du), loss, 1e-6, 1e-6);
        GradCheck.check("dW", be, w, be.download(dw), loss, 1e-6, 1e-6);
        GradCheck.check("dB", be, b, be.download(db), loss, 1e-6, 1e-6);
    }

    /** kl[b] += the mean over samples of |zK|^2/2 - |z0|^2/2 - logDet; logRatio[r] -= the same per row. */
    @Test
    void klAndLogRatioBookkeeping() {
        int batch = 2, samples = 3, rows = batch * samples;
        Tensor u = up(Rand.normal(1, K * Z, 0.8), K, Z), w = up(Rand.normal(2, K * Z, 0.8), K, Z), b = up(Rand.normal(3, K, 0.3), K);
        double[] z0v = Rand.normal(6, rows * Z, 1.0);
        Tensor zk = be.alloc(DType.F64, rows, Z), ld = be.alloc(DType.F64, rows);
        Tensor kl = up(new double[]{0.25, -1.5}, batch), lr = up(Rand.normal(7, rows, 1.0), rows);
        double[] lr0 = be.download(lr);
        be.planarForward(up(z0v, rows, Z), u, w, b, zk, ld, kl, lr);
        double[] z = be.download(zk), l = be.download(ld), klv = be.download(kl), lrv = be.download(lr);
        double[] expect = {0.25, -1.5};
        for (int r = 0; r < rows; r++) {
            double sq = 0;
            for (int j = 0; j < Z; j++) sq += z[r * Z + j] * z[r * Z + j] - z0v[r * Z + j] * z0v[r * Z + j];
            double fk = 0.5 * sq - l[r];
            assertEquals(lr0[r] - fk, lrv[r], 1e-12, "logRatio " + r);
            expect[r % batch] += fk / samples;
        }
        assertEquals(expect[0], klv[0], 1e-12);
        assertEquals(expect[1], klv[1], 1e-12);
    }

    /** The F32 path agrees with the F64 reference within float rounding. */
    @Test
    void floatMatchesDouble() {
        int rows = 9, z = 7, k = 5;
        double[][] in = {Rand.normal(1, rows * z, 1), Rand.normal(2, k * z, 0.6), Rand.normal(3, k * z, 0.6),
                Rand.normal(4, k, 0.3), Rand.normal(5, rows * z, 1)};
        double[][] out64 = run(DType.F64, in, rows, z, k), out32 = run(DType.F32, in, rows, z, k);
        for (int o = 0; o < out64.length; o++) {
            double scale = 0;
            for (double v : out64[o]) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < out64[o].length; i++) {
                assertEquals(out64[o][i], out32[o][i], 2e-5 * Math.max(scale, 1), "output " + o + "[" + i + "]");
            }
        }
    }

    private double[][] run(DType dt, double[][] in, int rows, int z, int k) {
        Tensor[] t = new Tensor[in.length];
        int[][] shapes = {{rows, z}, {k, z}, {k, z}, {k}, {rows, z}};
        for (int i = 0; i < in.length; i++) {
            t[i] = dt == DType.F64 ? be.upload(in[i], Shape.of(shapes[i])) : be.upload(Rand.toFloat(in[i]), Shape.of(shapes[i]));
        }
        Tensor zk = be.alloc(dt, rows, z), ld = be.alloc(dt, rows), kl = be.alloc(dt, 3), lr = be.alloc(dt, rows);
        be.planarForward(t[0], t[1], t[2], t[3], zk, ld, kl, lr);
        Tensor dz0 = be.alloc(dt, rows, z), du = be.alloc(dt, k, z), dw = be.alloc(dt, k, z), db = be.alloc(dt, k);
        be.planarBackward(t[0], t[1], t[2], t[3], t[4], 0.3, dz0, du, dw, db, be.alloc(dt, rows, k * (2 * z + 2)));
        return new double[][]{be.download(zk), be.download(ld), be.download(kl), be.download(lr), be.download(dz0),
                be.download(du), be.download(dw), be.download(db)};
    }

    @Test
    void shapeErrorsNameTheTensor() {
        Tensor z0 = be.alloc(DType.F64, 2, Z), u = be.alloc(DType.F64, K, Z), w = be.alloc(DType.F64, K, Z), b = be.alloc(DType.F64, K);
        Tensor zk = be.alloc(DType.F64, 2, Z), ld = be.alloc(DType.F64, 2);
        var e = assertThrows(IllegalArgumentException.class,
                () -> be.planarForward(z0, be.alloc(DType.F64, K, Z + 1), w, b, zk, ld, null, null));
        assertTrue(e.getMessage().startsWith("u must be K x Z"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarForward(z0, u, w, b, zk, be.alloc(DType.F64, 3), null, null));
        assertTrue(e.getMessage().startsWith("logDet needs 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarForward(z0, u, w, b, zk, ld, be.alloc(DType.F64, 3), null));
        assertTrue(e.getMessage().startsWith("kl must have B"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarBackward(z0, u, w, b, zk, 1, be.alloc(DType.F64, 2, Z),
                be.alloc(DType.F64, K, Z), be.alloc(DType.F64, K, Z), be.alloc(DType.F64, K), be.alloc(DType.F64, 1)));
        assertTrue(e.getMessage().startsWith("scratch needs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.planarForward(z0, u, be.alloc(DType.F32, K, Z), b, zk, ld, null, null));
        assertTrue(e.getMessage().contains("one dtype"), e.getMessage());
    }
}
