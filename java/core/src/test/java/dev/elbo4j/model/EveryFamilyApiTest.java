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

/**
 * What every family answers alike through the public interfaces, so that code written against
 * {@link Generative} works on each: {@code sample(n, key)} without a label.
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
}
