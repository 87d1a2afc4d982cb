package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A stack of {@link Linear} layers: hidden layers with one activation, the last with its own
 * (identity for the encoder's Gaussian statistics and the decoder's logits or means).
 */
public final class Mlp {
    private final List<Linear> layers;

    /**
     * @param prefix parameter name prefix ("encoder", "decoder"): layer i is "prefix.i"
     * @param sizes  in, hidden..., out (at least two)
     */
    public Mlp(String prefix, int[] sizes, Activation hidden, Activation last) {
        if (sizes.length < 2) {
            throw new IllegalArgumentException(prefix + " needs at least an input and an output size");
        }
        List<Linear> l = new ArrayList<>();
        for (int i = 0; i + 1 < sizes.length; i++) {
            l.add(new Linear(prefix + "." + i, sizes[i], sizes[i + 1], i + 2 == sizes.length ? last : hidden));
        }
        this.layers = List.copyOf(l);
    }

    public List<Linear> layers() {
        return layers;
    }

    public int in() {
        return layers.getFirst().in();
    }

    public int out() {
        return layers.getLast().out();
    }

    public void declare(Parameters.Builder p) {
        for (Linear l : layers) l.declare(p);
    }

    /** Activation buffers for up to {@code maxRows} rows: the output of each layer and its gradient. */
    public final class Workspace implements AutoCloseable {
        private final Tensor[] acts;
        private final Tensor[] grads;
        private final int maxRows;

        Workspace(Backend be, DType dtype, int maxRows, boolean training) {
            this.maxRows = maxRows;
            acts = new Tensor[layers.size()];
            grads = new Tensor[layers.size()];
            for (int i = 0; i < layers.size(); i++) {
                acts[i] = be.alloc(dtype, maxRows, layers.get(i).out());
                if (training) grads[i] = be.alloc(dtype, maxRows, layers.get(i).out());
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

    /** Runs the stack on x (rows x in); the result is {@code ws.output(rows)}. */
    public Tensor forward(Parameters p, Workspace ws, Tensor x) {
        int rows = x.rows();
        checkRows(ws, rows);
        Tensor in = x;
        for (int i = 0; i < layers.size(); i++) {
            Tensor y = ws.acts[i].rowSlice(0, rows);
            layers.get(i).forward(p, in, y);
            in = y;
        }
        return in;
    }

    /**
     * Backpropagates {@code ws.outputGrad(rows)} (filled by the caller) through the stack,
     * writing parameter gradients and, if dx is not null, the input gradient.
     */
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor dx) {
        int rows = x.rows();
        checkRows(ws, rows);
        for (int i = layers.size() - 1; i >= 0; i--) {
            Tensor in = i == 0 ? x : ws.acts[i - 1].rowSlice(0, rows);
            Tensor dIn = i == 0 ? dx : ws.grads[i - 1].rowSlice(0, rows);
            layers.get(i).backward(p, in, ws.acts[i].rowSlice(0, rows), ws.grads[i].rowSlice(0, rows), dIn);
        }
    }

    private static void checkRows(Workspace ws, int rows) {
        if (rows > ws.maxRows) {
            throw new IllegalArgumentException(rows + " rows for a workspace of " + ws.maxRows);
        }
    }
}
