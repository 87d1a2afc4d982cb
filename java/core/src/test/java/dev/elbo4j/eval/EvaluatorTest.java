package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The evaluation figures against closed forms: the KL against its Monte-Carlo estimate, and the
 * importance-sampled log p(x) against the exact marginal of a linear-Gaussian VAE,
 * p(x) = N(b, W W^T + sigma^2 I).
 */
class EvaluatorTest {
    private final Backend be = new CpuBackend();

    @Test
    void closedFormKlMatchesMonteCarlo() {
        int z = 3, samples = 100_000;
        double[] s = {0.5, -1.2, 0.1, -0.7, 0.4, -2.0};
        Tensor stats = be.upload(s, Shape.of(1, 2 * z));
        Tensor eps = be.alloc(DType.F64, samples, z), zz = be.alloc(DType.F64, samples, z);
        Tensor kl = be.alloc(DType.F64, 1), lr = be.alloc(DType.F64, samples);
        be.latentForward(stats, new RngKey(2, Streams.EVAL, 0), eps, zz, kl, lr);
        double[] r = be.download(lr);
        double m = 0, m2 = 0;
        for (double v : r) {
            m -= v;
            m2 += v * v;
        }
        m /= samples;
        double se = Math.sqrt((m2 / samples - m * m) / samples);
        double closed = be.download(kl)[0];
        assertEquals(closed, m, 4 * se, "KL closed form " + closed + " vs Monte Carlo " + m + " +- " + se);
    }

    /** A linear-Gaussian VAE: W has orthogonal columns, so the exact posterior is diagonal. */
    private static final double SIGMA = 0.5;
    private static final double[][] W = {{1.0, 0.0}, {0.0, 0.8}, {0.6, 0.0}, {0.0, -0.6}};
    private static final double[] B = {0.3, 0.5, 0.7, 0.2};

    private Vae linearGaussian(double encoderNoise) {
        VaeConfig cfg = VaeConfig.builder().inputDim(4).encoderHidden().latent(2).decoderHidden()
                .likelihood(Likelihood.gaussian(SIGMA)).build();
        Vae vae = Vae.create(be, cfg, DType.F64, 1);
        double[] w = new double[8];
        for (int d = 0; d < 4; d++) for (int k = 0; k < 2; k++) w[d * 2 + k] = W[d][k];
        be.write(vae.parameters().value("decoder.0.weight"), w);
        be.write(vae.parameters().value("decoder.0.bias"), B);
        // Exact posterior: Sigma_k = 1 / (1 + |w_k|^2 / s^2), mu = Sigma W^T (x - b) / s^2.
        double[] e = new double[4 * 4], eb = new double[4];
        double[] noise = Rand.normal(5, 20, encoderNoise);
        for (int k = 0; k < 2; k++) {
            double n2 = 0;
            for (int d = 0; d < 4; d++) n2 += W[d][k] * W[d][k];
            double var = 1 / (1 + n2 / (SIGMA * SIGMA));
            double bias = 0;
            for (int d = 0; d < 4; d++) {
                e[k * 4 + d] = var * W[d][k] / (SIGMA * SIGMA) + noise[k * 4 + d];
                bias -= var * W[d][k] / (SIGMA * SIGMA) * B[d];
            }
            eb[k] = bias + noise[8 + k];
            eb[2 + k] = Math.log(var) + noise[10 + k];
        }
        be.write(vae.parameters().value("encoder.0.weight"), e);
        be.write(vae.parameters().value("encoder.0.bias"), eb);
        return vae;
    }

    /** log N(x; b, W W^T + s^2 I) by Cholesky. */
    private static double exactLogPx(double[] x) {
        int n = 4;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? SIGMA * SIGMA : 0;
                for (int k = 0; k < 2; k++) s += W[i][k] * W[j][k];
                c[i][j] = s;
            }
        }
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = c[i][j];
                for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
                l[i][j] = i == j ? Math.sqrt(s) : s / l[j][j];
            }
        }
        double[] y = new double[n];
        double logDet = 0, quad = 0;
        for (int i = 0; i < n; i++) {
            double s = x[i] - B[i];
            for (int k = 0; k < i; k++) s -= l[i][k] * y[k];
            y[i] = s / l[i][i];
            quad += y[i] * y[i];
            logDet += 2 * Math.log(l[i][i]);
        }
        return -0.5 * (n * Math.log(2 * Math.PI) + logDet + quad);
    }

    private static Dataset pixels(int n) {
        byte[] img = new byte[n * 4];
        double[] u = Rand.uniform(33, n * 4, 0, 256);
        for (int i = 0; i < img.length; i++) img[i] = (byte) (int) u[i];
        return new Dataset(img, null, n, 2, 2);
    }

    private static double[] x(Dataset data, int i) {
        double[] x = new double[4];
        for (int d = 0; d < 4; d++) x[d] = data.pixel(i, d) / 255f; // the gather scales in float
        return x;
    }

    /**
     * With q equal to the exact posterior every importance weight equals p(x), so the estimate is
     * exact for any k; the ELBO (closed-form KL, Monte-Carlo reconstruction term) equals log p(x)
     * in expectation.
     */
    @Test
    void elboAndImportanceSamplingAreExactWithTheTruePosterior() {
        Dataset data = pixels(20);
        try (Vae vae = linearGaussian(0); DeviceDataset dd = new DeviceDataset(be, data)) {
            Evaluator ev = new Evaluator(vae, dd, Binarization.NONE, 7);
            double[] est = ev.logLikelihood(3, null), elbo = ev.elbo(20000);
            for (int i = 0; i < data.n(); i++) {
                assertEquals(exactLogPx(x(data, i)), est[i], 1e-9, "log p(x), example " + i);
                assertEquals(exactLogPx(x(data, i)), elbo[i], 0.02, "ELBO, example " + i);
            }
        }
    }

    @Test
    void importanceSamplingConvergesWithAnApproximatePosterior() {
        Dataset data = pixels(10);
        try (Vae vae = linearGaussian(0.03); DeviceDataset dd = new DeviceDataset(be, data)) {
            double[] est = new Evaluator(vae, dd, Binarization.NONE, 7).logLikelihood(5000, null);
            for (int i = 0; i < data.n(); i++) {
                assertEquals(exactLogPx(x(data, i)), est[i], 0.01, "example " + i);
            }
        }
    }

    /** With a poor q, the ELBO is well below log p(x), and importance sampling closes most of the gap. */
    @Test
    void elboIsALowerBoundThatImportanceSamplingTightens() {
        Dataset data = pixels(10);
        try (Vae vae = linearGaussian(0.3); DeviceDataset dd = new DeviceDataset(be, data)) {
            Evaluator ev = new Evaluator(vae, dd, Binarization.NONE, 7);
            double exact = 0;
            for (int i = 0; i < data.n(); i++) exact += exactLogPx(x(data, i)) / data.n();
            double elbo = Evaluator.mean(ev.elbo(200));
            double iw = Evaluator.mean(ev.logLikelihood(1000, null));
            assertTrue(elbo < exact - 0.1, "ELBO " + elbo + " vs log p(x) " + exact);
            assertTrue(Math.abs(iw - exact) < (exact - elbo) / 3, "IS " + iw + " vs log p(x) " + exact + ", ELBO " + elbo);
        }
    }

    /** The number of sample chunks was computed in int: a k near 2^31 overflowed to no chunk at all, and log p(x) was -Infinity. */
    @Test
    void chunksOfAHugeKDoNotOverflow() {
        assertEquals(50, Evaluator.chunks(5000, 100));
        assertEquals(51, Evaluator.chunks(5001, 100));
        assertEquals(21_474_837, Evaluator.chunks(Integer.MAX_VALUE, 100));
        assertEquals(1, Evaluator.chunks(Integer.MAX_VALUE, Integer.MAX_VALUE));
    }
}
