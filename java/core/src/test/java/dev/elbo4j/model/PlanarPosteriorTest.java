package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Json;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VAE with a planar-flow posterior: gradients, the identity flow, the constraint under Adam, the config. */
class PlanarPosteriorTest {
    private final CpuBackend be = new CpuBackend();

    private static VaeConfig.Builder small() {
        return VaeConfig.builder().inputDim(6).encoderHidden(5).latent(3).decoderHidden(4);
    }

    /** Every parameter, the flow's u, w, b included, against central differences of the loss, in F64. */
    @ParameterizedTest
    @CsvSource({"bernoulli,tanh,1,1.0,2", "gaussian-learned,tanh,2,0.7,3", "bernoulli,sigmoid,3,1.0,1"})
    void everyParameter(String likelihood, String act, int samples, double beta, int steps) {
        VaeConfig cfg = small().activation(Activation.parse(act)).likelihood(Likelihood.parse(likelihood, 0.4))
                .samples(samples).beta(beta).flow(VaeConfig.FLOW_PLANAR, steps).build();
        try (Vae vae = Vae.create(be, cfg, DType.F64, 17); Vae.Pass pass = vae.pass(4, samples, true)) {
            be.write(vae.parameters().value(PlanarPosterior.B), Rand.normal(8, steps, 0.5));
            Tensor x = be.upload(Rand.uniform(21, 4 * 6, 0, 1), Shape.of(4, 6));
            RngKey key = new RngKey(99, Streams.LATENT, 5);
            java.util.function.DoubleSupplier loss = () -> {
                pass.run(x, key);
                return pass.meanLoss();
            };
            loss.getAsDouble();
            double[] grads = be.download(vae.parameters().grads());
            int flowAt = vae.parameters().specs().stream().filter(s -> s.name().equals(PlanarPosterior.U)).findFirst().orElseThrow().offset();
            double flowGrad = 0;
            for (int i = flowAt; i < grads.length; i++) flowGrad += Math.abs(grads[i]);
            assertTrue(flowGrad > 1e-3, "the flow parameters get a gradient");
            GradCheck.check("params", be, vae.parameters().values(), grads, loss, 1e-6, 2e-6);
        }
    }

    /**
     * With u_k = alpha0 w_k / |w_k|^2, alpha0 = log(e - 1), m(w.u) = 0 and u_hat = 0: the flow is the
     * identity with zero log-det, so loss and the shared parameters' gradients equal the plain VAE's.
     */
    @Test
    void identityFlowIsThePlainVae() {
        VaeConfig plain = small().samples(2).build();
        VaeConfig flowCfg = plain.toBuilder().flow(VaeConfig.FLOW_PLANAR, 3).build();
        try (Vae a = Vae.create(be, plain, DType.F64, 5); Vae b = Vae.create(be, flowCfg, DType.F64, 5);
             Vae.Pass pa = a.pass(4, 2, true); Vae.Pass pb = b.pass(4, 2, true)) {
            double[] w = be.download(b.parameters().value(PlanarPosterior.W)), u = new double[w.length];
            double alpha0 = Math.log(Math.E - 1);
            for (int k = 0; k < 3; k++) {
                double n = 0;
                for (int j = 0; j < 3; j++) n += w[k * 3 + j] * w[k * 3 + j];
                for (int j = 0; j < 3; j++) u[k * 3 + j] = alpha0 * w[k * 3 + j] / n;
            }
            be.write(b.parameters().value(PlanarPosterior.U), u);
            be.write(b.parameters().value(PlanarPosterior.B), Rand.normal(3, 3, 1));
            Tensor x = be.upload(Rand.uniform(2, 24, 0, 1), Shape.of(4, 6));
            RngKey key = new RngKey(4, Streams.LATENT, 1);
            pa.run(x, key);
            pb.run(x, key);
            assertEquals(pa.meanLoss(), pb.meanLoss(), 1e-12);
            double[] ga = be.download(a.parameters().grads()), gb = be.download(b.parameters().grads());
            for (int i = 0; i < ga.length; i++) assertEquals(ga[i], gb[i], 1e-12, "gradient " + i);
            double[] klA = be.download(pa.kl()), klB = be.download(pb.kl());
            for (int i = 0; i < klA.length; i++) assertEquals(klA[i], klB[i], 1e-12, "kl " + i);
        }
    }

    /** u_k = log(e - 1) w_k / |w_k|^2, so that u_hat_k = 0: every step is the identity. */
    private void identityFlow(Vae vae, int steps, int latent) {
        double[] w = be.download(vae.parameters().value(PlanarPosterior.W)), u = new double[w.length];
        double alpha0 = Math.log(Math.E - 1);
        for (int k = 0; k < steps; k++) {
            double n = 0;
            for (int j = 0; j < latent; j++) n += w[k * latent + j] * w[k * latent + j];
            for (int j = 0; j < latent; j++) u[k * latent + j] = alpha0 * w[k * latent + j] / n;
        }
        be.write(vae.parameters().value(PlanarPosterior.U), u);
    }

    /**
     * With the identity flow (u_hat = 0; note u = 0 is not the identity under the invertibility
     * constraint: it gives u_hat = (softplus(0) - 1) w / |w|^2) the codes and the reconstructions
     * are the plain VAE's, decoded at mu.
     */
    @Test
    void identityFlowEncodesAndReconstructsAtMu() {
        VaeConfig plain = small().build();
        try (Vae a = Vae.create(be, plain, DType.F64, 5);
             Vae b = Vae.create(be, plain.toBuilder().flow(VaeConfig.FLOW_PLANAR, 3).build(), DType.F64, 5)) {
            identityFlow(b, 3, 3);
            be.write(b.parameters().value(PlanarPosterior.B), Rand.normal(3, 3, 1));
            Tensor x = be.upload(Rand.uniform(2, 24, 0, 1), Shape.of(4, 6));
            float[] ma = a.encodeMean(x, null), mb = b.encodeMean(x, null);
            for (int i = 0; i < ma.length; i++) assertEquals(ma[i], mb[i], 1e-6, "code " + i);
            float[] ra = a.reconstruct(x, null), rb = b.reconstruct(x, null);
            for (int i = 0; i < ra.length; i++) assertEquals(ra[i], rb[i], 1e-6, "reconstruction " + i);
        }
    }

    /**
     * With a random flow the code is z_K = f_K(...f_1(mu)), the steps applied by hand from u_hat,
     * w and b, and the reconstruction is the decoder's mean at that z_K (not at mu).
     */
    @Test
    void codesAndReconstructionsArePushedThroughTheFlow() {
        int steps = 4, zd = 3;
        VaeConfig plain = small().build();
        try (Vae a = Vae.create(be, plain, DType.F64, 5);
             Vae b = Vae.create(be, plain.toBuilder().flow(VaeConfig.FLOW_PLANAR, steps).build(), DType.F64, 5)) {
            be.write(b.parameters().value(PlanarPosterior.U), Rand.normal(11, steps * zd, 1.5));
            be.write(b.parameters().value(PlanarPosterior.B), Rand.normal(12, steps, 0.5));
            Tensor x = be.upload(Rand.uniform(2, 24, 0, 1), Shape.of(4, 6));
            float[] mu = a.encodeMean(x, null), codes = b.encodeMean(x, null);
            double[] uHat = PlanarPosterior.uHat(b.parameters());
            double[] w = be.download(b.parameters().value(PlanarPosterior.W)), bias = be.download(b.parameters().value(PlanarPosterior.B));
            double[] expected = new double[mu.length];
            double moved = 0;
            for (int r = 0; r < 4; r++) {
                double[] z = new double[zd];
                for (int j = 0; j < zd; j++) z[j] = mu[r * zd + j];
                for (int k = 0; k < steps; k++) {
                    double act = bias[k];
                    for (int j = 0; j < zd; j++) act += w[k * zd + j] * z[j];
                    double t = Math.tanh(act);
                    for (int j = 0; j < zd; j++) z[j] += uHat[k * zd + j] * t;
                }
                for (int j = 0; j < zd; j++) {
                    expected[r * zd + j] = z[j];
                    moved += Math.abs(z[j] - mu[r * zd + j]);
                }
            }
            assertTrue(moved > 0.1, "the flow should move the codes, moved " + moved);
            for (int i = 0; i < codes.length; i++) assertEquals(expected[i], codes[i], 1e-6, "code " + i);
            float[] rec = b.reconstruct(x, null), atZk;
            try (Tensor zk = be.alloc(DType.F64, 4, zd)) {
                be.write(zk, expected);
                atZk = b.decodeMean(zk);
            }
            for (int i = 0; i < rec.length; i++) assertEquals(atZk[i], rec[i], 1e-6, "reconstruction " + i);
        }
    }

    /** A non-identity flow changes the loss: the decoder really reads z_K. */
    @Test
    void flowChangesTheLoss() {
        VaeConfig plain = small().build();
        try (Vae a = Vae.create(be, plain, DType.F64, 5);
             Vae b = Vae.create(be, plain.toBuilder().flow(VaeConfig.FLOW_PLANAR, 2).build(), DType.F64, 5);
             Vae.Pass pa = a.pass(4, 1, true); Vae.Pass pb = b.pass(4, 1, true)) {
            Tensor x = be.upload(Rand.uniform(2, 24, 0, 1), Shape.of(4, 6));
            RngKey key = new RngKey(4, Streams.LATENT, 1);
            pa.run(x, key);
            pb.run(x, key);
            assertNotEquals(pa.meanLoss(), pb.meanLoss(), 1e-6);
        }
    }

    /**
     * w_k . u_hat_k >= -1 (each step invertible) after every one of 60 Adam updates at a large
     * learning rate, with u started far on the wrong side (w.u << -1); every log-det stays finite.
     */
    @Test
    void constraintHoldsAfterEveryAdamUpdate() {
        VaeConfig cfg = small().flow(VaeConfig.FLOW_PLANAR, 4).build();
        try (Vae vae = Vae.create(be, cfg, DType.F32, 3); Vae.Pass pass = vae.pass(8, 1, true);
             Adam adam = new Adam(vae.parameters(), AdamConfig.of(0.05))) {
            double[] w = be.download(vae.parameters().value(PlanarPosterior.W)), u = new double[w.length];
            for (int i = 0; i < u.length; i++) u[i] = -4 * w[i];
            be.write(vae.parameters().value(PlanarPosterior.U), Rand.toFloat(u));
            Tensor x = be.upload(Rand.toFloat(Rand.uniform(6, 8 * 6, 0, 1)), Shape.of(8, 6));
            int negative = 0;
            for (int step = 0; step < 60; step++) {
                pass.run(x, new RngKey(1, Streams.LATENT, step));
                assertTrue(Double.isFinite(pass.meanLoss()), "loss at step " + step);
                adam.step();
                double[] uh = PlanarPosterior.uHat(vae.parameters());
                double[] ww = be.download(vae.parameters().value(PlanarPosterior.W));
                double[] uu = be.download(vae.parameters().value(PlanarPosterior.U));
                for (int k = 0; k < 4; k++) {
                    double dot = 0, wu = 0;
                    for (int j = 0; j < 3; j++) {
                        dot += ww[k * 3 + j] * uh[k * 3 + j];
                        wu += ww[k * 3 + j] * uu[k * 3 + j];
                    }
                    assertTrue(dot >= -1 - 1e-9, "step " + step + ", flow step " + k + ": w.u_hat = " + dot);
                    if (wu < -1) negative++;
                }
            }
            assertTrue(negative > 0, "the raw w.u was below -1 at some point, so the constraint was exercised");
        }
    }

    @Test
    void configJsonRoundTripAndAbsentKeys() {
        VaeConfig cfg = small().flow(VaeConfig.FLOW_PLANAR, 7).build();
        Map<String, Object> json = cfg.toJson();
        assertEquals("planar", json.get("flow"));
        assertEquals(7, json.get("flow_steps"));
        json.put("type", "vae");
        assertEquals(cfg, ModelConfigs.fromJson(Json.parseObject(Json.write(json))));
        Map<String, Object> plain = small().build().toJson();
        assertFalse(plain.containsKey("flow"), "a plain VAE writes no flow keys (old checkpoints read the same)");
        plain.put("type", "vae");
        VaeConfig back = (VaeConfig) ModelConfigs.fromJson(Json.parseObject(Json.write(plain)));
        assertFalse(back.hasFlow());
        assertEquals(0, back.flowSteps());
        assertNotEquals(cfg, small().flow(VaeConfig.FLOW_PLANAR, 6).build());
        assertTrue(cfg.toString().contains("planar flow K=7"), cfg.toString());
        assertEquals(Vae.parameterLayout(small().build()).specs().size() + 3, cfg.parameterLayout().specs().size());
    }

    @Test
    void badFlowSettingsAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> small().flow("planar", 0).build());
        assertEquals("flow steps must be >= 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> small().flow("radial", 2).build());
        assertEquals("flow must be none or planar, got 'radial'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> small().flow("none", 2).build());
        assertEquals("flow steps must be 0 without a flow, got 2", e.getMessage());
    }
}
