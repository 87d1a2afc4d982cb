package dev.elbo4j.eval;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Cvae;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CVAE's importance-sampled log p(x|y) against the exact marginal of a linear-Gaussian CVAE,
 * p(x|z,y) = N(W z + V y + b, s^2 I), so p(x|y) = N(V y + b, W W^T + s^2 I) (the analogue of
 * {@link EvaluatorTest}'s linear-Gaussian VAE, with a label that shifts the mean), and on a small
 * nonlinear CVAE: the estimate is above the ELBO and settles as k grows.
 */
class CvaeEvaluatorTest {
    private final Backend be = new CpuBackend();

    private static final int D = 4, Z = 2, C = 3;
    private static final double SIGMA = 0.5;
    /** Orthogonal columns: the exact posterior is diagonal. */
    private static final double[][] W = {{1.0, 0.0}, {0.0, 0.8}, {0.6, 0.0}, {0.0, -0.6}};
    /** V [D][C]: the label's shift of the mean. */
    private static final double[][] V = {{0.4, -0.3, 0.0}, {0.0, 0.5, -0.2}, {-0.6, 0.1, 0.3}, {0.2, 0.0, 0.7}};
    private static final double[] B = {0.3, 0.5, 0.7, 0.2};

    /**
     * The linear-Gaussian CVAE with q(z|x,y) the exact posterior plus {@code encoderNoise}:
     * Sigma_k = 1 / (1 + |w_k|^2 / s^2), mu = Sigma W^T (x - V y - b) / s^2.
     */
    private Cvae linearGaussian(double encoderNoise) {
        CvaeConfig cfg = new CvaeConfig(D, C, new int[0], Z, new int[0], Activation.RELU, Likelihood.gaussian(SIGMA), 1, 1);
        Cvae m = Cvae.create(be, cfg, DType.F64, 1);
        double[] w = new double[D * Z], v = new double[D * C];
        for (int d = 0; d < D; d++) {
            for (int k = 0; k < Z; k++) w[d * Z + k] = W[d][k];
            for (int c = 0; c < C; c++) v[d * C + c] = V[d][c];
        }
        be.write(m.parameters().value("decoder.0.weight"), w);
        be.write(m.parameters().value("decoder.0.label_weight"), v);
        be.write(m.parameters().value("decoder.0.bias"), B);
        double[] e = new double[2 * Z * D], eu = new double[2 * Z * C], eb = new double[2 * Z];
        double[] noise = Rand.normal(5, e.length + eu.length + eb.length, encoderNoise);
        int ni = 0;
        for (int k = 0; k < Z; k++) {
            double n2 = 0;
            for (int d = 0; d < D; d++) n2 += W[d][k] * W[d][k];
            double var = 1 / (1 + n2 / (SIGMA * SIGMA));
            double bias = 0;
            for (int d = 0; d < D; d++) {
                double a = var * W[d][k] / (SIGMA * SIGMA);
                e[k * D + d] = a;
                bias -= a * B[d];
                for (int c = 0; c < C; c++) eu[k * C + c] -= a * V[d][c];
            }
            eb[k] = bias;
            eb[Z + k] = Math.log(var);
        }
        for (int i = 0; i < e.length; i++) e[i] += noise[ni++];
        for (int i = 0; i < eu.length; i++) eu[i] += noise[ni++];
        for (int i = 0; i < eb.length; i++) eb[i] += noise[ni++];
        be.write(m.parameters().value("encoder.0.weight"), e);
        be.write(m.parameters().value("encoder.0.label_weight"), eu);
        be.write(m.parameters().value("encoder.0.bias"), eb);
        return m;
    }

    /** log N(x; V y + b, W W^T + s^2 I) by Cholesky. */
    private static double exactLogPxGivenY(double[] x, int label) {
        double[][] c = new double[D][D];
        for (int i = 0; i < D; i++) {
            for (int j = 0; j < D; j++) {
                double s = i == j ? SIGMA * SIGMA : 0;
                for (int k = 0; k < Z; k++) s += W[i][k] * W[j][k];
                c[i][j] = s;
            }
        }
        double[][] l = new double[D][D];
        for (int i = 0; i < D; i++) {
            for (int j = 0; j <= i; j++) {
                double s = c[i][j];
                for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
                l[i][j] = i == j ? Math.sqrt(s) : s / l[j][j];
            }
        }
        double[] y = new double[D];
        double logDet = 0, quad = 0;
        for (int i = 0; i < D; i++) {
            double s = x[i] - B[i] - V[i][label];
            for (int k = 0; k < i; k++) s -= l[i][k] * y[k];
            y[i] = s / l[i][i];
            quad += y[i] * y[i];
            logDet += 2 * Math.log(l[i][i]);
        }
        return -0.5 * (D * Math.log(2 * Math.PI) + logDet + quad);
    }

    private static Dataset labelled(int n, int dim, int classes) {
        byte[] img = new byte[n * dim], lab = new byte[n];
        double[] u = Rand.uniform(33, n * dim, 0, 256), c = Rand.uniform(34, n, 0, classes);
        for (int i = 0; i < img.length; i++) img[i] = (byte) (int) u[i];
        for (int i = 0; i < n; i++) lab[i] = (byte) (int) c[i];
        int side = (int) Math.round(Math.sqrt(dim));
        return new Dataset(img, lab, n, side, dim / side);
    }

    private static double[] x(Dataset data, int i) {
        double[] x = new double[D];
        for (int d = 0; d < D; d++) x[d] = data.pixel(i, d) / 255f; // the gather scales in float
        return x;
    }

    private static double exactMean(Dataset data) {
        double s = 0;
        for (int i = 0; i < data.n(); i++) s += exactLogPxGivenY(x(data, i), data.label(i));
        return s / data.n();
    }

    /**
     * With q(z|x,y) the exact posterior every importance weight equals p(x|y), so the estimate is
     * exact for any k (and would be wrong by the label's shift if y were not the input's own label);
     * the ELBO equals log p(x|y) in expectation.
     */
    @Test
    void importanceSamplingIsExactWithTheTruePosterior() {
        Dataset data = labelled(20, D, C);
        try (Cvae m = linearGaussian(0); DeviceDataset dd = new DeviceDataset(be, data, C)) {
            Evaluator ev = new Evaluator(m, dd, Binarization.NONE, 7);
            double[] est = ev.logLikelihood(3, null), elbo = ev.elbo(20000);
            for (int i = 0; i < data.n(); i++) {
                double exact = exactLogPxGivenY(x(data, i), data.label(i));
                assertEquals(exact, est[i], 1e-9, "log p(x|y), example " + i);
                assertEquals(exact, elbo[i], 0.02, "ELBO, example " + i);
            }
        }
    }

    @Test
    void importanceSamplingConvergesWithAnApproximatePosterior() {
        Dataset data = labelled(10, D, C);
        try (Cvae m = linearGaussian(0.03); DeviceDataset dd = new DeviceDataset(be, data, C)) {
            double[] est = new Evaluator(m, dd, Binarization.NONE, 7).logLikelihood(5000, null);
            for (int i = 0; i < data.n(); i++) {
                assertEquals(exactLogPxGivenY(x(data, i), data.label(i)), est[i], 0.01, "example " + i);
            }
        }
    }

    /** With a poor q the ELBO is well below log p(x|y); the estimate rises towards it as k grows. */
    @Test
    void importanceSamplingTightensTheBoundAsKGrows() {
        Dataset data = labelled(100, D, C);
        try (Cvae m = linearGaussian(0.3); DeviceDataset dd = new DeviceDataset(be, data, C)) {
            Evaluator ev = new Evaluator(m, dd, Binarization.NONE, 7);
            double exact = exactMean(data);
            double elbo = Evaluator.mean(ev.elbo(500));
            double[] ks = {1, 10, 100, 3000}, gap = new double[ks.length];
            for (int i = 0; i < ks.length; i++) gap[i] = exact - Evaluator.mean(ev.logLikelihood((int) ks[i], null));
            assertTrue(exact - elbo > 0.1, "ELBO " + elbo + " vs log p(x|y) " + exact);
            for (int i = 1; i < ks.length; i++) {
                assertTrue(gap[i] < gap[i - 1], "the gap should shrink with k: " + java.util.Arrays.toString(gap));
            }
            assertTrue(Math.abs(gap[ks.length - 1]) < (exact - elbo) / 3, "k = 3000: gap " + gap[ks.length - 1]
                    + " of an ELBO gap " + (exact - elbo));
        }
    }

    /**
     * A small nonlinear Bernoulli CVAE (random weights, 16 pixels, one hidden layer each side):
     * averaged over the inputs, the estimate is above the ELBO for each k and settles as k grows
     * (estimates at k = 1000 and 4000 agree far closer than either does with the ELBO).
     */
    @Test
    void onANonlinearCvaeTheEstimateIsAboveTheElboAndSettles() {
        Dataset data = labelled(100, 16, 4);
        CvaeConfig cfg = new CvaeConfig(16, 4, new int[]{12}, 3, new int[]{12}, Activation.TANH, Likelihood.bernoulli(), 1, 1);
        try (Cvae m = Cvae.create(be, cfg, DType.F64, 3); DeviceDataset dd = new DeviceDataset(be, data, 4)) {
            Evaluator ev = new Evaluator(m, dd, Binarization.FIXED, 9);
            double elbo = Evaluator.mean(ev.elbo(2000));
            double k10 = Evaluator.mean(ev.logLikelihood(10, null));
            double k1000 = Evaluator.mean(ev.logLikelihood(1000, null));
            double k4000 = Evaluator.mean(ev.logLikelihood(4000, null));
            String all = "ELBO " + elbo + ", k=10 " + k10 + ", k=1000 " + k1000 + ", k=4000 " + k4000;
            assertTrue(k10 > elbo && k1000 > elbo && k4000 > elbo, all);
            assertTrue(Math.abs(k4000 - k1000) < (k1000 - elbo) / 4, all);
            // The ELBO with one sample is the training log's test figure.
            assertEquals(Evaluator.mean(ev.elbo(1)), m.testObjective(dd, Binarization.FIXED, 9), 1e-12);
        }
    }

    @Test
    void theCvaeNeedsTheDataSetsLabels() {
        Dataset data = labelled(5, D, C);
        try (Cvae m = linearGaussian(0); DeviceDataset unlabelled = new DeviceDataset(be, data)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Evaluator(m, unlabelled, Binarization.NONE, 7));
            assertTrue(e.getMessage().contains("labels"), e.getMessage());
        }
    }
}
