package dev.elbo4j.model;

import dev.elbo4j.tensor.Tensor;

/**
 * A model with a continuous code z that can be read and decoded: what {@code elbo4j latent}
 * (interpolation, attribute vectors, manifold, scatter) works on.
 */
public interface LatentModel extends Generative, Reconstructing {

    /** Z, the dimension of the code. */
    int latent();

    /**
     * The code of each input, N x Z as a host array: the posterior mean for a VAE. {@code y} as in
     * {@link #reconstruct}.
     */
    float[] encodeMean(Tensor x, Tensor y);

    /** {@link #encodeMean(Tensor, Tensor)} for an unconditional model (no labels). */
    default float[] encodeMean(Tensor x) {
        return encodeMean(x, null);
    }

    /** Decodes codes z (N x Z) into the likelihood's means, a host array N x D. {@code y} as in {@link #reconstruct}. */
    float[] decodeMean(Tensor z, Tensor y);
}
