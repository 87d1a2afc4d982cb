package dev.elbo4j.model;

import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Json;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NICE: the exact inverse, the log-likelihood against a numerical change of variables, gradients, config. */
class NiceTest {
    private final CpuBackend be = new CpuBackend();

    private Nice model(int dim, int couplings, boolean logistic, DType dt, int... hidden) {
        Nice m = Nice.create(be, new NiceConfig(dim, couplings, hidden, logistic), dt, 11);
        // non-zero log-scales so the scaling layer's log-det matters
        double[] se = Rand.normal(2, (dim + 1) / 2, 0.3), so = Rand.normal(3, dim / 2, 0.3);
        if (dt == DType.F64) {
            be.write(m.parameters().value(Nice.SCALE_EVEN), se);
            be.write(m.parameters().value(Nice.SCALE_ODD), so);
        } else {
            be.write(m.parameters().value(Nice.SCALE_EVEN), Rand.toFloat(se));
            be.write(m.parameters().value(Nice.SCALE_ODD), Rand.toFloat(so));
        }
        return m;
    }

    private Tensor x(DType dt, int n, int d, long seed) {
        double[] v = Rand.uniform(seed, n * d, 0, 1);
        return dt == DType.F64 ? be.upload(v, Shape.of(n, d)) : be.upload(Rand.toFloat(v), Shape.of(n, d));
    }

    /** x -> z -> x: to 1e-12 in F64 and 1e-5 in F32 (D = 784, odd D = 13). */
    @Test
    void inverseIsExact() {
        for (Object[] c : new Object[][]{{DType.F64, 13, 1e-12}, {DType.F32, 784, 1e-5}, {DType.F32, 13, 1e-5}}) {
            DType dt = (DType) c[0];
            int d = (int) c[1];
            try (Nice m = model(d, 4, true, dt, 32, 16); Nice.Pass p = m.pass(5, false)) {
                Tensor x = x(dt, 5, d, 4);
                double[] xs = be.download(x);
                p.run(x, null);
                double[] back = m.inverse(p.z(), 5);
                double worst = 0;
                for (int i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(back[i] - xs[i]));
                assertTrue(worst < (double) c[2], dt + " D=" + d + ": max |x - f^-1(f(x))| = " + worst);
            }
        }
    }

    /** log|det A| by Gaussian elimination with partial pivoting. */
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
     * In D = 6: log p(x) = sum log p_H(f(x)) + log|det df/dx|, with the Jacobian of f by central
     * differences (F64), for the logistic and the Gaussian prior.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void logLikelihoodIsTheChangeOfVariables(boolean logistic) {
        int d = 6;
        try (Nice m = model(d, 3, logistic, DType.F64, 8); Nice.Pass p = m.pass(1, false)) {
            for (int trial = 0; trial < 3; trial++) {
                double[] x = Rand.uniform(50 + trial, d, 0, 1);
                p.run(be.upload(x, Shape.of(1, d)), null);
                double got = be.download(p.logLikelihood())[0];
                double[] z = p.z();
                double[][] jac = new double[d][d];
                double h = 1e-6;
                for (int j = 0; j < d; j++) {
                    double[] xp = x.clone(), xm = x.clone();
                    xp[j] += h;
                    xm[j] -= h;
                    p.run(be.upload(xp, Shape.of(1, d)), null);
                    double[] zp = p.z();
                    p.run(be.upload(xm, Shape.of(1, d)), null);
                    double[] zm = p.z();
                    for (int i = 0; i < d; i++) jac[i][j] = (zp[i] - zm[i]) / (2 * h);
                }
                double prior = 0;
                for (double v : z) {
                    prior += logistic ? -Math.log1p(Math.exp(v)) - Math.log1p(Math.exp(-v)) : -0.5 * v * v - 0.5 * Math.log(2 * Math.PI);
                }
                assertEquals(prior + logAbsDet(jac), got, 1e-7, "trial " + trial);
            }
        }
    }

    /** Every parameter's gradient of the mean -log p(x) (dequantized inputs) against central differences, in F64. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyParameter(boolean logistic) {
        int d = 7;
        try (Nice m = model(d, 3, logistic, DType.F64, 5, 4); Nice.Pass p = m.pass(4, true)) {
            double[] px = new double[4 * d];
            double[] u = Rand.uniform(9, px.length, 0, 256);
            for (int i = 0; i < px.length; i++) px[i] = Math.floor(u[i]) / 255.0;
            Tensor x = be.upload(px, Shape.of(4, d));
            RngKey key = new RngKey(3, Streams.LATENT, 2);
            java.util.function.DoubleSupplier loss = () -> {
                p.run(x, key);
                return p.meanLoss();
            };
            loss.getAsDouble();
            double[] g = be.download(m.parameters().grads());
            GradCheck.check("params", be, m.parameters().values(), g, loss, 1e-6, 2e-6);
        }
    }

    /** The F32 model computes the F64 model's log-likelihood and gradients within float rounding. */
    @Test
    void floatMatchesDouble() {
        int d = 30;
        try (Nice f = model(d, 4, true, DType.F32, 16); Nice g = model(d, 4, true, DType.F64, 16);
             Nice.Pass pf = f.pass(6, true); Nice.Pass pd = g.pass(6, true)) {
            double[] xs = Rand.uniform(8, 6 * d, 0, 1);
            RngKey key = new RngKey(1, Streams.LATENT, 0);
            pf.run(be.upload(Rand.toFloat(xs), Shape.of(6, d)), key);
            pd.run(be.upload(xs, Shape.of(6, d)), key);
            assertEquals(pd.meanLoss(), pf.meanLoss(), 1e-5 * Math.abs(pd.meanLoss()));
            double[] a = be.download(f.parameters().grads()), b = be.download(g.parameters().grads());
            double scale = 0;
            for (double v : b) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < b.length; i++) assertEquals(b[i], a[i], 1e-4 * scale, "gradient " + i);
        }
    }

    /** bits/dim of the 256-level discretisation: a uniform density on [0,1]^D (log p = 0) is exactly 8 bits. */
    @Test
    void bitsPerDimension() {
        assertEquals(8.0, Nice.bitsPerDim(0, 784), 1e-12);
        assertEquals(8.0 - 1000 / (784 * Math.log(2)), Nice.bitsPerDim(1000, 784), 1e-12);
    }

    @Test
    void samplesAreInTheUnitIntervalAndReproducible() {
        try (Nice m = model(20, 2, true, DType.F32, 8)) {
            RngKey key = new RngKey(5, Streams.SAMPLE, 0);
            float[] a = m.sample(4, key, -1), b = m.sample(4, key, -1);
            assertEquals(80, a.length);
            for (int i = 0; i < a.length; i++) {
                assertTrue(a[i] >= 0 && a[i] <= 1, "sample value " + a[i]);
                assertEquals(a[i], b[i]);
            }
            var e = assertThrows(IllegalArgumentException.class, () -> m.sample(2, key, 3));
            assertEquals("NICE is unconditional: it takes no label", e.getMessage());
        }
    }

    @Test
    void configJsonAndErrors() {
        NiceConfig cfg = new NiceConfig(784, 4, new int[]{400}, true);
        var json = cfg.toJson();
        json.put("type", "nice");
        assertEquals(cfg, ModelConfigs.fromJson(Json.parseObject(Json.write(json))));
        assertEquals(new NiceConfig(784, 4, new int[]{400}, false), NiceConfig.fromJson(Json.parseObject(
                "{\"input_dim\":784,\"couplings\":4,\"hidden\":[400],\"prior\":\"gaussian\"}")));
        assertEquals("coupling layers must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> new NiceConfig(784, 0, new int[]{4}, true)).getMessage());
        assertEquals("prior must be logistic or gaussian, got 'cauchy'",
                assertThrows(IllegalArgumentException.class, () -> NiceConfig.parsePrior("cauchy")).getMessage());
        assertEquals("NICE needs at least 2 input dimensions, got 1",
                assertThrows(IllegalArgumentException.class, () -> new NiceConfig(1, 2, new int[]{4}, true)).getMessage());
        // 4 couplings x 2 layers x (weight, bias) + 2 scales
        assertEquals(18, cfg.parameterLayout().specs().size());
        assertEquals("log-likelihood", cfg.objectiveName());
    }
}
