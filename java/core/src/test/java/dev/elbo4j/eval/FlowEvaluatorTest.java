package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.PlanarPosterior;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The evaluation figures with a planar-flow posterior, on a linear-Gaussian VAE whose exact
 * marginal is p(x) = N(b, W W^T + s^2 I): importance sampling with q_K as the proposal converges
 * to the exact log p(x) only if log q_K(z_K) = log q0(z_0) - sum log|det| is right.
 */
class FlowEvaluatorTest {
    private final Backend be = new CpuBackend();
    private static final double SIGMA = 0.5;
    private static final double[][] W = {{1.0, 0.0}, {0.0, 0.8}, {0.6, 0.0}, {0.0, -0.6}};
    private static final double[] B = {0.3, 0.5, 0.7, 0.2};

    /** The linear-Gaussian decoder, an encoder near the exact posterior, and a far-from-identity 3-step flow. */
    private Vae model(boolean flow) {
        VaeConfig.Builder b = VaeConfig.builder().inputDim(4).encoderHidden().latent(2).decoderHidden()
                .likelihood(Likelihood.gaussian(SIGMA));
        if (flow) b.flow(VaeConfig.FLOW_PLANAR, 3);
        Vae vae = Vae.create(be, b.build(), DType.F64, 1);
        double[] w = new double[8];
        for (int d = 0; d < 4; d++) for (int k = 0; k < 2; k++) w[d * 2 + k] = W[d][k];
        be.write(vae.parameters().value("decoder.0.weight"), w);
        be.write(vae.parameters().value("decoder.0.bias"), B);
        double[] e = new double[16], eb = new double[4]; // rows [mu_0, mu_1, lv_0, lv_1] x D
        for (int k = 0; k < 2; k++) {
            double n2 = 0;
            for (int d = 0; d < 4; d++) n2 += W[d][k] * W[d][k];
            double var = 1 / (1 + n2 / (SIGMA * SIGMA));
            for (int d = 0; d < 4; d++) {
                e[k * 4 + d] = var * W[d][k] / (SIGMA * SIGMA);
                eb[k] -= var * W[d][k] / (SIGMA * SIGMA) * B[d];
            }
            eb[2 + k] = Math.log(var) + 0.4; // a wider q0 than the posterior
        }
        be.write(vae.parameters().value("encoder.0.weight"), e);
        be.write(vae.parameters().value("encoder.0.bias"), eb);
        if (flow) {
            be.write(vae.parameters().value(PlanarPosterior.U), Rand.normal(3, 6, 0.5));
            be.write(vae.parameters().value(PlanarPosterior.W), Rand.normal(4, 6, 0.8));
            be.write(vae.parameters().value(PlanarPosterior.B), Rand.normal(5, 3, 0.3));
        }
        return vae;
    }

    private static double exactLogPx(double[] x) {
        int n = 4;
        double[][] c = new double[n][n], l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? SIGMA * SIGMA : 0;
                for (int k = 0; k < 2; k++) s += W[i][k] * W[j][k];
                c[i][j] = s;
            }
        }
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

    @Test
    void importanceSamplingWithTheFlowPosteriorConvergesToTheExactMarginal() {
        int n = 6;
        byte[] img = new byte[n * 4];
        double[] u = Rand.uniform(33, n * 4, 0, 256);
        for (int i = 0; i < img.length; i++) img[i] = (byte) (int) u[i];
        Dataset data = new Dataset(img, null, n, 2, 2);
        try (Vae flow = model(true); Vae plain = model(false); DeviceDataset dd = new DeviceDataset(be, data)) {
            Evaluator ev = new Evaluator(flow, dd, Binarization.NONE, 7);
            double[] est = ev.logLikelihood(20000, null), elbo = ev.elbo(4000);
            double[] plainElbo = new Evaluator(plain, dd, Binarization.NONE, 7).elbo(4000);
            double gap = 0, change = 0, bias = 0;
            for (int i = 0; i < n; i++) {
                double[] x = new double[4];
                for (int d = 0; d < 4; d++) x[d] = data.pixel(i, d) / 255f;
                double exact = exactLogPx(x);
                assertEquals(exact, est[i], 0.04, "log p(x), example " + i);
                bias += (est[i] - exact) / n;
                assertTrue(elbo[i] < exact + 0.02, "ELBO " + elbo[i] + " is a lower bound of " + exact);
                gap += (exact - elbo[i]) / n;
                change += Math.abs(elbo[i] - plainElbo[i]) / n;
            }
            // The flow is far from the identity (its ELBO differs from the Gaussian posterior's),
            // so an error in log q_K would bias the importance-sampled estimate well beyond 0.02.
            assertEquals(0, bias, 0.015, "mean error of the importance-sampled log p(x)");
            assertTrue(change > 0.1, "flow changes the ELBO by " + change);
            assertTrue(gap > 0.05, "the flow posterior is not exact: ELBO gap " + gap);
        }
    }
}
