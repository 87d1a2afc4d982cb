package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Corruption;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The autoencoder.cu group on the CPU reference: corruption statistics, its noise layout,
 * determinism and F32 against F64; the sparsity penalty and its gradient against closed forms and
 * finite differences.
 */
class AutoencoderOpsTest {
    private final CpuBackend be = new CpuBackend();

    private static double kl(double p, double q) {
        return p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
    }

    @Test
    void maskZeroesAboutLevelOfThePixelsAndKeepsTheRest() {
        int rows = 130, d = 784, n = rows * d;
        double level = 0.3;
        double[] x = Rand.uniform(1, n, 0.01, 1);  // no pixel is 0 before masking
        Tensor out = be.alloc(DType.F64, rows, d);
        be.corrupt(Corruption.MASK, level, new RngKey(5, Streams.CORRUPT, 3), be.upload(x, Shape.of(rows, d)), out);
        double[] o = be.download(out);
        int zero = 0;
        for (int j = 0; j < n; j++) {
            if (o[j] == 0) zero++;
            else assertEquals(x[j], o[j], 0, "kept pixel " + j + " unchanged");
        }
        double frac = (double) zero / n, sd = Math.sqrt(level * (1 - level) / n);
        assertEquals(level, frac, 5 * sd, "masked fraction within 5 binomial standard deviations");
        // The mask is element j's uniform of the key, as the kernel draws it.
        float[] u = new float[n];
        Philox.uniforms(new RngKey(5, Streams.CORRUPT, 3), 0, u, 0, n);
        for (int j = 0; j < n; j++) assertEquals(u[j] < level, o[j] == 0, "mask of element " + j);
    }

    @Test
    void gaussianNoiseHasMeanZeroAndVarianceLevelSquared() {
        int rows = 128, d = 784, n = rows * d;
        double level = 0.4;
        double[] x = Rand.uniform(2, n, 0, 1);
        Tensor out = be.alloc(DType.F64, rows, d);
        RngKey key = new RngKey(9, Streams.CORRUPT, 11);
        be.corrupt(Corruption.GAUSSIAN, level, key, be.upload(x, Shape.of(rows, d)), out);
        double[] o = be.download(out);
        double[] eps = new double[n];
        Philox.normals(key, 0, eps, 0, n);
        double s = 0, s2 = 0;
        for (int j = 0; j < n; j++) {
            assertEquals(x[j] + level * eps[j], o[j], 0, "element " + j + " is x + level * normal j of the key");
            double e = (o[j] - x[j]) / level;
            s += e;
            s2 += e * e;
        }
        double mean = s / n, var = s2 / n - mean * mean;
        assertEquals(0, mean, 5 / Math.sqrt(n), "noise mean");
        assertEquals(1, var, 5 * Math.sqrt(2.0 / n), "noise variance / level^2");
    }

    @Test
    void corruptionIsDeterministicPerKeyAndDiffersAcrossSteps() {
        int rows = 7, d = 33;
        double[] x = Rand.uniform(3, rows * d, 0, 1);
        for (Corruption kind : new Corruption[]{Corruption.GAUSSIAN, Corruption.MASK}) {
            double[] a = corrupt(kind, 0.5, new RngKey(1, Streams.CORRUPT, 4), x, rows, d, DType.F64);
            double[] b = corrupt(kind, 0.5, new RngKey(1, Streams.CORRUPT, 4), x, rows, d, DType.F64);
            double[] c = corrupt(kind, 0.5, new RngKey(1, Streams.CORRUPT, 5), x, rows, d, DType.F64);
            assertArrayEquals(a, b, 0, kind + ": same key, same result");
            assertFalse(java.util.Arrays.equals(a, c), kind + ": another step draws other noise");
        }
        assertArrayEquals(x, corrupt(Corruption.NONE, 0, new RngKey(1, Streams.CORRUPT, 4), x, rows, d, DType.F64), 0, "none copies");
    }

    /** F32 rounds the same double result once: bit for bit the F64 result rounded to float. */
    @Test
    void float32IsTheFloat64ResultRounded() {
        int rows = 9, d = 131;
        double[] x = new double[rows * d];
        float[] xf = Rand.toFloat(Rand.uniform(4, rows * d, 0, 1));
        for (int i = 0; i < x.length; i++) x[i] = xf[i];
        for (Corruption kind : Corruption.values()) {
            double level = kind == Corruption.NONE ? 0 : 0.35;
            RngKey key = new RngKey(77, Streams.CORRUPT, 2);
            double[] d64 = corrupt(kind, level, key, x, rows, d, DType.F64);
            double[] d32 = corrupt(kind, level, key, x, rows, d, DType.F32);
            for (int i = 0; i < x.length; i++) assertEquals((float) d64[i], (float) d32[i], 0, kind + " element " + i);
        }
    }

    @Test
    void corruptionLevelsAreChecked() {
        Tensor x = be.alloc(DType.F32, 2, 3), out = be.alloc(DType.F32, 2, 3);
        RngKey key = new RngKey(1, Streams.CORRUPT, 0);
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.MASK, 1.0, key, x, out));
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.GAUSSIAN, -0.1, key, x, out));
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.NONE, 0.1, key, x, out));
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.MASK, 0.1, key, x, be.alloc(DType.F32, 3, 2)));
    }

    private double[] corrupt(Corruption kind, double level, RngKey key, double[] x, int rows, int d, DType dtype) {
        Tensor in = dtype == DType.F64 ? be.upload(x, Shape.of(rows, d)) : be.upload(Rand.toFloat(x), Shape.of(rows, d));
        Tensor out = be.alloc(dtype, rows, d);
        be.corrupt(kind, level, key, in, out);
        return be.download(out);
    }

    @Test
    void sparsityForwardIsTheKlOfTheBatchMeans() {
        int b = 13, z = 5;
        double rho = 0.1;
        double[] code = Rand.uniform(6, b * z, 0.01, 0.6);
        Tensor rhoHat = be.alloc(DType.F64, z), klT = be.alloc(DType.F64, z);
        be.sparsityForward(be.upload(code, Shape.of(b, z)), rho, rhoHat, klT);
        double[] q = be.download(rhoHat), k = be.download(klT);
        for (int j = 0; j < z; j++) {
            double s = 0;
            for (int r = 0; r < b; r++) s += code[r * z + j];
            double mean = s / b;
            assertEquals(mean, q[j], 1e-15, "rho_hat " + j);
            double want = rho * Math.log(rho / mean) + (1 - rho) * Math.log((1 - rho) / (1 - mean));
            assertEquals(want, k[j], 1e-14, "KL " + j);
            assertTrue(k[j] > 0, "KL is positive away from rho");
        }
        // KL(rho || rho) = 0
        double[] flat = new double[b * z];
        java.util.Arrays.fill(flat, rho);
        be.sparsityForward(be.upload(flat, Shape.of(b, z)), rho, rhoHat, klT);
        for (double v : be.download(klT)) assertEquals(0, v, 1e-15);
    }

    @Test
    void sparsityBackwardAccumulatesTheClosedFormAndMatchesFiniteDifferences() {
        int b = 6, z = 4;
        double rho = 0.2, w = 0.7;
        double[] code = Rand.uniform(8, b * z, 0.05, 0.9);
        double[] prior = Rand.normal(9, b * z, 1);  // dCode already holds the decoder's gradient
        Tensor rhoHat = be.alloc(DType.F64, z), klT = be.alloc(DType.F64, z);
        be.sparsityForward(be.upload(code, Shape.of(b, z)), rho, rhoHat, klT);
        Tensor dCode = be.upload(prior, Shape.of(b, z));
        be.sparsityBackward(rhoHat, rho, w / b, dCode);
        double[] g = be.download(dCode), q = be.download(rhoHat);
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < z; j++) {
                double closed = w / b * (-rho / q[j] + (1 - rho) / (1 - q[j]));
                assertEquals(prior[r * z + j] + closed, g[r * z + j], 1e-13, "dCode[" + r + "," + j + "]");
                // Finite differences of W sum_j KL(rho || mean_b code[b, j]).
                double h = 1e-6;
                double[] up = code.clone(), down = code.clone();
                up[r * z + j] += h;
                down[r * z + j] -= h;
                double numeric = (penalty(up, b, z, rho, w) - penalty(down, b, z, rho, w)) / (2 * h);
                assertEquals(numeric, closed, 1e-7 * Math.max(1, Math.abs(numeric)), "finite difference at " + r + "," + j);
            }
        }
    }

    private static double penalty(double[] code, int b, int z, double rho, double w) {
        double s = 0;
        for (int j = 0; j < z; j++) {
            double m = 0;
            for (int r = 0; r < b; r++) m += code[r * z + j];
            s += kl(rho, m / b);
        }
        return w * s;
    }

    @Test
    void sparsityFloat32FollowsFloat64() {
        int b = 64, z = 20;
        double rho = 0.05;
        float[] cf = Rand.toFloat(Rand.uniform(10, b * z, 0.001, 0.3));
        double[] cd = new double[cf.length];
        for (int i = 0; i < cf.length; i++) cd[i] = cf[i];
        Tensor q32 = be.alloc(DType.F32, z), k32 = be.alloc(DType.F32, z), q64 = be.alloc(DType.F64, z), k64 = be.alloc(DType.F64, z);
        be.sparsityForward(be.upload(cf, Shape.of(b, z)), rho, q32, k32);
        be.sparsityForward(be.upload(cd, Shape.of(b, z)), rho, q64, k64);
        double[] a = be.download(k64), c = be.download(k32);
        for (int j = 0; j < z; j++) assertEquals((float) a[j], (float) c[j], 0, "KL in F32 is the double result rounded, unit " + j);
        Tensor g32 = be.alloc(DType.F32, b, z), g64 = be.alloc(DType.F64, b, z);
        be.sparsityBackward(q32, rho, 0.3 / b, g32);
        be.sparsityBackward(q64, rho, 0.3 / b, g64);
        double[] x = be.download(g64), y = be.download(g32);
        for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-6 * Math.abs(x[i]), "gradient " + i);
    }

    @Test
    void sparsityRejectsBadTargetsAndShapes() {
        Tensor code = be.alloc(DType.F32, 3, 4), q = be.alloc(DType.F32, 4), k = be.alloc(DType.F32, 4);
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 0, q, k));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 1, q, k));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 0.1, be.alloc(DType.F32, 3), k));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityBackward(be.alloc(DType.F32, 3), 0.1, 1, code));
    }
}
