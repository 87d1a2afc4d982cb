package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * An MLP whose first layer also takes a one-hot label ({@link ConditionalLinear}, layer
 * {@code prefix.0}); the layers after it are {@link Linear} ({@code prefix.1}, ...), hidden layers
 * with one activation and the last with its own. Rows: the output has as many rows as the labels
 * y, a multiple k of the input rows (see {@link ConditionalLinear}).
 */
public final class ConditionalMlp implements ConditionalNetwork {
    private final ConditionalLinear first;
    private final List<Linear> rest;

    /**
     * Layers {@code prefix.0} (conditional) to {@code prefix.(n-2)}, activated with {@code hidden} except the
     * last, which uses {@code last}.
     *
     * @param prefix  parameter name prefix: layer i is "prefix.i"
     * @param sizes   in, hidden..., out (at least two); the label joins the first layer
     * @param classes C, the width of the one-hot label
     */
    public ConditionalMlp(String prefix, int[] sizes, int classes, Activation hidden, Activation last) {
        if (sizes.length < 2) throw new IllegalArgumentException(prefix + " needs at least an input and an output size");
        this.first = new ConditionalLinear(prefix + ".0", sizes[0], classes, sizes[1], sizes.length == 2 ? last : hidden);
        List<Linear> l = new ArrayList<>();
        for (int i = 1; i + 1 < sizes.length; i++) {
            l.add(new Linear(prefix + "." + i, sizes[i], sizes[i + 1], i + 2 == sizes.length ? last : hidden));
        }
        this.rest = List.copyOf(l);
    }

    /** The first layer, which takes the label. */
    public ConditionalLinear first() {
        return first;
    }

    /** The layers after the first, in order. */
    public List<Linear> rest() {
        return rest;
    }

    @Override
    public int in() {
        return first.in();
    }

    @Override
    public int out() {
        return rest.isEmpty() ? first.out() : rest.getLast().out();
    }

    @Override
    public int classes() {
        return first.classes();
    }

    @Override
    public void declare(Parameters.Builder p) {
        first.declare(p);
        for (Linear l : rest) l.declare(p);
    }

    private int width(int i) {
        return i == 0 ? first.out() : rest.get(i - 1).out();
    }

    /** Buffers for up to {@code maxRows} output rows; gradient buffers only for {@code training}. */
    @Override
    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        int[] widths = new int[rest.size() + 1];
        for (int i = 0; i < widths.length; i++) widths[i] = width(i);
        return new Workspace(be, dtype, maxRows, training, widths);
    }

    /** Runs the stack on x (Rx x in) with labels y (R x C, R = k Rx); the result is {@code ws.output(R)}. */
    @Override
    public Tensor forward(Parameters p, Workspace ws, Tensor x, Tensor y) {
        int rows = ws.check(y.rows());
        Tensor h = ws.act(0, rows);
        first.forward(p, x, y, h);
        for (int i = 0; i < rest.size(); i++) {
            Tensor o = ws.act(i + 1, rows);
            rest.get(i).forward(p, h, o);
            h = o;
        }
        return h;
    }

    /**
     * Backpropagates {@code ws.outputGrad(R)} (filled by the caller) through the stack, writing
     * every parameter gradient and, if dx is not null, the input gradient (Rx x in, summed over
     * the k blocks). Needs the activations of the last {@link #forward} on the same x and y.
     */
    @Override
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dx) {
        int rows = ws.check(y.rows());
        for (int i = rest.size() - 1; i >= 0; i--) {
            rest.get(i).backward(p, ws.act(i, rows), ws.act(i + 1, rows),
                    ws.grad(i + 1, rows), ws.grad(i, rows));
        }
        first.backward(p, x, y, ws.act(0, rows), ws.grad(0, rows), dx);
    }
}
