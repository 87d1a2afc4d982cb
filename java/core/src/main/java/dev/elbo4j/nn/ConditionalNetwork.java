package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * A {@link Network} that also takes a one-hot label y, joining its first dense layer
 * ({@link ConditionalLinear}); the output has as many rows as y, a multiple k of x's rows.
 * {@link ConditionalMlp} is the fully connected one, {@link ConditionalImageNet} the one with
 * conv stacks.
 */
public interface ConditionalNetwork {
    /** Values per input row of x. */
    int in();

    /** Values per output row. */
    int out();

    /** C, the width of the one-hot label y. */
    int classes();

    /** Declares this network's parameters, in order, into a model's layout. */
    void declare(Parameters.Builder p);

    /** Buffers for up to {@code maxRows} output rows; gradient buffers only for {@code training}. */
    Workspace workspace(Backend be, DType dtype, int maxRows, boolean training);

    /** Runs the network on x (Rx x in) with labels y (R x C, R = k Rx); the result is {@code ws.output(R)}. */
    Tensor forward(Parameters p, Workspace ws, Tensor x, Tensor y);

    /** Backpropagates {@code ws.outputGrad(R)}; dx (Rx x in, summed over the k blocks) if not null. */
    void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dx);
}
