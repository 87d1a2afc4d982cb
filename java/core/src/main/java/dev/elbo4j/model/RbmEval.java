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

    /**
     * Calls {@code perRow(x, out)} for each chunk x (R x D, R <= {@link #ROWS}) with out (R) to fill
     * with a per-example figure; returns all the figures in data order.
     */
    public static double[] perExample(Backend be, DType dtype, DeviceDataset data, Binarization train, long seed,
                                      BiConsumer<Tensor, Tensor> perRow) {
        int n = data.size(), d = data.dim();
        int[] identity = new int[n];
        for (int i = 0; i < n; i++) identity[i] = i;
        data.order(identity);
        double[] result = new double[n];
        int chunk = Math.max(1, Math.min(ROWS, n));
        try (Tensor x = be.alloc(dtype, chunk, d); Tensor out = be.alloc(dtype, chunk)) {
            for (int from = 0; from < n; from += chunk) {
                int r = Math.min(chunk, n - from);
                Tensor xb = x.rowSlice(0, r), ob = out.view(0, r);
                data.gather(from, binarization(train), binarizeKey(seed), xb);
                perRow.accept(xb, ob);
                double[] o = be.download(ob);
                System.arraycopy(o, 0, result, from, r);
            }
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
