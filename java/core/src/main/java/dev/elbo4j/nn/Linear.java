package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * y = act(x W^T + b), W stored [out, in] as in PyTorch's {@code nn.Linear}. Forward keeps only the
 * output; backward takes the input and output back from the caller.
 */
public final class Linear {
    private final String name, weight, bias;
    private final int in, out;
    private final Activation act;

    /**
     * A layer {@code name} from {@code in} to {@code out} values with activation {@code act}; its parameters
     * are {@code name.weight} and {@code name.bias}.
     *
     * @throws IllegalArgumentException when a size is not positive
     */
    public Linear(String name, int in, int out, Activation act) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("layer " + name + " needs positive sizes, got " + in + " -> " + out);
        }
        this.name = name;
        this.weight = name + ".weight";
        this.bias = name + ".bias";
        this.in = in;
        this.out = out;
        this.act = act;
    }

    /** Declares W and b, initialised like PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)). */
    public void declare(Parameters.Builder p) {
        double bound = 1 / Math.sqrt(in);
        p.add(weight, Shape.of(out, in), Parameters.Init.uniform(bound));
        p.add(bias, Shape.of(out), Parameters.Init.uniform(bound));
    }

    /** The layer's name, the prefix of its parameters' names. */
    public String name() {
        return name;
    }

    /** Values per input row. */
    public int in() {
        return in;
    }

    /** Values per output row. */
    public int out() {
        return out;
    }

    /** The activation applied after the bias. */
    public Activation activation() {
        return act;
    }

    /** y (R x out) = act(x (R x in) W^T + b). */
    public void forward(Parameters p, Tensor x, Tensor y) {
        p.backend().linearForward(x, p.value(weight), p.value(bias), act, y);
    }

    /**
     * As {@link #forward}, also storing the ReLU mask of y in {@code mask} where the backend can
     * ({@link dev.elbo4j.backend.Backend#linearForwardMasked}); returns whether it did.
     */
    public boolean forwardMasked(Parameters p, Tensor x, Tensor y, Tensor mask) {
        return p.backend().linearForwardMasked(x, p.value(weight), p.value(bias), act, y, mask);
    }

    /** This layer's bias gradient. */
    public Tensor biasGrad(Parameters p) {
        return p.grad(bias);
    }

    /**
     * Backward where x is the output of the ReLU layer {@code below}, whose forward stored
     * {@code xMask}: besides dW and db, dx (not null) becomes the gradient at {@code below}'s
     * pre-activation and {@code below}'s bias gradient is written
     * ({@link dev.elbo4j.backend.Backend#linearBackwardReluInput}); {@code below} then runs
     * {@link #backwardPre}. With {@code pre}, dy already is this layer's pre-activation gradient and
     * its bias gradient is done.
     */
    public void backwardReluInput(Parameters p, Tensor x, Tensor y, Tensor dy, Tensor dx, boolean pre, Linear below,
                                  Tensor xMask) {
        if (below.act != Activation.RELU || below.out != in) {
            throw new IllegalArgumentException("layer " + below.name + " is not a ReLU layer feeding " + name);
        }
        p.backend().linearBackwardReluInput(x, p.value(weight), y, dy, pre ? Activation.IDENTITY : act, p.grad(weight),
                pre ? null : p.grad(bias), dx, xMask, below.biasGrad(p));
    }

    /**
     * Backward of a layer whose dy already is the pre-activation gradient and whose bias gradient is
     * done (by the layer above's {@link #backwardReluInput}): dW and, if dx is not null, dx.
     */
    public void backwardPre(Parameters p, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        p.backend().linearBackward(x, p.value(weight), y, dy, Activation.IDENTITY, p.grad(weight), null, dx);
    }

    /**
     * Given dy (overwritten with the pre-activation gradient), writes dW, db and, if dx is not
     * null, dx = dPre W.
     */
    public void backward(Parameters p, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        p.backend().linearBackward(x, p.value(weight), y, dy, act, p.grad(weight), p.grad(bias), dx);
    }
}
