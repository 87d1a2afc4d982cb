package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A first layer that also takes a one-hot label: h = act(x W^T + y U^T + b), W [out, in],
 * U [out, classes], b [out], named {@code <name>.weight}, {@code <name>.label_weight} and
 * {@code <name>.bias}. It is PyTorch's {@code nn.Linear} on the concatenation [x, y] with the weight
 * split column-wise into W and U, computed as two GEMMs (the second accumulates with beta = 1), so
 * no concatenated input is ever formed.
 *
 * <p>The output may have k times as many rows as x (k >= 1): output row j*Rx + r then belongs to
 * input row r with label row j*Rx + r of y. x W^T is computed once and copied into the k blocks,
 * which is how a model evaluates one input under every class without repeating it.
 */
public final class ConditionalLinear {
    private final String name, weight, labelWeight, bias;
    private final int in, classes, out;
    private final Activation act;

    /**
     * A layer {@code name} from {@code in} values and a {@code classes}-way one-hot label to {@code out}
     * values; nothing is allocated until the parameters are declared and built.
     *
     * @throws IllegalArgumentException when a size is not positive
     */
    public ConditionalLinear(String name, int in, int classes, int out, Activation act) {
        if (in <= 0 || classes <= 0 || out <= 0) {
            throw new IllegalArgumentException("layer " + name + " needs positive sizes, got " + in + " (+ " + classes
                    + " classes) -> " + out);
        }
        this.name = name;
        this.weight = name + ".weight";
        this.labelWeight = name + ".label_weight";
        this.bias = name + ".bias";
        this.in = in;
        this.classes = classes;
        this.out = out;
        this.act = act;
    }

    /**
     * Declares W, U and b, initialised like PyTorch's default for a layer of in + classes inputs:
     * U(-1/sqrt(in + classes), 1/sqrt(in + classes)).
     */
    public void declare(Parameters.Builder p) {
        double bound = 1 / Math.sqrt(in + classes);
        p.add(weight, Shape.of(out, in), Parameters.Init.uniform(bound));
        p.add(labelWeight, Shape.of(out, classes), Parameters.Init.uniform(bound));
        p.add(bias, Shape.of(out), Parameters.Init.uniform(bound));
    }

    /** The layer's name: its parameters are {@code name.weight}, {@code name.label_weight}, {@code name.bias}. */
    public String name() {
        return name;
    }

    /** The activation applied after the bias. */
    public Activation activation() {
        return act;
    }

    /** Values per input row of x. */
    public int in() {
        return in;
    }

    /** C, the width of the one-hot label. */
    public int classes() {
        return classes;
    }

    /** Values per output row. */
    public int out() {
        return out;
    }

    private int blocks(Tensor x, Tensor y, Tensor h) {
        int rx = x.rows(), r = h.rows();
        if (x.cols() != in || y.cols() != classes || h.cols() != out || y.rows() != r || rx == 0 || r % rx != 0) {
            throw new IllegalArgumentException("conditional layer " + weight + ": x " + x.shape() + " (Rx x " + in + "), y "
                    + y.shape() + " and h " + h.shape() + " need y of R x " + classes + " and h of R x " + out
                    + " with R a multiple of Rx");
        }
        return r / rx;
    }

    /** h (R x out) = act(x_rep W^T + y U^T + b), x (Rx x in) repeated R / Rx times, y R x classes. */
    public void forward(Parameters p, Tensor x, Tensor y, Tensor h) {
        Backend be = p.backend();
        int k = blocks(x, y, h), rx = x.rows();
        Tensor first = h.rowSlice(0, rx);
        be.gemm(false, true, 1, x, p.value(weight), 0, first);
        for (int j = 1; j < k; j++) be.copy(first, h.rowSlice(j * rx, rx));
        be.gemm(false, true, 1, y, p.value(labelWeight), 1, h);
        be.biasActivation(h, p.value(bias), act);
    }

    /**
     * Given dh (overwritten with the pre-activation gradient), writes dW = sum_j dPre_j^T x (the
     * k row blocks), dU = dPre^T y, db and, if dx is not null, dx = sum_j dPre_j W.
     */
    public void backward(Parameters p, Tensor x, Tensor y, Tensor h, Tensor dh, Tensor dx) {
        Backend be = p.backend();
        int k = blocks(x, y, h), rx = x.rows();
        be.biasActivationBackward(h, dh, act, p.grad(bias));
        for (int j = 0; j < k; j++) be.gemm(true, false, 1, dh.rowSlice(j * rx, rx), x, j == 0 ? 0 : 1, p.grad(weight));
        be.gemm(true, false, 1, dh, y, 0, p.grad(labelWeight));
        if (dx != null) {
            for (int j = 0; j < k; j++) be.gemm(false, false, 1, dh.rowSlice(j * rx, rx), p.value(weight), j == 0 ? 0 : 1, dx);
        }
    }
}
