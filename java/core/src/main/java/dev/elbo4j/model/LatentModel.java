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

    /**
     * {@link #encodeMean(Tensor, Tensor)} of host inputs: {@code x} holds N examples of D values
     * each, row-major, on the scale the model was trained on (pixels in [0, 1] for the image data
     * of {@link dev.elbo4j.io.Dataset}); the result is N x Z. {@code labels} holds each example's
     * class (0..C-1) for a conditional model (for M2, null uses its classifier's guess) and must be
     * null for an unconditional one.
     *
     * @throws IllegalArgumentException naming the argument when x is not a whole number of examples,
     *                                  holds a value outside [0, 1] (a NaN included), or a label is missing or out of range
     */
    default float[] encodeMean(float[] x, int[] labels) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x);
             Tensor yt = HostArrays.oneHot(this, "labels", labels, xt.rows(), config().labelUse() == LabelUse.ALL)) {
            return encodeMean(xt, yt);
        }
    }

    /** {@link #encodeMean(float[], int[])} for an unconditional model (or M2's guessed classes). */
    default float[] encodeMean(float[] x) {
        return encodeMean(x, null);
    }

    /**
     * {@link #decodeMean(Tensor, Tensor)} of host codes: {@code z} holds N codes of Z values,
     * row-major; {@code labels} as in {@link #encodeMean(float[], int[])} (required by the
     * conditional models). Returns the likelihood's means, N x D.
     */
    default float[] decodeMean(float[] z, int[] labels) {
        try (Tensor zt = HostArrays.upload(this, "z", z, latent(), "latent values");
             Tensor yt = HostArrays.oneHot(this, "labels", labels, zt.rows(), true)) {
            return decodeMean(zt, yt);
        }
    }

    /** {@link #decodeMean(float[], int[])} for an unconditional model. */
    default float[] decodeMean(float[] z) {
        return decodeMean(z, null);
    }
}
