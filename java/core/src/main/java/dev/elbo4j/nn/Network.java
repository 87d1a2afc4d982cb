package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * An encoder or decoder: rows in, rows out, with its parameters declared into a model's
 * {@link Parameters} and its buffers in a {@link Workspace}. {@link Mlp} is the fully connected
 * one, {@link ImageNet} a conv stack before and/or a transposed-conv stack after dense layers.
 */
public interface Network {
    /** Values per input row. */
    int in();

    /** Values per output row. */
    int out();

    /** Declares this network's parameters, in order, into a model's layout. */
    void declare(Parameters.Builder p);

    /** Buffers for up to {@code maxRows} rows; gradient buffers only for {@code training}. */
    Workspace workspace(Backend be, DType dtype, int maxRows, boolean training);

    /** Runs the network on x (rows x in); the result is {@code ws.output(rows)}. */
    Tensor forward(Parameters p, Workspace ws, Tensor x);

    /**
     * Backpropagates {@code ws.outputGrad(rows)} (filled by the caller), writing parameter
     * gradients and, if dx is not null, the input gradient. Needs the last forward's activations.
     */
    void backward(Parameters p, Workspace ws, Tensor x, Tensor dx);
}
