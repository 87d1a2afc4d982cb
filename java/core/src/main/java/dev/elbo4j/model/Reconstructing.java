package dev.elbo4j.model;

import dev.elbo4j.tensor.Tensor;

/** A model that maps an input to a reconstruction of it (reconstructions.png, {@code elbo4j reconstruct}). */
public interface Reconstructing extends Model {

    /**
     * Reconstructions of x (N x D) as a host array N x D: decoded at the code's mean for latent
     * models. {@code y} (N x C one-hot) is required by conditional models, ignored (may be null) by others.
     */
    float[] reconstruct(Tensor x, Tensor y);
}
