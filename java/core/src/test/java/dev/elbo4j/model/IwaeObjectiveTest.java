package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
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

import static org.junit.jupiter.api.Assertions.*;

/**
 * The IWAE training objective of {@link Vae}: its gradient against finite differences, its
 * relation to the ELBO (k = 1 identity, Jensen), and the F32 path against F64.
 */
class IwaeObjectiveTest {
    private final CpuBackend be = new CpuBackend();

    private static VaeConfig small(String likelihood, String act, int samples) {
        return VaeConfig.builder().inputDim(6).encoderHidden(5).latent(3).decoderHidden(4, 3)
                .activation(Activation.parse(act)).likelihood(Likelihood.parse(likelihood, 0.4)).samples(samples)
                .objective(VaeObjective.IWAE).build();
    }

    /** Every parameter's gradient of the mean IWAE loss against central differences, in F64. */
    @ParameterizedTest
    @CsvSource({"bernoulli,tanh,1", "bernoulli,tanh,4", "bernoulli,relu,4", "gaussian,tanh,4",
            "gaussian-learned,tanh,1", "gaussian-learned,sigmoid,4"})
    void everyParameter(String likelihood, String act, int samples) {
        VaeConfig cfg = small(likelihood, act, samples);
        try (Vae vae = Vae.create(be, cfg, DType.F64, 17); Vae.Pass pass = vae.pass(4, samples, true)) {
            if (cfg.likelihood().learnsVariance()) {
                be.write(vae.parameters().value(Vae.LOGVAR), Rand.normal(3, 6, 0.3));
            }
            Tensor x = be.upload(Rand.uniform(21, 4 * 6, 0, 1), Shape.of(4, 6));
            RngKey key = new RngKey(99, Streams.LATENT, 5);
            java.util.function.DoubleSupplier loss = () -> {
                pass.run(x, key);
                return pass.meanLoss();
            };
            loss.getAsDouble();
            double[] grads = be.download(vae.parameters().grads());
            double norm = 0;
            for (double g : grads) norm += g * g;
            assertTrue(norm > 1e-6, "the gradient should not vanish: " + norm);
            GradCheck.check("params", be, vae.parameters().values(), grads, loss, 1e-6, 2e-6);
        }
    }

    /**
     * The gradient is not the ELBO's: with k = 4 the weights differ from 1/4, so the IWAE and ELBO
     * gradients of the same model on the same noise differ (a guard against an objective flag that
     * changes nothing).
     */
    @Test
    void differsFromTheElboGradient() {
        VaeConfig iw = small("bernoulli", "tanh", 4), el = iw.toBuilder().objective(VaeObjective.ELBO).build();
        Tensor x = be.upload(Rand.uniform(21, 4 * 6, 0, 1), Shape.of(4, 6));
        RngKey key = new RngKey(99, Streams.LATENT, 5);
        try (Vae a = Vae.create(be, iw, DType.F64, 17); Vae b = Vae.create(be, el, DType.F64, 17);
             Vae.Pass pa = a.pass(4, 4, true); Vae.Pass pb = b.pass(4, 4, true)) {
            pa.run(x, key);
            pb.run(x, key);
            assertTrue(pa.meanLoss() < pb.meanLoss(), "the IWAE bound is tighter: " + pa.meanLoss() + " vs " + pb.meanLoss());
            double[] ga = be.download(a.parameters().grads()), gb = be.download(b.parameters().grads());
            double diff = 0, norm = 0;
            for (int i = 0; i < ga.length; i++) {
                diff += (ga[i] - gb[i]) * (ga[i] - gb[i]);
                norm += gb[i] * gb[i];
            }
            assertTrue(diff > 1e-6 * norm, "IWAE and ELBO gradients should differ, relative " + Math.sqrt(diff / norm));
        }
    }

    /**
     * With L = 1 the IWAE loss is rowLoss - logRatio exactly (the ELBO with a one-sample KL
     * estimate), and over many noise keys its mean matches the analytic-KL ELBO of the same model
     * within the Monte-Carlo error: the per-key difference -logRatio - KL has mean 0.
     */
    @Test
    void oneSampleIsTheElboWithASampledKl() {
        VaeConfig iw = VaeConfig.builder().inputDim(12).encoderHidden(10).latent(4).decoderHidden(10)
                .activation(Activation.TANH).samples(1).objective(VaeObjective.IWAE).build();
        VaeConfig el = iw.toBuilder().objective(VaeObjective.ELBO).build();
        int b = 8, keys = 4000;
        Tensor x = be.upload(Rand.uniform(5, b * 12, 0, 1), Shape.of(b, 12));
        double sum = 0, sumSq = 0;
        try (Vae a = Vae.create(be, iw, DType.F64, 3); Vae e = Vae.create(be, el, DType.F64, 3);
             Vae.Pass pa = a.pass(b, 1, true); Vae.Pass pe = e.pass(b, 1, true)) {
            for (int k = 0; k < keys; k++) {
                RngKey key = new RngKey(7, Streams.LATENT, k);
                pa.run(x, key);
                double[] loss = be.download(pa.iwaeLoss()), row = be.download(pa.rowLoss()), lr = be.download(pa.logRatio());
                for (int i = 0; i < b; i++) assertEquals(row[i] - lr[i], loss[i], 0.0, "key " + k + ", example " + i);
                pe.run(x, key);
                double d = pa.meanLoss() - pe.meanLoss();
                sum += d;
                sumSq += d * d;
            }
        }
        double mean = sum / keys, sd = Math.sqrt(sumSq / keys - mean * mean), se = sd / Math.sqrt(keys);
        System.out.printf(java.util.Locale.ROOT, "IWAE(k=1) - ELBO over %d keys: mean %.5f, sd %.4f, standard error %.5f%n",
                keys, mean, sd, se);
        assertTrue(sd > 0, "a sampled KL should vary with the noise");
        assertTrue(Math.abs(mean) < 4 * se, "mean difference " + mean + " exceeds 4 standard errors " + se);
    }

    /**
     * Per example, -log mean_l exp(lw_l) <= mean_l -lw_l (Jensen), exactly for the fixed noise of a
     * key, with equality only when all lw_l agree; and the weights are a softmax (sum 1, >= 0).
     */
    @Test
    void boundIsTighterThanTheSampledElboPerExample() {
        int b = 6, k = 5;
        VaeConfig cfg = VaeConfig.builder().inputDim(12).encoderHidden(10).latent(4).decoderHidden(10)
                .likelihood(Likelihood.gaussianLearned()).samples(k).objective(VaeObjective.IWAE).build();
        Tensor x = be.upload(Rand.uniform(5, b * 12, 0, 1), Shape.of(b, 12));
        try (Vae vae = Vae.create(be, cfg, DType.F64, 3); Vae.Pass p = vae.pass(b, k, true)) {
            for (int s = 0; s < 20; s++) {
                p.run(x, new RngKey(9, Streams.LATENT, s));
                double[] loss = be.download(p.iwaeLoss()), row = be.download(p.rowLoss()), lr = be.download(p.logRatio());
                double[] w = be.download(p.weights());
                for (int i = 0; i < b; i++) {
                    double elbo = 0, wsum = 0, direct = 0;
                    for (int l = 0; l < k; l++) {
                        elbo += (row[l * b + i] - lr[l * b + i]) / k;
                        direct += Math.exp(lr[l * b + i] - row[l * b + i]) / k;
                        assertTrue(w[l * b + i] >= 0);
                        wsum += w[l * b + i];
                    }
                    assertTrue(loss[i] < elbo, "example " + i + ": IWAE " + loss[i] + " vs sampled ELBO " + elbo);
                    assertEquals(1, wsum, 1e-14);
                    assertEquals(-Math.log(direct), loss[i], 1e-12 * Math.abs(loss[i]), "closed form, example " + i);
                }
            }
        }
    }

    /** The F32 path computes the same IWAE loss and gradients as the F64 reference, within float rounding. */
    @ParameterizedTest
    @CsvSource({"bernoulli", "gaussian-learned"})
    void floatMatchesDouble(String likelihood) {
        VaeConfig cfg = VaeConfig.builder().inputDim(30).encoderHidden(17).latent(5).decoderHidden(13).samples(4)
                .likelihood(Likelihood.parse(likelihood, 0.5)).objective(VaeObjective.IWAE).build();
        double[] xs = Rand.uniform(4, 7 * 30, 0, 1);
        RngKey key = new RngKey(1, Streams.LATENT, 0);
        try (Vae f = Vae.create(be, cfg, DType.F32, 3); Vae d = Vae.create(be, cfg, DType.F64, 3);
             Vae.Pass pf = f.pass(7, 4, true); Vae.Pass pd = d.pass(7, 4, true)) {
            pf.run(be.upload(Rand.toFloat(xs), Shape.of(7, 30)), key);
            pd.run(be.upload(xs, Shape.of(7, 30)), key);
            assertEquals(pd.meanLoss(), pf.meanLoss(), 1e-4 * Math.abs(pd.meanLoss()));
            double[] gf = be.download(f.parameters().grads()), gd = be.download(d.parameters().grads());
            double scale = 0;
            for (double g : gd) scale = Math.max(scale, Math.abs(g));
            for (int i = 0; i < gd.length; i++) {
                assertEquals(gd[i], gf[i], 1e-4 * scale, "gradient " + i);
            }
        }
    }

    /** meanLoss, accumulateLoss and lossTerms report the IWAE loss in training. */
    @Test
    void reportsTheIwaeLoss() {
        VaeConfig cfg = small("bernoulli", "tanh", 3);
        try (Vae vae = Vae.create(be, cfg, DType.F64, 17); Vae.Pass p = vae.pass(4, 3, true);
             Tensor acc = be.alloc(DType.F64, 1)) {
            p.run(be.upload(Rand.uniform(21, 4 * 6, 0, 1), Shape.of(4, 6)), new RngKey(1, Streams.LATENT, 0));
            double[] loss = be.download(p.iwaeLoss());
            double mean = (loss[0] + loss[1] + loss[2] + loss[3]) / 4;
            assertEquals(mean, p.meanLoss(), 1e-12);
            p.accumulateLoss(acc);
            assertEquals(4 * mean, be.download(acc)[0], 1e-12);
            assertTrue(p.lossTerms().keySet().stream().anyMatch(n -> n.contains("IWAE")), p.lossTerms().keySet().toString());
            assertFalse(p.lossTerms().keySet().stream().anyMatch(n -> n.contains("KL")), p.lossTerms().keySet().toString());
        }
    }

    /** KL warm-up has no meaning for the bound: the pass refuses a weight other than 1, and the config refuses beta != 1. */
    @Test
    void refusesBetaAndWarmup() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VaeConfig.builder().beta(0.5).objective(VaeObjective.IWAE).build());
        assertTrue(e.getMessage().contains("beta must be 1"), e.getMessage());
        try (Vae vae = Vae.create(be, small("bernoulli", "tanh", 2), DType.F64, 1); Vae.Pass p = vae.pass(2, 2, true)) {
            p.klWeight(1);
            e = assertThrows(IllegalArgumentException.class, () -> p.klWeight(0.5));
            assertTrue(e.getMessage().contains("warm-up"), e.getMessage());
        }
        e = assertThrows(IllegalArgumentException.class, () -> VaeObjective.parse("vi"));
        assertTrue(e.getMessage().contains("unknown objective 'vi'"), e.getMessage());
    }

    /** The objective survives the checkpoint's JSON; a file without the key reads as elbo. */
    @Test
    void jsonRoundTrip() {
        VaeConfig cfg = small("gaussian-learned", "tanh", 5);
        java.util.Map<String, Object> m = dev.elbo4j.io.Json.parseObject(dev.elbo4j.io.Json.write(cfg.toJson()));
        assertEquals("iwae", m.get("objective"));
        assertEquals(cfg, VaeConfig.fromJson(m));
        assertNotEquals(cfg, cfg.toBuilder().objective(VaeObjective.ELBO).build());
        assertTrue(cfg.toString().contains("objective=iwae"), cfg.toString());
        m.remove("objective");
        assertEquals(VaeObjective.ELBO, VaeConfig.fromJson(m).objective());
    }
}
