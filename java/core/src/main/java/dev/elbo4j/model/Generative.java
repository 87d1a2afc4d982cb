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

    /**
     * {@code n} samples with no label chosen: {@link #sample(int, RngKey, int) sample(n, key, -1)}, so
     * every family draws the same way (a conditional model cycles through its classes). For example
     * {@code model.sample(16, new RngKey(seed, Streams.SAMPLE, 0))} gives 16 x D values.
     */
    default float[] sample(int n, RngKey key) {
        return sample(n, key, -1);
    }
}
