package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.function.BiConsumer;

/**
 * Evaluation plumbing shared by the energy-based models: the data set in its own order, in chunks
 * of up to {@link #ROWS} rows, binarised as {@link dev.elbo4j.eval.Evaluator} does (a stochastic
 * binarisation becomes one fixed draw with key (seed, EVAL_BINARIZE, 0)).
 */
public final class RbmEval {
    /** Rows per evaluation chunk. */
    public static final int ROWS = 500;

    private RbmEval() {
    }

    /** The binarisation evaluation uses for a run trained with {@code train}. */
    public static Binarization binarization(Binarization train) {
        return train == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
    }

    /** The key of the evaluation binarisation. */
    public static RngKey binarizeKey(long seed) {
        return new RngKey(seed, Streams.EVAL_BINARIZE, 0);
    }

    /** What {@link #forChunks} does with each chunk. */
    @FunctionalInterface
    public interface Chunk {
        /** x holds examples from .. from + x.rows() - 1 of the data, binarised; chunk counts from 0. */
        void accept(Tensor x, int from, int chunk);
    }

    /**
     * Calls {@code body} for each chunk of up to {@code rows} of the first {@code n} examples of
     * {@code data}, in data order, binarised as evaluation binarises them.
     */
    public static void forChunks(Backend be, DType dtype, DeviceDataset data, int n, int rows, Binarization train, long seed,
                                 Chunk body) {
        int[] identity = new int[data.size()];
        for (int i = 0; i < identity.length; i++) identity[i] = i;
        data.order(identity);
        int chunk = Math.max(1, Math.min(rows, n));
        try (Tensor x = be.alloc(dtype, chunk, data.dim())) {
            for (int from = 0, c = 0; from < n; from += chunk, c++) {
                Tensor xb = x.rowSlice(0, Math.min(chunk, n - from));
                data.gather(from, binarization(train), binarizeKey(seed), xb);
                body.accept(xb, from, c);
            }
        }
    }

    /**
     * Calls {@code perRow(x, out)} for each chunk x (R x D, R &lt;= {@link #ROWS}) with out (R) to fill
     * with a per-example figure; returns all the figures in data order.
     */
    public static double[] perExample(Backend be, DType dtype, DeviceDataset data, Binarization train, long seed,
                                      BiConsumer<Tensor, Tensor> perRow) {
        int n = data.size();
        double[] result = new double[n];
        try (Tensor out = be.alloc(dtype, Math.max(1, Math.min(ROWS, n)))) {
            forChunks(be, dtype, data, n, ROWS, train, seed, (xb, from, c) -> {
                Tensor ob = out.view(0, xb.rows());
                perRow.accept(xb, ob);
                System.arraycopy(be.download(ob), 0, result, from, xb.rows());
            });
        }
        return result;
    }

    /** The mean of {@code v}. */
    public static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }
}
