package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.model.ImportanceSampled;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;

import java.util.function.LongConsumer;

/**
 * Test-set figures of a {@link dev.elbo4j.model.Vae} or a {@link dev.elbo4j.model.Cvae} (any
 * {@link ImportanceSampled} model): the ELBO and the importance-sampled estimate of log p(x),
 *   log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x),
 * combined with a running log-sum-exp so no weight under- or overflows. For a conditional model
 * every input is evaluated with its own label y (the data set's one-hot labels), so the figures are
 * the conditional ELBO and log p(x|y) ~= log (1/k) sum_i p(x|z_i,y) p(z_i) / q(z_i|x,y). Binarised
 * data sets are binarised once, from the evaluation seed, so every call sees the same inputs.
 */
public final class Evaluator {
    private final ImportanceSampled model;
    private final int rowsPerPass;
    private final DeviceDataset data;
    private final Binarization binarization;
    private final long seed;

    /**
     * An evaluator of {@code model} on {@code data}; it borrows both (closing them stays the caller's) and
     * allocates its buffers per call.
     *
     * @param model             a VAE or CVAE (e.g. {@code checkpoint.restoreModel(backend, Vae.class)})
     * @param data              the inputs, {@code new DeviceDataset(backend, dataset)}; for a CVAE with its labels,
     *                          {@code new DeviceDataset(backend, dataset, classes)}
     * @param trainBinarization how the model was trained ({@code checkpoint.training().binarization()}): a
     *                          stochastic binarisation is evaluated on one fixed draw of the inputs
     * @param seed              the seed of that draw and of the draws of z
     * @throws IllegalArgumentException when an argument is null, or the data's width or label classes do not
     *                                  fit the model
     * @throws IllegalStateException    when the model was closed
     */
    public Evaluator(ImportanceSampled model, DeviceDataset data, Binarization trainBinarization, long seed) {
        if (model == null || data == null || trainBinarization == null) {
            throw new IllegalArgumentException((model == null ? "model" : data == null ? "data" : "trainBinarization")
                    + " must not be null");
        }
        if (model.parameters().isClosed()) throw new IllegalStateException("the " + model.config().type() + " model was closed");
        if (data.dim() != model.config().inputDim()) {
            throw new IllegalArgumentException("data has " + data.dim() + " pixels per example, the model expects "
                    + model.config().inputDim());
        }
        int classes = model.conditioningClasses();
        if (classes > 0 && data.classes() != classes) {
            throw new IllegalArgumentException("the model needs the data's labels as " + classes + " one-hot classes, got "
                    + data.classes() + (data.classes() == 0 ? " (upload them: new DeviceDataset(backend, dataset, " + classes + "))" : ""));
        }
        this.model = model;
        this.rowsPerPass = model.evaluationRows();
        this.data = data;
        // Any stochastic binarisation is evaluated on one fixed draw of the test set.
        this.binarization = trainBinarization == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        this.seed = seed;
    }

    private RngKey binarizeKey() {
        return new RngKey(seed, Streams.EVAL_BINARIZE, 0);
    }

    /** Per-example ELBO (nats, higher is better) with {@code samples} draws of z. */
    public double[] elbo(int samples) {
        if (samples < 1) throw new IllegalArgumentException("samples must be >= 1, got " + samples);
        return run(samples, samples, false, null);
    }

    /**
     * Per-example importance-sampled log p(x) (log p(x|y) for a conditional model), nats, with
     * {@code k} draws of z per input: a lower bound in expectation that tightens as k grows (the
     * CLI's default is k = 100, papers report k = 5000).
     *
     * @param progress gets the number of examples done after each pass; may be null
     */
    public double[] logLikelihood(int k, LongConsumer progress) {
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        return run(k, Math.min(k, rowsPerPass), true, progress);
    }

    private double[] run(int k, int chunk, boolean importance, LongConsumer progress) {
        Backend be = model.backend();
        int n = data.size(), d = data.dim(), classes = model.conditioningClasses();
        int batch = Math.max(1, Math.min(n, rowsPerPass / chunk));
        int chunks = chunks(k, chunk);
        double[] result = new double[n];
        long passIndex = 0;
        try (ImportanceSampled.ScoringPass full = model.scoringPass(batch, chunk);
             Tensor x = be.alloc(model.dtype(), batch, d);
             Tensor y = classes == 0 ? null : be.alloc(model.dtype(), batch, classes)) {
            for (int from = 0; from < n; from += batch) {
                int b = Math.min(batch, n - from);
                Tensor xb = x.rowSlice(0, b), yb = y == null ? null : y.rowSlice(0, b);
                data.gather(from, binarization, binarizeKey(), xb);
                if (yb != null) data.gatherLabels(from, yb);
                double[] max = new double[b], sum = new double[b], elboSum = new double[b];
                java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
                int done = 0;
                for (int c = 0; c < chunks; c++) {
                    int s = Math.min(chunk, k - done);
                    try (ImportanceSampled.ScoringPass p = s == chunk ? null : model.scoringPass(b, s)) {
                        ImportanceSampled.ScoringPass pass = p == null ? full : p;
                        pass.score(xb, yb, new RngKey(seed, Streams.EVAL, passIndex++));
                        double[] rec = be.download(pass.rowLoss());
                        if (importance) {
                            double[] lr = be.download(pass.logRatio());
                            for (int r = 0; r < rec.length; r++) {
                                int e = r % b;
                                double lw = -rec[r] + lr[r];
                                if (lw > max[e]) {
                                    sum[e] = sum[e] * Math.exp(max[e] - lw) + 1;
                                    max[e] = lw;
                                } else {
                                    sum[e] += Math.exp(lw - max[e]);
                                }
                            }
                        } else {
                            double[] kl = be.download(pass.kl());
                            for (int r = 0; r < rec.length; r++) elboSum[r % b] -= rec[r];
                            for (int e = 0; e < b; e++) elboSum[e] -= s * kl[e];
                        }
                    }
                    done += s;
                }
                for (int e = 0; e < b; e++) {
                    result[from + e] = importance ? max[e] + Math.log(sum[e]) - Math.log(k) : elboSum[e] / k;
                }
                if (progress != null) progress.accept(from + b);
            }
        }
        return result;
    }

    /** Passes of {@code chunk} samples that make {@code k} (in long: a k near 2^31 overflowed to none at all). */
    static int chunks(int k, int chunk) {
        return (int) (((long) k + chunk - 1) / chunk);
    }

    /** Mean of an array (for reporting). */
    public static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }
}
