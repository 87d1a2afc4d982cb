package dev.elbo4j.model;

import dev.elbo4j.nn.Workspace;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Mlp;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * NICE (Dinh, Krueger and Bengio 2014): an exactly invertible map h = f(x) of dequantized images
 * with an exact log-likelihood.
 *
 * <p>x (N x D) is split into its even pixels x_E (columns 0, 2, ...) and odd pixels x_O. Coupling
 * layer i adds a shift computed from one half to the other: for even i, x_O += m_i(x_E); for odd
 * i, x_E += m_i(x_O), m_i a ReLU MLP ({@code coupling.i.j.weight|bias}). Each coupling has unit
 * Jacobian determinant. A final diagonal scaling z = exp(s) h ({@code scale.even}, {@code scale.odd},
 * starting at 0) contributes sum s, so log p(x) = sum_d log p_H(z_d) + sum_d s_d exactly, p_H the
 * standard logistic (or normal) prior. Sampling runs the inverse: z ~ p_H, h = z exp(-s), then the
 * couplings backwards with the shifts subtracted.
 *
 * <p>Inputs are dequantized: a pixel p (gathered as p/255) becomes x = (p + u)/256, u ~ U(0, 1)
 * from the run's noise key ({@link dev.elbo4j.backend.Backend#niceSplit}), so x has a density on
 * [0, 1]^D. Reported figures: log p(x) of that density in nats; the discrete model of the 256
 * grey levels then has log P(p) >= E_u log p(x) - D log 256, so bits per dimension are
 * (D log 256 - log p(x)) / (D log 2). The training loss is -log p(x) per example.
 */
public final class Nice extends ModelBase<NiceConfig> implements Generative {
    /** log s of the even half. */
    public static final String SCALE_EVEN = "scale.even";
    /** log s of the odd half. */
    public static final String SCALE_ODD = "scale.odd";
    /** Examples per evaluation chunk. */
    private static final int EVAL_BATCH = 500;

    private final Mlp[] shifts;

    private Nice(Backend backend, NiceConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.shifts = new Mlp[cfg.couplings()];
        for (int i = 0; i < shifts.length; i++) shifts[i] = couplingNetwork(cfg, i);
    }

    /**
     * Coupling i's shift MLP m_i: even couplings read the even half and shift the odd one; odd
     * couplings the reverse.
     */
    public static Mlp couplingNetwork(NiceConfig cfg, int i) {
        int[] h = cfg.hidden();
        int[] sizes = new int[h.length + 2];
        sizes[0] = i % 2 == 0 ? cfg.evenDim() : cfg.oddDim();
        System.arraycopy(h, 0, sizes, 1, h.length);
        sizes[sizes.length - 1] = i % 2 == 0 ? cfg.oddDim() : cfg.evenDim();
        return new Mlp("coupling." + i, sizes, Activation.RELU, Activation.IDENTITY);
    }

    /** The parameters of {@code cfg} in checkpoint order: every coupling's MLP, then the two log-scales. */
    public static Parameters.Builder parameterLayout(NiceConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        for (int i = 0; i < cfg.couplings(); i++) couplingNetwork(cfg, i).declare(pb);
        pb.add(SCALE_EVEN, Shape.of(cfg.evenDim()), Parameters.Init.constant(0));
        pb.add(SCALE_ODD, Shape.of(cfg.oddDim()), Parameters.Init.constant(0));
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Nice create(Backend backend, NiceConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A fresh model (F32, or F64 for checks on the CPU), parameters drawn from {@code seed}. */
    public static Nice create(Backend backend, NiceConfig cfg, DType dtype, long seed) {
        return new Nice(backend, cfg, dtype, seed);
    }

    @Override
    public Pass trainStep(int maxBatch) {
        return new Pass(maxBatch, true);
    }

    /** Buffers for evaluating (training false) or training on up to {@code maxBatch} examples. */
    public Pass pass(int maxBatch, boolean training) {
        return new Pass(maxBatch, training);
    }

    /**
     * The mean test log p(x) in nats per example, x dequantized with the noise of (seed, EVAL,
     * chunk); a binarised run's inputs are binarised with the fixed evaluation draw first.
     */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        double[] lp = logLikelihoods(data, trainBinarization, seed);
        double s = 0;
        for (double v : lp) s += v;
        return s / lp.length;
    }

    /** bits_per_dim: (D log 256 - log p(x)) / (D log 2) of the mean test log p(x). */
    @Override
    public Map<String, Double> testMetrics(DeviceDataset data, Binarization trainBinarization, long seed) {
        return testFigures(data, trainBinarization, seed).metrics();
    }

    /** {@link #testObjective} and its bits per dimension from one pass over the data. */
    @Override
    public TestFigures testFigures(DeviceDataset data, Binarization trainBinarization, long seed) {
        double logPx = testObjective(data, trainBinarization, seed);
        return new TestFigures(logPx, Map.of("bits_per_dim", bitsPerDim(logPx, cfg.inputDim())));
    }

    /** (D log 256 - logPx) / (D log 2): bits per dimension of the 256-level discretisation. */
    public static double bitsPerDim(double logPx, int dim) {
        return (dim * Math.log(256) - logPx) / (dim * Math.log(2));
    }

    /** Per-example test log p(x), as {@link #testObjective} averages it. */
    public double[] logLikelihoods(DeviceDataset data, Binarization trainBinarization, long seed) {
        int n = data.size(), d = data.dim(), batch = Math.min(n, EVAL_BATCH);
        Binarization mode = trainBinarization == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        double[] out = new double[n];
        try (Pass p = new Pass(batch, false); Tensor x = backend.alloc(dtype, batch, d)) {
            for (int from = 0, chunk = 0; from < n; from += batch, chunk++) {
                int b = Math.min(batch, n - from);
                Tensor xb = x.rowSlice(0, b);
                data.gather(from, mode, new RngKey(seed, Streams.EVAL_BINARIZE, 0), xb);
                p.run(xb, new RngKey(seed, Streams.EVAL, chunk));
                System.arraycopy(backend.download(p.logLikelihood()), 0, out, from, b);
            }
        }
        return out;
    }

    /**
     * log p(x) of each example of {@code x} taken as it is, without dequantisation noise: the
     * density of the flow at points of [0, 1]^D (N examples of D values, row-major), in nats.
     * {@link #logLikelihoods} is the figure {@code elbo4j eval} reports for grey-level images, each
     * pixel p dequantised to (p + u)/256 first.
     *
     * @throws IllegalArgumentException naming x when it is not a whole number of examples or holds a value outside [0, 1]
     */
    public double[] logDensity(float[] x) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x)) {
            int n = xt.rows();
            double[] out = new double[n];
            try (Pass p = new Pass(Math.min(n, EVAL_BATCH), false)) {
                for (int from = 0; from < n; from += EVAL_BATCH) {
                    int b = Math.min(EVAL_BATCH, n - from);
                    p.run(xt.rowSlice(from, b), null);
                    System.arraycopy(backend.download(p.logLikelihood()), 0, out, from, b);
                }
            }
            return out;
        }
    }

    /** One forward (and for training, backward) evaluation on a batch; buffers allocated once. */
    public final class Pass implements TrainStep {
        private final int maxBatch;
        private final boolean training;
        private final Tensor even, odd, rowLogP, dEven, dOdd, tmpEven, tmpOdd;
        private final Tensor[] cond;
        private final Workspace[] ws;
        private int batch;

        private Pass(int maxBatch, boolean training) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            this.maxBatch = maxBatch;
            this.training = training;
            int ce = cfg.evenDim(), co = cfg.oddDim();
            even = backend.alloc(dtype, maxBatch, ce);
            odd = backend.alloc(dtype, maxBatch, co);
            rowLogP = backend.alloc(dtype, maxBatch);
            dEven = training ? backend.alloc(dtype, maxBatch, ce) : null;
            dOdd = training ? backend.alloc(dtype, maxBatch, co) : null;
            tmpEven = training ? backend.alloc(dtype, maxBatch, ce) : null;
            tmpOdd = training ? backend.alloc(dtype, maxBatch, co) : null;
            cond = new Tensor[shifts.length];
            ws = new Workspace[shifts.length];
            for (int i = 0; i < shifts.length; i++) {
                cond[i] = training ? backend.alloc(dtype, maxBatch, i % 2 == 0 ? ce : co) : null;
                ws[i] = shifts[i].workspace(backend, dtype, maxBatch, training);
            }
        }

        @Override
        public void run(Batch batch, RngKey key) {
            run(batch.x(), key);
        }

        /**
         * log p(x) of x (B x D, values pixel/255) dequantized with the noise of {@code key}, or
         * taken as they are with {@code key} null; in training also every parameter's gradient of
         * the mean loss -log p(x).
         */
        public void run(Tensor x, RngKey key) {
            int b = x.rows();
            if (b < 1 || b > maxBatch || x.cols() != cfg.inputDim()) {
                throw new IllegalArgumentException("input " + x.shape() + " does not fit a pass of up to " + maxBatch
                        + " rows of " + cfg.inputDim());
            }
            batch = b;
            Tensor e = even.rowSlice(0, b), o = odd.rowSlice(0, b);
            backend.niceSplit(x, key, e, o);
            for (int i = 0; i < shifts.length; i++) {
                Tensor c = i % 2 == 0 ? e : o, u = i % 2 == 0 ? o : e;
                Tensor in = c;
                if (training) {
                    in = cond[i].rowSlice(0, b);
                    backend.copy(c, in);
                }
                backend.niceAdd(u, shifts[i].forward(params, ws[i], in), 1);
            }
            Tensor de = training ? dEven.rowSlice(0, b) : null, dO = training ? dOdd.rowSlice(0, b) : null;
            Tensor lp = rowLogP.view(0, b);
            backend.nicePrior(e, params.value(SCALE_EVEN), cfg.logistic(), false, 1.0 / b, lp, de,
                    training ? params.grad(SCALE_EVEN) : null);
            backend.nicePrior(o, params.value(SCALE_ODD), cfg.logistic(), true, 1.0 / b, lp, dO,
                    training ? params.grad(SCALE_ODD) : null);
            if (!training) return;
            for (int i = shifts.length - 1; i >= 0; i--) {
                Tensor du = i % 2 == 0 ? dO : de, dc = i % 2 == 0 ? de : dO;
                Tensor tmp = (i % 2 == 0 ? tmpEven : tmpOdd).rowSlice(0, b);
                backend.copy(du, ws[i].outputGrad(b));
                shifts[i].backward(params, ws[i], cond[i].rowSlice(0, b), tmp);
                backend.niceAdd(dc, tmp, 1);
            }
        }

        /** log p(x) of each example of the last batch. */
        public Tensor logLikelihood() {
            return rowLogP.view(0, batch);
        }

        /** z = f(x) of the last batch, host N x D in pixel order (exp(s) times the coupled halves). */
        public double[] z() {
            return interleave(scaled(backend.download(even.rowSlice(0, batch)), SCALE_EVEN, 1),
                    scaled(backend.download(odd.rowSlice(0, batch)), SCALE_ODD, 1), batch);
        }

        @Override
        public double meanLoss() {
            return -backend.sum(logLikelihood()) / batch;
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(logLikelihood(), -1, acc);
        }

        @Override
        public Tensor[] accumulatedTerms() {
            return new Tensor[]{logLikelihood()};
        }

        @Override
        public double[] accumulatedScales() {
            return new double[]{-1};
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("log-likelihood log p(x)", logLikelihood());
            return m;
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[]{even, odd, rowLogP, dEven, dOdd, tmpEven, tmpOdd}) if (t != null) t.close();
            for (Tensor t : cond) if (t != null) t.close();
            for (Workspace w : ws) w.close();
        }
    }

    /** h * exp(sign * s) per column, s the named log-scale. */
    private double[] scaled(double[] h, String scale, int sign) {
        double[] s = backend.download(params.value(scale));
        double[] out = new double[h.length];
        for (int i = 0; i < h.length; i++) out[i] = h[i] * Math.exp(sign * s[i % s.length]);
        return out;
    }

    private double[] interleave(double[] e, double[] o, int n) {
        int d = cfg.inputDim(), ce = cfg.evenDim(), co = cfg.oddDim();
        double[] x = new double[n * d];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < d; c++) x[r * d + c] = c % 2 == 0 ? e[r * ce + c / 2] : o[r * co + c / 2];
        }
        return x;
    }

    /** Runs the couplings backwards on the halves (in place): x_U -= m_i(x_C) for i = L-1 .. 0. */
    private void uncouple(Tensor e, Tensor o) {
        int n = e.rows();
        for (int i = shifts.length - 1; i >= 0; i--) {
            Tensor c = i % 2 == 0 ? e : o, u = i % 2 == 0 ? o : e;
            try (Workspace w = shifts[i].workspace(backend, dtype, n, false)) {
                backend.niceAdd(u, shifts[i].forward(params, w, c), -1);
            }
        }
    }

    /** x = f^{-1}(z) for z (host N x D, pixel order): the exact inverse of {@link Pass#z}. */
    public double[] inverse(double[] z, int n) {
        int d = cfg.inputDim(), ce = cfg.evenDim(), co = cfg.oddDim();
        if (z.length != n * d) throw new IllegalArgumentException("z has " + z.length + " values, not " + n + " x " + d);
        double[] e = new double[n * ce], o = new double[n * co];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < d; c++) {
                if (c % 2 == 0) e[r * ce + c / 2] = z[r * d + c];
                else o[r * co + c / 2] = z[r * d + c];
            }
        }
        try (Tensor te = upload(scaled(e, SCALE_EVEN, -1), n, ce); Tensor to = upload(scaled(o, SCALE_ODD, -1), n, co)) {
            uncouple(te, to);
            return interleave(backend.download(te), backend.download(to), n);
        }
    }

    private Tensor upload(double[] v, int rows, int cols) {
        if (dtype == DType.F64) return backend.upload(v, Shape.of(rows, cols));
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return backend.upload(f, Shape.of(rows, cols));
    }

    /**
     * {@code n} exact samples x = f^{-1}(z), z ~ p_H: the even half's z from {@code key}, the odd
     * half's from the key with step bit 55 flipped; clamped to [0, 1] (the data's support) for display.
     */
    @Override
    public float[] sample(int n, RngKey key, int label) {
        checkSampling(key);
        if (label >= 0) throw new IllegalArgumentException("NICE is unconditional: it takes no label");
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        try (Tensor e = backend.alloc(dtype, n, cfg.evenDim()); Tensor o = backend.alloc(dtype, n, cfg.oddDim())) {
            backend.nicePriorSample(key, params.value(SCALE_EVEN), cfg.logistic(), e);
            backend.nicePriorSample(new RngKey(key.seed(), key.stream(), key.step() ^ (1L << 55)), params.value(SCALE_ODD),
                    cfg.logistic(), o);
            uncouple(e, o);
            double[] x = interleave(backend.download(e), backend.download(o), n);
            float[] f = new float[x.length];
            for (int i = 0; i < x.length; i++) f[i] = (float) Math.min(1, Math.max(0, x[i]));
            return f;
        }
    }

    @Override
    public void close() {
        params.close();
    }
}
