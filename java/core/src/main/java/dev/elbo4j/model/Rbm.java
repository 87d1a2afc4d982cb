package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A restricted Boltzmann machine with binary visible and hidden units:
 * E(v, h) = -b^T v - c^T h - v^T W h, p(v, h) = exp(-E) / Z, free energy
 * F(v) = -b^T v - sum_j softplus(c_j + (W^T v)_j), p(h_j = 1 | v) = sigmoid(c + W^T v)_j,
 * p(v_i = 1 | h) = sigmoid(b + W h)_i. Parameters {@code weight} (V x H), {@code visible_bias},
 * {@code hidden_bias}.
 *
 * <p>Training ({@link #trainStep}): CD-k or PCD-k ({@link RbmLayer.Cd}); the trainer's Adam applies
 * the estimate. The step's loss, and the per-epoch test figure, is the one-step mean-field
 * reconstruction cross-entropy (-sum_i log Bernoulli(x_i; sigmoid(b + W p(h|x))_i), nats per
 * example); it is a monitor, not the likelihood: {@link dev.elbo4j.eval.Ais} estimates log Z and
 * with it log p(x) = -F(x) - log Z.
 */
public final class Rbm extends ModelBase<RbmConfig> implements Generative, Reconstructing {
    /** The name of the persistent chains in {@link TrainStep#state()} (checkpoint tensor {@code train.chains}). */
    public static final String CHAINS = "chains";
    private final RbmLayer layer;
    private int sampleSteps;

    private Rbm(Backend backend, RbmConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.layer = new RbmLayer(params, dtype, "", cfg.inputDim(), cfg.hidden());
        this.sampleSteps = cfg.gibbsSteps();
    }

    /** weight (V x H, uniform +-0.02), visible_bias (V, 0), hidden_bias (H, 0). */
    public static Parameters.Builder parameterLayout(RbmConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        RbmLayer.declare(pb, "", cfg.inputDim(), cfg.hidden());
        return pb;
    }

    /**
     * Sets the visible biases to log(p_i / (1 - p_i)), p_i the mean intensity of pixel i over
     * {@code train} (0..255 scaled to [0, 1], clamped to [1e-3, 1 - 1e-3]): the model starts from
     * the data's pixel marginals instead of 0.5 everywhere (Hinton, "A practical guide to training
     * RBMs", section 8), so Gibbs chains do not settle in grey states.
     */
    @Override
    public void initializeFrom(dev.elbo4j.io.Dataset train) {
        backend.write(params.value("visible_bias"), RbmLayer.logOdds(train, cfg.inputDim()));
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Rbm create(Backend backend, RbmConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised RBM in F32 or F64, weights drawn from {@code seed}. */
    public static Rbm create(Backend backend, RbmConfig cfg, DType dtype, long seed) {
        return new Rbm(backend, cfg, dtype, seed);
    }

    /** The RBM's weights and biases with their operations. */
    public RbmLayer layer() {
        return layer;
    }

    /** Sweeps of the sampling chains of {@link #sample} (default: the config's gibbsSteps). */
    public void sampleGibbsSteps(int steps) {
        if (steps < 1) throw new IllegalArgumentException("Gibbs steps must be >= 1, got " + steps);
        this.sampleSteps = steps;
    }

    @Override
    public Step trainStep(int maxBatch) {
        return new Step(maxBatch);
    }

    /** A CD-k / PCD-k training step (see {@link RbmLayer.Cd}); loss: the reconstruction cross-entropy. */
    public final class Step implements TrainStep {
        private final RbmLayer.Cd cd;

        private Step(int maxBatch) {
            cd = layer.cd(maxBatch);
        }

        @Override
        public void run(Batch batch, RngKey key) {
            cd.run(batch.x(), key, cfg.cdK(), cfg.persistent());
        }

        /** The CD machinery (persistent chains). */
        public RbmLayer.Cd cd() {
            return cd;
        }

        /** The reconstruction rows {@link #accumulateLoss} sums. */
        @Override
        public Tensor[] accumulatedTerms() {
            return new Tensor[]{cd.rowLoss()};
        }

        @Override
        public double[] accumulatedScales() {
            return new double[]{1};
        }

        /**
         * 0, one launch sequence; PCD: -1 while the chains do not yet cover {@code rows} rows (the
         * step that starts them copies data rows into them and counts them on the host).
         */
        @Override
        public int launchSequence(long step, int rows) {
            return cfg.persistent() && !cd.chainsCover(rows) ? -1 : 0;
        }

        /** PCD: {@code chains}, the started persistent chains (R x V), once the first step has run. */
        @Override
        public Map<String, Tensor> state() {
            Tensor c = cfg.persistent() ? cd.startedChains() : null;
            return c == null ? Map.of() : Map.of(CHAINS, c);
        }

        @Override
        public void restoreState(String name, int[] shape, float[] values) {
            if (!CHAINS.equals(name)) throw new IllegalArgumentException("an RBM keeps no training state of that name (only '" + CHAINS + "')");
            if (!cfg.persistent()) throw new IllegalArgumentException("this RBM trains by plain CD: it keeps no persistent chains");
            cd.restoreChains(shape, values);
        }

        @Override
        public double meanLoss() {
            return backend.sum(cd.rowLoss()) / cd.batch();
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(cd.rowLoss(), 1, acc);
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (reconstruction cross-entropy)", cd.rowLoss());
            return m;
        }

        @Override
        public void close() {
            cd.close();
        }
    }

    /** Minus the mean reconstruction cross-entropy on {@code data} (one fixed binarisation from {@code seed}). */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        return -RbmEval.mean(RbmEval.perExample(backend, dtype, data, trainBinarization, seed, (x, out) -> {
            int r = x.rows();
            try (Tensor ha = backend.alloc(dtype, r, cfg.hidden()); Tensor ph = backend.alloc(dtype, r, cfg.hidden());
                 Tensor va = backend.alloc(dtype, r, cfg.inputDim())) {
                layer.hiddenProbs(x, ha, ph);
                layer.visibleAct(ph, va);
                backend.rbmGibbsHalf(va, layer.visibleBias(), 1, null, null, null, null);
                backend.likelihood(Likelihood.bernoulli(), va, x, null, 1, out, null, null);
            }
        }));
    }

    @Override
    public float[] sample(int n, RngKey key, int label) {
        checkSampling(key);
        if (label >= 0) throw new IllegalArgumentException("an RBM is unconditional: it takes no label");
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        int v = cfg.inputDim(), h = cfg.hidden();
        try (Tensor va = backend.alloc(dtype, n, v); Tensor vs = backend.alloc(dtype, n, v); Tensor pv = backend.alloc(dtype, n, v);
             Tensor ha = backend.alloc(dtype, n, h); Tensor hs = backend.alloc(dtype, n, h);
             Tensor zeros = backend.alloc(dtype, v)) {
            // Start from uniform noise: v ~ Bernoulli(1/2) (logit 0).
            backend.rbmGibbsHalf(va, zeros, 1, null, RbmLayer.subKey(key, 0), null, vs);
            int half = 1;
            for (int t = 0; t < sampleSteps; t++) {
                layer.hiddenAct(vs, ha);
                backend.rbmGibbsHalf(ha, layer.hiddenBias(), 1, null, RbmLayer.subKey(key, half++), null, hs);
                layer.visibleAct(hs, va);
                backend.rbmGibbsHalf(va, layer.visibleBias(), 1, null, RbmLayer.subKey(key, half++), pv, vs);
            }
            return floats(backend.download(pv));
        }
    }

    /**
     * The free energy F(x) = -b^T x - sum_j log(1 + exp(c_j + (W^T x)_j)) of each example of
     * {@code x} (N examples of D values, row-major, binary or in [0, 1]), so that
     * log p(x) = -F(x) - log Z, with log Z from {@link dev.elbo4j.eval.Ais#logZ}:
     * <pre>{@code
     * Ais.Estimate z = Ais.logZ(rbm.layer(), Ais.baseRates(train), Ais.schedule(Ais.DEFAULT_SCHEDULE),
     *         Ais.DEFAULT_RUNS, new RngKey(seed, Streams.EVAL, 0), null);
     * double[] f = rbm.freeEnergy(x);               // log p(x_i) = -f[i] - z.logZ()
     * }</pre>
     *
     * @throws IllegalArgumentException naming x when it is not a whole number of examples or holds a value outside [0, 1]
     */
    public double[] freeEnergy(float[] x) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x)) {
            return freeEnergy(xt);
        }
    }

    /** {@link #freeEnergy(float[])} of the rows of x (N x D) on this model's backend. */
    public double[] freeEnergy(Tensor x) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Tensor act = backend.alloc(dtype, x.rows(), cfg.hidden()); Tensor out = backend.alloc(dtype, x.rows())) {
            layer.freeEnergy(x, act, out);
            return backend.download(out);
        }
    }

    /**
     * The free energy of every example of {@code data}, in its order, binarised as
     * {@link dev.elbo4j.eval.Evaluator} binarises (a run trained with a stochastic binarisation is
     * evaluated on one fixed draw from {@code seed}): with log Z, the test log p(x) that
     * {@code elbo4j eval} prints is {@code -mean(freeEnergies(test, ...)) - logZ}.
     */
    public double[] freeEnergies(DeviceDataset data, Binarization trainBinarization, long seed) {
        checkOpen();
        return RbmEval.perExample(backend, dtype, data, trainBinarization, seed, (x, out) -> {
            try (Tensor act = backend.alloc(dtype, x.rows(), cfg.hidden())) {
                layer.freeEnergy(x, act, out);
            }
        });
    }

    /** Reconstructions sigmoid(b + W p(h|x)) of x (N x D). */
    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        int n = x.rows();
        try (Tensor ha = backend.alloc(dtype, n, cfg.hidden()); Tensor ph = backend.alloc(dtype, n, cfg.hidden());
             Tensor va = backend.alloc(dtype, n, cfg.inputDim()); Tensor pv = backend.alloc(dtype, n, cfg.inputDim())) {
            layer.hiddenProbs(x, ha, ph);
            layer.visibleProbs(ph, va, pv);
            return floats(backend.download(pv));
        }
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Override
    public void close() {
        params.close();
    }
}
