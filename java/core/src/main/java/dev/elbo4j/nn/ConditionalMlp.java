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
public final class ConditionalMlp {
    private final ConditionalLinear first;
    private final List<Linear> rest;

    /**
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

    public int in() {
        return first.in();
    }

    public int out() {
        return rest.isEmpty() ? first.out() : rest.getLast().out();
    }

    public int classes() {
        return first.classes();
    }

    public void declare(Parameters.Builder p) {
        first.declare(p);
        for (Linear l : rest) l.declare(p);
    }

    private int width(int i) {
        return i == 0 ? first.out() : rest.get(i - 1).out();
    }

    /** Activation buffers for up to {@code maxRows} output rows: each layer's output and its gradient. */
    public final class Workspace implements AutoCloseable {
        private final Tensor[] acts, grads;
        private final int maxRows;

        Workspace(Backend be, DType dtype, int maxRows, boolean training) {
            this.maxRows = maxRows;
            int n = rest.size() + 1;
            acts = new Tensor[n];
            grads = new Tensor[n];
            for (int i = 0; i < n; i++) {
                acts[i] = be.alloc(dtype, maxRows, width(i));
                if (training) grads[i] = be.alloc(dtype, maxRows, width(i));
            }
        }

        /** The output of the last layer for the first {@code rows} rows. */
        public Tensor output(int rows) {
            return acts[acts.length - 1].rowSlice(0, rows);
        }

        /** The gradient buffer of the last layer's output, to be filled by the loss. */
        public Tensor outputGrad(int rows) {
            return grads[grads.length - 1].rowSlice(0, rows);
        }

        @Override
        public void close() {
            for (Tensor t : acts) t.close();
            for (Tensor t : grads) if (t != null) t.close();
        }
    }

    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        return new Workspace(be, dtype, maxRows, training);
    }

    /** Runs the stack on x (Rx x in) with labels y (R x C, R = k Rx); the result is {@code ws.output(R)}. */
    public Tensor forward(Parameters p, Workspace ws, Tensor x, Tensor y) {
        int rows = checkRows(ws, y);
        Tensor h = ws.acts[0].rowSlice(0, rows);
        first.forward(p, x, y, h);
        for (int i = 0; i < rest.size(); i++) {
            Tensor o = ws.acts[i + 1].rowSlice(0, rows);
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
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dx) {
        int rows = checkRows(ws, y);
        for (int i = rest.size() - 1; i >= 0; i--) {
            rest.get(i).backward(p, ws.acts[i].rowSlice(0, rows), ws.acts[i + 1].rowSlice(0, rows),
                    ws.grads[i + 1].rowSlice(0, rows), ws.grads[i].rowSlice(0, rows));
        }
        first.backward(p, x, y, ws.acts[0].rowSlice(0, rows), ws.grads[0].rowSlice(0, rows), dx);
    }

    private static int checkRows(Workspace ws, Tensor y) {
        int rows = y.rows();
        if (rows > ws.maxRows) throw new IllegalArgumentException(rows + " rows for a workspace of " + ws.maxRows);
        return rows;
    }
}
