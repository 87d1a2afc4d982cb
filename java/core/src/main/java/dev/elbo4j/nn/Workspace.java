package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * The activation buffers of a layer stack ({@link Mlp}, {@link TiedMlp}, {@link ConditionalMlp})
 * for up to {@code maxRows} rows: each layer's output and, for training, its gradient. Allocated
 * once; a smaller batch uses the leading rows.
 */
public final class Workspace implements AutoCloseable {
    private final Tensor[] acts;
    private final Tensor[] grads;
    private final int maxRows;

    /** @param widths each layer's output width, input side first */
    Workspace(Backend be, DType dtype, int maxRows, boolean training, int[] widths) {
        this.maxRows = maxRows;
        acts = new Tensor[widths.length];
        grads = new Tensor[widths.length];
        for (int i = 0; i < widths.length; i++) {
            acts[i] = be.alloc(dtype, maxRows, widths[i]);
            if (training) grads[i] = be.alloc(dtype, maxRows, widths[i]);
        }
    }

    /** Layer i's output, first {@code rows} rows. */
    Tensor act(int i, int rows) {
        return acts[i].rowSlice(0, rows);
    }

    /** Layer i's output gradient buffer, first {@code rows} rows (training workspaces only). */
    Tensor grad(int i, int rows) {
        return grads[i].rowSlice(0, rows);
    }

    /** Throws unless {@code rows} fit this workspace; returns rows. */
    int check(int rows) {
        if (rows > maxRows) throw new IllegalArgumentException(rows + " rows for a workspace of " + maxRows);
        return rows;
    }

    /** The output of the last layer for the first {@code rows} rows. */
    public Tensor output(int rows) {
        return act(acts.length - 1, rows);
    }

    /** The gradient buffer of the last layer's output, to be filled by the loss. */
    public Tensor outputGrad(int rows) {
        return grad(grads.length - 1, rows);
    }

    @Override
    public void close() {
        for (Tensor t : acts) t.close();
        for (Tensor t : grads) if (t != null) t.close();
    }
}
