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

    public String name() {
        return name;
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    public Activation activation() {
        return act;
    }

    /** y (R x out) = act(x (R x in) W^T + b). */
    public void forward(Parameters p, Tensor x, Tensor y) {
        p.backend().linearForward(x, p.value(weight), p.value(bias), act, y);
    }

    /**
     * Given dy (overwritten with the pre-activation gradient), writes dW, db and, if dx is not
     * null, dx = dPre W.
     */
    public void backward(Parameters p, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        p.backend().linearBackward(x, p.value(weight), y, dy, act, p.grad(weight), p.grad(bias), dx);
    }
}
