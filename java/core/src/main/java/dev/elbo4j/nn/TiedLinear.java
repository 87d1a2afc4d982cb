package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A layer that borrows another layer's weight, transposed: y = act(x W + b), where W, of shape
 * [in, out], is the weight of a {@link Linear} going the other way (out -> in), which stores it as
 * PyTorch's [out_features, in_features] = [in, out]; x W is x (W^T)^T, the owner's transpose. Only the bias {@code name.bias}
 * belongs to this layer; the weight's gradient from this use is ADDED to the owner's gradient by
 * {@link #accumulateWeightGrad}, so the owner must write (overwrite) its own gradient first.
 */
public final class TiedLinear {
    private final String name, weight, bias;
    private final int in, out;
    private final Activation act;

    /**
     * A layer computing y = act(x W^T-of-the-owner + b): the weight is read from the owner's parameter, only
     * the bias is this layer's.
     *
     * @param name   this layer's name ("decoder.0"): its bias is {@code name + ".bias"}
     * @param weight the borrowed weight's parameter name, a tensor of shape [in, out]
     * @param in     input size (the owner's output size)
     * @param out    output size (the owner's input size)
     */
    public TiedLinear(String name, String weight, int in, int out, Activation act) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("layer " + name + " needs positive sizes, got " + in + " -> " + out);
        }
        this.name = name;
        this.weight = weight;
        this.bias = name + ".bias";
        this.in = in;
        this.out = out;
        this.act = act;
    }

    /** Declares the bias only, initialised U(-1/sqrt(in), 1/sqrt(in)) like {@link Linear}'s. */
    public void declare(Parameters.Builder p) {
        p.add(bias, Shape.of(out), Parameters.Init.uniform(1 / Math.sqrt(in)));
    }

    /** The layer's name (its bias is {@code name + ".bias"}). */
    public String name() {
        return name;
    }

    /** The borrowed weight's parameter name. */
    public String weight() {
        return weight;
    }

    /** Input size. */
    public int in() {
        return in;
    }

    /** Output size. */
    public int out() {
        return out;
    }

    /** The activation applied after the bias. */
    public Activation activation() {
        return act;
    }

    /** y (R x out) = act(x (R x in) W + b), W the borrowed [in, out] weight. */
    public void forward(Parameters p, Tensor x, Tensor y) {
        Backend be = p.backend();
        be.gemm(false, false, 1, x, p.value(weight), 0, y);
        be.biasActivation(y, p.value(bias), act);
    }

    /**
     * Given dy (overwritten with the pre-activation gradient dPre), writes db = sum_r dPre[r] and,
     * if dx is not null, dx = dPre W^T. The weight's gradient is left to {@link #accumulateWeightGrad}.
     */
    public void backwardInput(Parameters p, Tensor y, Tensor dy, Tensor dx) {
        Backend be = p.backend();
        be.biasActivationBackward(y, dy, act, p.grad(bias));
        if (dx != null) {
            be.gemm(false, true, 1, dy, p.value(weight), 0, dx);
        }
    }

    /** dW += x^T dPre ([in, out]), from the input x and the dPre that {@link #backwardInput} left in dy. */
    public void accumulateWeightGrad(Parameters p, Tensor x, Tensor dPre) {
        p.backend().gemm(true, false, 1, x, dPre, 1, p.grad(weight));
    }
}
