package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every family answers alike through the public interfaces, so that code written against
 * {@link Generative} works on each: {@code sample(n, key)} without a label; settings left null
 * refused at once, naming the setting, not a NullPointerException later in training; each
 * family's likelihood of host arrays (here the FVBM's exact log p(x)).
 */
class EveryFamilyApiTest {
    private static final int D = 6;
    private final Backend be = new CpuBackend();

    @Test
    void everyGenerativeFamilySamplesWithoutALabel() {
        try (Vae vae = Vae.create(be, VaeConfig.builder().inputDim(D).latent(2).hidden(4).build(), 1);
             Cvae cvae = Cvae.create(be, new CvaeConfig(D, 3, new int[] {4}, 2, new int[] {4}, Activation.RELU,
                     Likelihood.bernoulli(), 1, 1), 1);
             M2 m2 = M2.create(be, M2Config.defaults(D, 3), 1);
             Nice nice = Nice.create(be, new NiceConfig(D, 4, new int[] {4}, true), 1);
             Rbm rbm = Rbm.create(be, new RbmConfig(D, 3, 1, false, 5), 1);
             Dbn dbn = Dbn.create(be, new DbnConfig(D, new int[] {3, 3}, 1, false, 10, 5), 1);
             Fvbm fvbm = Fvbm.create(be, new FvbmConfig(D), 1)) {
            for (Generative g : List.<Generative>of(vae, cvae, m2, nice, rbm, dbn, fvbm)) {
                float[] s = g.sample(5, new RngKey(4, Streams.SAMPLE, 0));
                assertEquals(5 * D, s.length, g.config().type());
                assertArrayEquals(g.sample(5, new RngKey(4, Streams.SAMPLE, 0), -1), s, g.config().type());
            }
        }
    }

    @Test
    void nullSettingsAreNamedWhenTheConfigIsBuilt() {
        java.util.Map<String, org.junit.jupiter.api.function.Executable> cases = new java.util.LinkedHashMap<>();
        cases.put("activation must not be null", () -> VaeConfig.builder().activation(null).build());
        cases.put("likelihood must not be null", () -> VaeConfig.builder().likelihood(null).build());
        cases.put("activation must not be null ", () -> new CvaeConfig(D, 3, new int[] {4}, 2, new int[] {4}, null,
                Likelihood.bernoulli(), 1, 1));
        cases.put("likelihood must not be null ", () -> new M2Config(D, 3, new int[] {4}, new int[] {4}, 2, new int[] {4},
                Activation.RELU, null, 50, 3));
        cases.put("reconstruction must not be null", () -> AutoencoderConfig.builder().reconstruction(null).build());
        cases.put("binarization must not be null", () -> dev.elbo4j.train.TrainConfig.builder().binarization(null).build());
        cases.put("adam must not be null", () -> dev.elbo4j.train.TrainConfig.builder().adam(null).build());
        cases.forEach((want, call) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, want);
            assertTrue(e.getMessage().startsWith(want.strip()), e.getMessage());
        });
    }

    @Test
    void fvbmGivesTheExactLogProbabilityOfHostArrays() {
        int d = 5;
        float[] all = new float[(1 << d) * d];
        for (int s = 0; s < 1 << d; s++) for (int i = 0; i < d; i++) all[s * d + i] = s >> i & 1;
        try (Fvbm f = Fvbm.create(be, new FvbmConfig(d), dev.elbo4j.tensor.DType.F64, 2)) {
            // Move the parameters off their start so the states differ in probability.
            be.write(f.parameters().value("visible_bias"), new double[] {1.5, -1, 0.5, 2, -0.3});
            double[] lp = f.logProb(all);
            double total = 0;
            for (double v : lp) total += Math.exp(v);
            assertEquals(1.0, total, 1e-9);
            assertEquals(1.5 + 2 - f.exact().logZ(), lp[0b01001], 1e-9); // pixels 0 and 3 on
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.logProb(new double[d], 2, f.exact()));
            assertEquals("x has 5 values, not 2 rows of this fvbm model's 5 values", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.logProb(new float[d + 1]));
            assertTrue(e.getMessage().startsWith("x has 6 values, not a whole number of examples of 5 values"), e.getMessage());
        }
    }

    @Test
    void aTrainerRunsWithoutAListener() {
        float[] x = new float[40 * D];
        for (int i = 0; i < x.length; i++) x[i] = (i * 7 % 5) / 4f;
        dev.elbo4j.io.Dataset data = dev.elbo4j.io.Dataset.fromFloats(x, null, 2, 3);
        try (Vae v = Vae.create(be, VaeConfig.builder().inputDim(D).latent(2).hidden(4).build(), 1);
             dev.elbo4j.train.Trainer t = new dev.elbo4j.train.Trainer(v, data, data,
                     dev.elbo4j.train.TrainConfig.builder().epochs(2).batchSize(10).build())) {
            List<dev.elbo4j.train.EpochResult> r = t.run();
            assertEquals(2, r.size());
            assertEquals(2, r.getLast().epoch());
            assertEquals(8, r.getLast().steps());
            assertTrue(Double.isFinite(r.getLast().testElbo()));
        }
    }

    @Test
    void gibbsStepsRefusalsNameNoCommandLineFlag() {
        try (Rbm rbm = Rbm.create(be, new RbmConfig(D, 3, 1, false, 5), 1);
             Dbn dbn = Dbn.create(be, new DbnConfig(D, new int[] {3}, 1, false, 10, 5), 1)) {
            assertEquals("Gibbs steps must be >= 1, got 0", assertThrows(IllegalArgumentException.class, () -> rbm.sampleGibbsSteps(0)).getMessage());
            assertEquals("Gibbs steps must be >= 1, got 0", assertThrows(IllegalArgumentException.class, () -> dbn.sampleGibbsSteps(0)).getMessage());
        }
    }
}
