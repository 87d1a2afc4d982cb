package dev.elbo4j.model;

import dev.elbo4j.rng.RngKey;

/** A model that draws new examples (for {@code elbo4j sample} and the run's samples.png). */
public interface Generative extends Model {

    /**
     * {@code n} samples as the likelihood's means, a host array n x D, from the noise of {@code key}.
     * A conditional model draws class {@code label}, or with {@code label < 0} cycles through its
     * classes (sample i has class i mod C); an unconditional model requires {@code label < 0}.
     */
    float[] sample(int n, RngKey key, int label);
}
