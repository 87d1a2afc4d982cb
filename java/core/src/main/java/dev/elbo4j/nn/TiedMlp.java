package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The mirror of an {@link Mlp} with tied weights: layer i uses the transpose of the weight of the
 * owner's layer (n-1-i) and has its own bias, so an owner of sizes [s0, s1, ..., sn] gives a stack
 * of sizes [sn, ..., s1, s0]. Layer i is named {@code prefix.i} (its bias {@code prefix.i.bias});
 * the weights are {@code owner.(n-1-i).weight}.
 *
 * <p>Backward is split in two because the owner's backward overwrites the shared weights'
 * gradients: {@link #backward} writes the biases' and the input's gradients; after the owner's
 * backward, {@link #accumulateWeightGrads} adds this stack's share to the shared weights' gradients.
 */
public final class TiedMlp {
    private final List<TiedLinear> layers;

    /**
     * The mirror of an owner {@link Mlp} named {@code ownerName} with sizes {@code ownerSizes}; hidden layers
     * use {@code hidden}, the last {@code last}.
     *
     * @param prefix     parameter name prefix of the biases ("decoder")
     * @param ownerName  parameter name prefix of the owner ("encoder")
     * @param ownerSizes the owner's sizes: in, hidden..., out (at least two)
     */
    public TiedMlp(String prefix, String ownerName, int[] ownerSizes, Activation hidden, Activation last) {
        int n = ownerSizes.length - 1;
        if (n < 1) throw new IllegalArgumentException(prefix + " needs at least an input and an output size");
        List<TiedLinear> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int owner = n - 1 - i;
            l.add(new TiedLinear(prefix + "." + i, ownerName + "." + owner + ".weight", ownerSizes[owner + 1],
                    ownerSizes[owner], i == n - 1 ? last : hidden));
        }
        this.layers = List.copyOf(l);
    }

    /** The layers, code side first. */
    public List<TiedLinear> layers() {
        return layers;
    }

    /** Input size: the owner's output size. */
    public int in() {
        return layers.getFirst().in();
    }

    /** Output size: the owner's input size. */
    public int out() {
        return layers.getLast().out();
    }

    /** Declares the biases (the weights are the owner's). */
    public void declare(Parameters.Builder p) {
        for (TiedLinear l : layers) l.declare(p);
    }

    /** Buffers for up to {@code maxRows} rows; gradient buffers only for {@code training}. */
    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        int[] widths = new int[layers.size()];
        for (int i = 0; i < widths.length; i++) widths[i] = layers.get(i).out();
        return new Workspace(be, dtype, maxRows, training, widths);
    }

    /** Runs the stack on x (rows x in); the result is {@code ws.output(rows)}. */
    public Tensor forward(Parameters p, Workspace ws, Tensor x) {
        int rows = ws.check(x.rows());
        Tensor in = x;
        for (int i = 0; i < layers.size(); i++) {
            Tensor y = ws.act(i, rows);
            layers.get(i).forward(p, in, y);
            in = y;
        }
        return in;
    }

    /**
     * Backpropagates {@code ws.outputGrad(rows)} (filled by the caller) through the stack: writes
     * the biases' gradients and, if dx is not null, the input gradient; leaves each layer's
     * pre-activation gradient in the workspace for {@link #accumulateWeightGrads}.
     */
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor dx) {
        int rows = ws.check(x.rows());
        for (int i = layers.size() - 1; i >= 0; i--) {
            Tensor dIn = i == 0 ? dx : ws.grad(i - 1, rows);
            layers.get(i).backwardInput(p, ws.act(i, rows), ws.grad(i, rows), dIn);
        }
    }

    /**
     * Adds every layer's share of its shared weight's gradient, x_i^T dPre_i, to the owner's
     * gradient; call after {@link #backward} on the same workspace and input x, and after the
     * owner has written its own gradients.
     */
    public void accumulateWeightGrads(Parameters p, Workspace ws, Tensor x) {
        int rows = ws.check(x.rows());
        for (int i = 0; i < layers.size(); i++) {
            Tensor in = i == 0 ? x : ws.act(i - 1, rows);
            layers.get(i).accumulateWeightGrad(p, in, ws.grad(i, rows));
        }
    }
}
