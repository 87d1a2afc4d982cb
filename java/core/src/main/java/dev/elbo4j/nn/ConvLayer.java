package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.Tensor;

/**
 * A layer of a {@link ConvStack}: NCHW images in, NCHW images out, one image per row. The stack's
 * workspace lends each layer four scratch buffers ({@link #COLS}, {@link #COLS2}, {@link #ROWS},
 * {@link #ROWS2}), sized by {@link #scratchElements}; layers run one at a time, so they share them.
 * A training workspace also gives each layer a buffer of its own ({@link #keptElements}) that
 * lasts from its forward pass to its backward pass.
 */
public sealed interface ConvLayer permits Conv2d, ConvTranspose2d {
    /** Scratch buffer indices: two im2col matrices and two channels-last row matrices. */
    int COLS = 0, COLS2 = 1, ROWS = 2, ROWS2 = 3;

    /** The parameter name prefix ("encoder.conv.0"). */
    String name();

    /** The activation after the bias. */
    Activation activation();

    /** Elements of an input row. */
    int in();

    /** Elements of an output row. */
    int out();

    /** The convolution's geometry (for a transposed convolution: of the convolution it is the adjoint of). */
    ConvGeometry geometry();

    /** Declares this layer's weight and bias into a model's layout. */
    void declare(Parameters.Builder p);

    /** Elements each scratch buffer needs for {@code rows} images, indexed as {@link #COLS}... */
    long[] scratchElements(int rows);

    /**
     * Elements this layer keeps from its forward pass for its backward pass in a training
     * workspace ({@code kept} below), for {@code rows} images; 0 for none.
     */
    default long keptElements(int rows) {
        return 0;
    }

    /**
     * y (B x out) from x (B x in). {@code kept}: this layer's own buffer of {@link #keptElements}
     * in a training workspace (written here, read by the backward pass), else null.
     */
    void forward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor kept);

    /**
     * Given dy (overwritten with the pre-activation gradient), writes the weight and bias
     * gradients and, if dx is not null, dx (overwritten). Needs the forward's x and y, and
     * {@code kept} as that forward pass left it (or null, when it had none).
     */
    void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dy, Tensor dx, Tensor kept);
}
