package dev.elbo4j.model;

import dev.elbo4j.tensor.Tensor;

/**
 * One training batch on the model's backend.
 *
 * @param x         inputs, B x D, scaled to [0, 1] (binarised if the run binarises)
 * @param y         one-hot labels of x, B x C, for {@link LabelUse#ALL}; null otherwise
 * @param xLabelled for {@link LabelUse#SOME}: inputs of the labelled subset, Bl x D (x is then unlabelled)
 * @param yLabelled for {@link LabelUse#SOME}: their one-hot labels, Bl x C
 */
public record Batch(Tensor x, Tensor y, Tensor xLabelled, Tensor yLabelled) {

    /** An unlabelled batch of inputs {@code x} (B x D). */
    public static Batch of(Tensor x) {
        return new Batch(x, null, null, null);
    }

    /** B, the number of (unlabelled) inputs: the rows of {@code x}. */
    public int size() {
        return x.rows();
    }
}
