package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fully visible Boltzmann machine on d &lt;= 20 binary units: p(x) = exp(b^T x + x^T S x / 2) / Z
 * with S = (W + W^T) / 2 and zero diagonal, so x^T S x / 2 = sum_{i&lt;j} S_ij x_i x_j. Parameters
 * {@code visible_bias} (d) and {@code weight} (d x d, starting at 0; its gradient is symmetric with
 * a zero diagonal, so Adam keeps W symmetric with a zero diagonal).
 *
 * <p>Trained by exact maximum likelihood: each step enumerates all 2^d states on the backend
 * ({@link Backend#fvbmStep}, in double) for log Z and the model's moments, and writes the exact gradient of the batch's mean
 * negative log-likelihood, db_i = E_model[x_i] - mean_data x_i and
 * dW_ij = (E_model[x_i x_j] - mean_data x_i x_j) / 2 for i != j (0 on the diagonal). The loss
 * is -log p(x) per example, exactly; the test figure is the exact mean log p(x).
 */
public final class Fvbm extends ModelBase<FvbmConfig> implements Generative {

    private Fvbm(Backend backend, FvbmConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
    }

    /** visible_bias (d, 0), weight (d x d, 0). */
    public static Parameters.Builder parameterLayout(FvbmConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        pb.add("visible_bias", Shape.of(cfg.inputDim()), Parameters.Init.constant(0));
        pb.add("weight", Shape.of(cfg.inputDim(), cfg.inputDim()), Parameters.Init.constant(0));
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Fvbm create(Backend backend, FvbmConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in the given precision (F32, or F64 for gradient checks on the CPU). */
    public static Fvbm create(Backend backend, FvbmConfig cfg, DType dtype, long seed) {
        return new Fvbm(backend, cfg, dtype, seed);
    }

    /**
     * The model enumerated: log Z, E[x_i] and E[x_i x_j] (d x d, row-major; the diagonal is E[x_i]),
     * and the unnormalised log-probabilities of every state (bit i of the state index is x_i).
     *
     * @param logZ            log Z, the log partition function
     * @param mean            E[x_i], d values
     * @param second          E[x_i x_j], d x d, row-major, the diagonal E[x_i]
     * @param logUnnormalised b^T x + x^T S x / 2 of every state x, 2^d values indexed by the state (bit i is
     *                        x_i)
     */
    public record Exact(double logZ, double[] mean, double[] second, double[] logUnnormalised) {
    }

    /** Enumerates all 2^d states under the current parameters (host, double). */
    public Exact exact() {
        int d = cfg.inputDim();
        double[] b = backend.download(params.value("visible_bias")), w = backend.download(params.value("weight"));
        double[] s = symmetric(w, d);
        int states = 1 << d;
        double[] lu = new double[states];
        double max = Double.NEGATIVE_INFINITY;
        for (int st = 0; st < states; st++) {
            lu[st] = logUnnormalised(b, s, d, st);
            max = Math.max(max, lu[st]);
        }
        double z = 0;
        for (double l : lu) z += Math.exp(l - max);
        double logZ = max + Math.log(z);
        double[] mean = new double[d], second = new double[d * d];
        int[] on = new int[d];
        for (int st = 0; st < states; st++) {
            double p = Math.exp(lu[st] - logZ);
            int k = 0;
            for (int i = 0; i < d; i++) if ((st >> i & 1) != 0) on[k++] = i;
            for (int a = 0; a < k; a++) {
                mean[on[a]] += p;
                for (int c = 0; c < k; c++) second[on[a] * d + on[c]] += p;
            }
        }
        return new Exact(logZ, mean, second, lu);
    }

    private static double[] symmetric(double[] w, int d) {
        double[] s = new double[d * d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) if (i != j) s[i * d + j] = (w[i * d + j] + w[j * d + i]) / 2;
        return s;
    }

    private static double logUnnormalised(double[] b, double[] s, int d, int st) {
        double e = 0;
        for (int i = 0; i < d; i++) {
            if ((st >> i & 1) == 0) continue;
            e += b[i];
            for (int j = i + 1; j < d; j++) if ((st >> j & 1) != 0) e += s[i * d + j];
        }
        return e;
    }

    /**
     * The exact log p(x) of each example of {@code x} (N examples of d values, row-major, binary or
     * in [0, 1]), log Z from enumerating the 2^d states ({@link #exact()}) once per call.
     *
     * @throws IllegalArgumentException naming x when it is not a whole number of examples or holds a value outside [0, 1]
     */
    public double[] logProb(float[] x) {
        HostArrays.uploadInputs(this, "x", x).close(); // the checks of every float[] entry point
        double[] v = new double[x.length];
        for (int i = 0; i < x.length; i++) v[i] = x[i];
        return logProb(v, x.length / cfg.inputDim(), exact());
    }

    /**
     * log p(x) of each row of x (R x d, host values rounded to 0/1 are not required: the formula is used as is).
     *
     * @throws IllegalArgumentException when x does not hold {@code rows} rows of d values
     */
    public double[] logProb(double[] x, int rows, Exact ex) {
        int d = cfg.inputDim();
        if (x == null || rows < 1 || x.length != (long) rows * d) {
            throw new IllegalArgumentException("x has " + (x == null ? "no" : Integer.toString(x.length)) + " values, not " + rows
                    + " rows of this fvbm model's " + d + " values");
        }
        if (ex == null) throw new IllegalArgumentException("ex must not be null: pass exact()");
        double[] b = backend.download(params.value("visible_bias")), s = symmetric(backend.download(params.value("weight")), d);
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double e = 0;
            for (int i = 0; i < d; i++) {
                double xi = x[r * d + i];
                e += b[i] * xi;
                for (int j = i + 1; j < d; j++) e += s[i * d + j] * xi * x[r * d + j];
            }
            out[r] = e - ex.logZ();
        }
        return out;
    }

    @Override
    public TrainStep trainStep(int maxBatch) {
        return new Step(maxBatch);
    }

    /**
     * An exact maximum-likelihood step: {@link Backend#fvbmStep} enumerates the model on the backend
     * (log Z and the moments in double) and writes the rows' loss and the exact gradient. It reads
     * nothing back, so a trainer on the CUDA backend replays it as a graph.
     */
    public final class Step implements TrainStep {
        private final Tensor rowLoss;
        /** The states' log-probabilities, the moments and log Z (F64, 2^d + d*d + 1). */
        private final Tensor scratch;
        private int batch;

        private Step(int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            int d = cfg.inputDim();
            rowLoss = backend.alloc(dtype, maxBatch);
            try {
                scratch = backend.alloc(DType.F64, (1 << d) + d * d + 1);
            } catch (RuntimeException e) {
                rowLoss.close();
                throw e;
            }
        }

        @Override
        public void run(Batch b, RngKey key) {
            Tensor xt = b.x();
            int d = cfg.inputDim(), rows = xt.rows();
            if (rows < 1 || rows > rowLoss.size() || xt.cols() != d) {
                throw new IllegalArgumentException("input " + xt.shape() + " does not fit a step of up to " + rowLoss.size() + " rows of " + d);
            }
            batch = rows;
            backend.fvbmStep(xt, params.value("visible_bias"), params.value("weight"), scratch, rowLoss.view(0, rows),
                    params.grad("visible_bias"), params.grad("weight"));
        }

        /** The rows' loss {@link #accumulateLoss} sums. */
        @Override
        public Tensor[] accumulatedTerms() {
            return new Tensor[]{rowLoss.view(0, batch)};
        }

        @Override
        public double[] accumulatedScales() {
            return new double[]{1};
        }

        @Override
        public double meanLoss() {
            return backend.sum(rowLoss.view(0, batch)) / batch;
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(rowLoss.view(0, batch), 1, acc);
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (-log p(x), exact)", rowLoss.view(0, batch));
            return m;
        }

        @Override
        public void close() {
            rowLoss.close();
            scratch.close();
        }
    }

    /** The exact mean log p(x) of {@code data} (one fixed binarisation from {@code seed}). */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        Exact ex = exact();
        return RbmEval.mean(RbmEval.perExample(backend, dtype, data, trainBinarization, seed, (x, out) ->
                backend.write(out, logProb(backend.download(x), x.rows(), ex))));
    }

    /**
     * {@code n} exact samples: sample r is the state where the cumulative probability (states in
     * index order) first exceeds uniform element r of {@code key}.
     */
    @Override
    public float[] sample(int n, RngKey key, int label) {
        checkSampling(key);
        if (label >= 0) throw new IllegalArgumentException("an FVBM is unconditional: it takes no label");
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        int d = cfg.inputDim();
        Exact ex = exact();
        double[] cdf = new double[ex.logUnnormalised().length];
        double acc = 0;
        for (int s = 0; s < cdf.length; s++) {
            acc += Math.exp(ex.logUnnormalised()[s] - ex.logZ());
            cdf[s] = acc;
        }
        float[] u = new float[n];
        Philox.uniforms(key, 0, u, 0, n);
        float[] out = new float[n * d];
        for (int r = 0; r < n; r++) {
            int lo = 0, hi = cdf.length - 1;
            double target = u[r] * acc;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] > target) hi = mid;
                else lo = mid + 1;
            }
            for (int i = 0; i < d; i++) out[r * d + i] = (lo >> i & 1);
        }
        return out;
    }

    @Override
    public void close() {
        params.close();
    }
}
