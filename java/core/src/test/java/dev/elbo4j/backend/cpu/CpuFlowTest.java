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

    // ---- NICE ops -------------------------------------------------------------------------------

    /** Even columns to a, odd to b; with a key each value is uniform in its pixel's cell [p/256, (p+1)/256). */
    @Test
    void niceSplitDequantizesIntoThePixelsCell() {
        int n = 50, d = 7;
        double[] px = new double[n * d];
        double[] r = Rand.uniform(3, px.length, 0, 256);
        for (int i = 0; i < px.length; i++) px[i] = Math.floor(r[i]) / 255.0;
        for (DType dt : new DType[]{DType.F64, DType.F32}) {
            Tensor x = dt == DType.F64 ? up(px, n, d) : be.upload(Rand.toFloat(px), Shape.of(n, d));
            Tensor a = be.alloc(dt, n, 4), b = be.alloc(dt, n, 3);
            be.niceSplit(x, null, a, b);
            double[] av = be.download(a), bv = be.download(b), xv = be.download(x);
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < d; c++) assertEquals(xv[i * d + c], c % 2 == 0 ? av[i * 4 + c / 2] : bv[i * 3 + c / 2]);
            }
            be.niceSplit(x, new dev.elbo4j.rng.RngKey(1, dev.elbo4j.rng.Streams.LATENT, 0), a, b);
            av = be.download(a);
            bv = be.download(b);
            double mean = 0;
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < d; c++) {
                    double v = c % 2 == 0 ? av[i * 4 + c / 2] : bv[i * 3 + c / 2], p = Math.rint(255 * px[i * d + c]);
                    assertTrue(v >= p / 256 && v < (p + 1) / 256, dt + " value " + v + " for pixel " + p);
                    mean += (256 * v - p) / (n * d);
                }
            }
            assertEquals(0.5, mean, 0.05, "the noise u is uniform on [0, 1)");
        }
        var e = assertThrows(IllegalArgumentException.class, () -> be.niceSplit(be.alloc(DType.F64, 2, 7), null,
                be.alloc(DType.F64, 2, 3), be.alloc(DType.F64, 2, 3)));
        assertTrue(e.getMessage().startsWith("niceSplit of x"), e.getMessage());
    }

    @Test
    void niceAddAddsAndSubtracts() {
        Tensor y = up(new double[]{1, 2, 3}, 3), s = up(new double[]{0.5, -1, 2}, 3);
        be.niceAdd(y, s, 1);
        assertEquals(java.util.List.of(1.5, 1.0, 5.0), java.util.Arrays.stream(be.download(y)).boxed().toList());
        be.niceAdd(y, s, -1);
        assertEquals(java.util.List.of(1.0, 2.0, 3.0), java.util.Arrays.stream(be.download(y)).boxed().toList());
        assertThrows(IllegalArgumentException.class, () -> be.niceAdd(y, up(new double[]{1, 2}, 2), 1));
    }

    /** The prior layer's log-density against the closed forms, and its gradient against central differences. */
    @Test
    void nicePriorValueAndGradient() {
        int n = 3, c = 4;
        for (boolean logistic : new boolean[]{true, false}) {
            Tensor h = up(Rand.normal(1, n * c, 2), n, c), s = up(Rand.normal(2, c, 0.4), c);
            Tensor lp = up(new double[]{1, 2, 3}, n);
            be.nicePrior(h, s, logistic, true, 0.5, lp, null, null);
            double[] hv = be.download(h), sv = be.download(s), got = be.download(lp);
            for (int r = 0; r < n; r++) {
                double want = r + 1;
                for (int j = 0; j < c; j++) {
                    double z = Math.exp(sv[j]) * hv[r * c + j];
                    double logistic1 = -z - 2 * Math.log1p(Math.exp(-z)); // log(e^-z / (1 + e^-z)^2)
                    want += (logistic ? logistic1 : -0.5 * z * z - 0.5 * Math.log(2 * Math.PI)) + sv[j];
                }
                assertEquals(want, got[r], 1e-12, "row " + r + (logistic ? " logistic" : " gaussian") + " (accumulated)");
            }
            Tensor dh = be.alloc(DType.F64, n, c), ds = be.alloc(DType.F64, c);
            java.util.function.DoubleSupplier loss = () -> {
                be.nicePrior(h, s, logistic, false, 0.5, lp, null, null);
                return -0.5 * be.sum(lp);
            };
            be.nicePrior(h, s, logistic, false, 0.5, lp, dh, ds);
            GradCheck.check("dh", be, h, be.download(dh), loss, 1e-6, 1e-7);
            GradCheck.check("ds", be, s, be.download(ds), loss, 1e-6, 1e-7);
        }
    }

    /** Prior samples: h exp(s) has the prior's mean 0 and variance (pi^2/3 logistic, 1 normal). */
    @Test
    void nicePriorSampleHasThePriorsMoments() {
        int n = 20000, c = 2;
        Tensor s = up(new double[]{0.7, -0.4}, c);
        for (boolean logistic : new boolean[]{true, false}) {
            Tensor h = be.alloc(DType.F64, n, c);
            be.nicePriorSample(new dev.elbo4j.rng.RngKey(4, dev.elbo4j.rng.Streams.SAMPLE, 1), s, logistic, h);
            double[] hv = be.download(h);
            double want = logistic ? Math.PI * Math.PI / 3 : 1;
            for (int j = 0; j < c; j++) {
                double m = 0, v = 0, e = Math.exp(j == 0 ? 0.7 : -0.4);
                for (int r = 0; r < n; r++) m += hv[r * c + j] * e / n;
                for (int r = 0; r < n; r++) v += Math.pow(hv[r * c + j] * e - m, 2) / n;
                assertEquals(0, m, 4 * Math.sqrt(want / n), "mean, column " + j);
                assertEquals(want, v, 0.05 * want, (logistic ? "logistic" : "normal") + " variance, column " + j);
            }
        }
    }
}
