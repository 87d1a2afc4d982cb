package dev.elbo4j.model;

import dev.elbo4j.tensor.Tensor;

/** A model that maps an input to a reconstruction of it (reconstructions.png, {@code elbo4j reconstruct}). */
public interface Reconstructing extends Model {

    /**
     * Reconstructions of x (N x D) as a host array N x D: decoded at the code's mean for latent
     * models. {@code y} (N x C one-hot) is required by conditional models, ignored (may be null) by others.
     */
    float[] reconstruct(Tensor x, Tensor y);

    /**
     * {@link #reconstruct(Tensor, Tensor)} of host inputs: {@code x} holds N examples of D values,
     * row-major, on the training data's scale (pixels in [0, 1]); {@code labels} the class of each
     * example (0..C-1) for a conditional model, null otherwise. Returns N x D.
     *
     * @throws IllegalArgumentException naming the argument when x is not a whole number of examples,
     *                                  holds a value outside [0, 1] (a NaN included), or a label is missing or out of range
     */
    default float[] reconstruct(float[] x, int[] labels) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x);
             Tensor yt = HostArrays.oneHot(this, "labels", labels, xt.rows(), config().labelUse() == LabelUse.ALL)) {
            return reconstruct(xt, yt);
        }
    }

    /** {@link #reconstruct(float[], int[])} for an unconditional model. */
    default float[] reconstruct(float[] x) {
        return reconstruct(x, null);
    }
}
