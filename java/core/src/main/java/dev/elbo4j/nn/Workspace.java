package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The activation buffers of a layer stack ({@link Mlp}, {@link TiedMlp}, {@link ConditionalMlp},
 * {@link ConvStack}) for up to {@code maxRows} rows: each layer's output and, for training, its
 * gradient; for a conv stack also the im2col and permutation scratch its layers share. Allocated
 * once; a smaller batch uses the leading rows. A network of several stacks ({@link ImageNet})
 * holds one workspace per stack ({@link #chain}); its output is the last stack's.
 */
public final class Workspace implements AutoCloseable {
    private final Tensor[] acts;
    private final Tensor[] grads;
    private final Tensor[] masks;
    private final boolean[] masked;
    private final Tensor[] scratch;
    private final Workspace[] parts;
    private final int maxRows;

    /** @param widths each layer's output width, input side first */
    Workspace(Backend be, DType dtype, int maxRows, boolean training, int[] widths) {
        this(be, dtype, maxRows, training, widths, new long[0], null);
    }

    /**
     * @param widths each layer's output width, input side first
     * @param relu   which layers are ReLU: for training, each gets a ReLU mask buffer where the backend
     *               keeps masks ({@link Backend#reluMaskRowBytes}); null for none
     */
    Workspace(Backend be, DType dtype, int maxRows, boolean training, int[] widths, boolean[] relu) {
        this(be, dtype, maxRows, training, widths, new long[0], relu);
    }

    /**
     * @param widths         each layer's output width, input side first
     * @param scratchElements sizes of flat scratch buffers ({@link #scratch})
     */
    Workspace(Backend be, DType dtype, int maxRows, boolean training, int[] widths, long[] scratchElements) {
        this(be, dtype, maxRows, training, widths, scratchElements, null);
    }

    private Workspace(Backend be, DType dtype, int maxRows, boolean training, int[] widths, long[] scratchElements,
                      boolean[] relu) {
        this.maxRows = maxRows;
        this.parts = null;
        acts = new Tensor[widths.length];
        grads = new Tensor[widths.length];
        masks = new Tensor[widths.length];
        masked = new boolean[widths.length];
        scratch = new Tensor[scratchElements.length];
        for (int i = 0; i < widths.length; i++) {
            acts[i] = be.alloc(dtype, maxRows, widths[i]);
            if (training) grads[i] = be.alloc(dtype, maxRows, widths[i]);
            int maskBytes = training && relu != null && relu[i] ? be.reluMaskRowBytes(widths[i]) : 0;
            if (maskBytes > 0) masks[i] = be.alloc(DType.U8, maxRows, maskBytes);
        }
        for (int i = 0; i < scratch.length; i++) {
            if (scratchElements[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a scratch buffer of " + scratchElements[i] + " elements is too large for "
                        + maxRows + " rows: use a smaller batch");
            }
            scratch[i] = be.alloc(dtype, (int) Math.max(1, scratchElements[i]));
        }
    }

    private Workspace(Workspace[] parts) {
        this.parts = parts.clone();
        this.acts = new Tensor[0];
        this.grads = new Tensor[0];
        this.masks = new Tensor[0];
        this.masked = new boolean[0];
        this.scratch = new Tensor[0];
        this.maxRows = parts[0].maxRows;
    }

    /** One workspace over the stages of a network, input side first; closing it closes them. */
    static Workspace chain(Workspace... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("a chained workspace needs a part");
        return new Workspace(parts);
    }

    /**
     * Makes each stage's workspace in order and {@link #chain}s them; a {@code null} stage is left
     * out (a network without that stage). Closes the ones already made if a later one fails.
     */
    @SafeVarargs
    static Workspace chainOf(Supplier<Workspace>... stages) {
        List<Workspace> made = new ArrayList<>(stages.length);
        try {
            for (Supplier<Workspace> s : stages) if (s != null) made.add(s.get());
        } catch (RuntimeException e) {
            for (Workspace w : made) w.close();
            throw e;
        }
        return chain(made.toArray(Workspace[]::new));
    }

    /** Stage i of a {@link #chain}ed workspace. */
    Workspace part(int i) {
        return parts[i];
    }

    /** Layer i's output, first {@code rows} rows. */
    Tensor act(int i, int rows) {
        return acts[i].rowSlice(0, rows);
    }

    /** Layer i's output gradient buffer, first {@code rows} rows (training workspaces only). */
    Tensor grad(int i, int rows) {
        return grads[i].rowSlice(0, rows);
    }

    /** Layer i's ReLU mask buffer, first {@code rows} rows, or null where there is none. */
    Tensor mask(int i, int rows) {
        return masks[i] == null ? null : masks[i].rowSlice(0, rows);
    }

    /** Records whether layer i's last forward pass stored its mask (so a backward pass may read it). */
    void masked(int i, boolean stored) {
        masked[i] = stored;
    }

    /** Layer i's mask if its last forward pass stored one, else null. */
    Tensor storedMask(int i, int rows) {
        return masked[i] ? mask(i, rows) : null;
    }

    /** Scratch buffer i as a rows x cols matrix (its leading elements). */
    Tensor scratch(int i, int rows, int cols) {
        return scratch[i].view(0, Shape.of(rows, cols));
    }

    /** Flat scratch buffer i, whole. */
    Tensor scratch(int i) {
        return scratch[i];
    }

    /** Whether this workspace was made for training (it has gradient buffers). */
    boolean training() {
        return grads.length > 0 && grads[0] != null;
    }

    /** Throws unless {@code rows} fit this workspace; returns rows. */
    int check(int rows) {
        if (rows > maxRows) throw new IllegalArgumentException(rows + " rows for a workspace of " + maxRows);
        return rows;
    }

    /** The output of the last layer for the first {@code rows} rows. */
    public Tensor output(int rows) {
        if (parts != null) return parts[parts.length - 1].output(rows);
        return act(acts.length - 1, rows);
    }

    /** The gradient buffer of the last layer's output, to be filled by the loss. */
    public Tensor outputGrad(int rows) {
        if (parts != null) return parts[parts.length - 1].outputGrad(rows);
        return grad(grads.length - 1, rows);
    }

    /** Frees every buffer of this workspace and of the workspaces it chains. */
    @Override
    public void close() {
        for (Tensor t : acts) t.close();
        for (Tensor t : grads) if (t != null) t.close();
        for (Tensor t : masks) if (t != null) t.close();
        for (Tensor t : scratch) t.close();
        if (parts != null) for (Workspace w : parts) w.close();
    }
}
