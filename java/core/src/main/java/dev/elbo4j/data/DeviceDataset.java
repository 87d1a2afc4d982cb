package dev.elbo4j.data;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A data set resident on a backend as 8-bit pixels (N x D), with an index buffer that says which
 * examples form the batches. Batches are gathered, scaled and binarised on the backend.
 */
public final class DeviceDataset implements AutoCloseable {
    private final Backend backend;
    private final Dataset host;
    private final Tensor pixels;
    private final Tensor index;
    private final Tensor oneHot;
    /** Scaling without binarisation draws no random numbers; the gather still takes a key. */
    private static final RngKey UNUSED_KEY = new RngKey(0, 0, 0);
    private boolean closed;

    /** The images of {@code host} uploaded to {@code backend} (as 8-bit levels), without labels: what {@link dev.elbo4j.eval.Evaluator} reads for an unconditional model. Close it to free the copy. */
    public DeviceDataset(Backend backend, Dataset host) {
        this(backend, host, 0);
    }

    /**
     * With {@code classes > 0} the labels are uploaded too, as one-hot rows (N x classes, 8-bit),
     * so {@link #gatherLabels} fetches them through the same kernel and order as the pixels.
     */
    public DeviceDataset(Backend backend, Dataset host, int classes) {
        this.backend = backend;
        this.host = host;
        int n = host.n(), d = host.dim();
        if (classes < 0) throw new IllegalArgumentException("classes must be >= 0, got " + classes);
        if (classes > 0) {
            if (!host.hasLabels()) throw new IllegalArgumentException("the model needs labels; the data set has none");
            byte[] hot = new byte[n * classes];
            for (int i = 0; i < n; i++) {
                int y = host.label(i);
                if (y >= classes) {
                    throw new IllegalArgumentException("example " + i + " has label " + y + ", the model knows "
                            + classes + " classes (0.." + (classes - 1) + ")");
                }
                hot[i * classes + y] = (byte) 255;
            }
            this.oneHot = backend.upload(hot, Shape.of(n, classes));
        } else {
            this.oneHot = null;
        }
        this.pixels = backend.upload(host.images(), Shape.of(n, d));
        int[] identity = new int[n];
        for (int i = 0; i < n; i++) identity[i] = i;
        this.index = backend.upload(identity, Shape.of(n));
    }

    /** The data set it was uploaded from. */
    public Dataset host() {
        return host;
    }

    /** N, the number of examples. */
    public int size() {
        return host.n();
    }

    /** Pixels per example. */
    public int dim() {
        return pixels.cols();
    }

    /** Sets the order of the examples (a permutation of 0..N-1) used by {@link #gather}. */
    public void order(int[] permutation) {
        if (permutation.length != size()) {
            throw new IllegalArgumentException("order of " + permutation.length + " for " + size() + " examples");
        }
        backend.write(index, permutation);
    }

    /** Writes examples order[from .. from + out.rows) into out, scaled and binarised. */
    public void gather(int from, Binarization mode, RngKey key, Tensor out) {
        checkOpen();
        backend.gather(pixels, index, from, mode, key, out);
    }

    /**
     * The order on the device (I32, one entry per example), as {@link #order(int[])} last set it:
     * for a gather whose batch is selected on the device ({@code dev.elbo4j.backend.cuda.BatchCursor}).
     */
    public Tensor orderOnDevice() {
        return index;
    }

    /** Writes the examples numbered {@code rows[0 .. out.rows)} (I32, data set rows) into out, scaled and binarised. */
    public void gatherRows(Tensor rows, Binarization mode, RngKey key, Tensor out) {
        checkOpen();
        backend.gather(pixels, rows, 0, mode, key, out);
    }

    /** Classes of the one-hot labels (0 when the labels were not uploaded). */
    public int classes() {
        return oneHot == null ? 0 : oneHot.cols();
    }

    /** Writes the one-hot labels of examples order[from .. from + out.rows) into out (F32, rows x classes). */
    public void gatherLabels(int from, Tensor out) {
        checkOpen();
        if (oneHot == null) throw new IllegalStateException("this data set was uploaded without labels");
        backend.gather(oneHot, index, from, Binarization.NONE, UNUSED_KEY, out);
    }

    /** Writes the one-hot labels of the examples numbered {@code rows[0 .. out.rows)} (I32, data set rows) into out. */
    public void gatherLabelRows(Tensor rows, Tensor out) {
        checkOpen();
        if (oneHot == null) throw new IllegalStateException("this data set was uploaded without labels");
        backend.gather(oneHot, rows, 0, Binarization.NONE, UNUSED_KEY, out);
    }

    /** Refuses a data set whose device copy was freed (a gather would read freed memory on a GPU). */
    private void checkOpen() {
        if (closed) throw new IllegalStateException("this DeviceDataset was closed; upload the data set again");
    }

    /** Frees the pixels, the labels and the index buffer on the backend; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (oneHot != null) oneHot.close();
        pixels.close();
        index.close();
    }
}
