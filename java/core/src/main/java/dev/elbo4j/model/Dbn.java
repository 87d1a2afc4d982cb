package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deep belief net (Hinton, Osindero and Teh 2006): RBMs {@code layer<l>.} stacked bottom up,
 * layer 0 on the pixels, layer l on the hidden probabilities p(h|.) of layer l-1 (mean-field
 * features, not samples).
 *
 * <p>Greedy training inside one run of the trainer: the step with global index s (the trainer's
 * step, the key's step) trains layer min(s / layerSteps, L - 1) by CD-k / PCD-k on the features of
 * the frozen layers below it and writes zero gradients for every other layer; the optimizer's
 * moments of a layer not yet trained are zero, so it does not move, and a finished layer keeps
 * only the decaying momentum of its last steps (Adam's m shrinks by beta1 per step, which moves
 * it by a few learning rates at most). The step's loss is the reconstruction cross-entropy of the
 * layer in training (its own visible units).
 *
 * <p>Sampling: Gibbs chains from noise in the top RBM for gibbsSteps sweeps, then one top-down
 * pass: binary samples h_{l-1} ~ sigmoid(b_l + W_l h_l) down to layer 1, and the visible
 * probabilities sigmoid(b_0 + W_0 h_0) at the bottom. The test figure is the mean-field up-down
 * reconstruction cross-entropy through the whole stack (negated).
 */
public final class Dbn extends ModelBase<DbnConfig> implements Generative, Reconstructing {
    private final List<RbmLayer> layers = new ArrayList<>();
    private int sampleSteps;

    /** The first layer's visible biases start at the data's log-odds, as in {@link Rbm#initializeFrom}. */
    @Override
    public void initializeFrom(dev.elbo4j.io.Dataset train) {
        backend.write(params.value(prefix(0) + "visible_bias"), RbmLayer.logOdds(train, cfg.inputDim()));
    }

    private Dbn(Backend backend, DbnConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        for (int l = 0; l < cfg.layers(); l++) {
            layers.add(new RbmLayer(params, dtype, prefix(l), cfg.visibleOf(l), cfg.hidden()[l]));
        }
        this.sampleSteps = cfg.gibbsSteps();
    }

    static String prefix(int l) {
        return "layer" + l + ".";
    }

    /**
     * {@code layer<l>.weight} (V_l x H_l), {@code layer<l>.visible_bias}, {@code layer<l>.hidden_bias}
     * for each layer l, bottom up.
     */
    public static Parameters.Builder parameterLayout(DbnConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        for (int l = 0; l < cfg.layers(); l++) RbmLayer.declare(pb, prefix(l), cfg.visibleOf(l), cfg.hidden()[l]);
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Dbn create(Backend backend, DbnConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in the given precision (F32, or F64 for gradient checks on the CPU). */
    public static Dbn create(Backend backend, DbnConfig cfg, DType dtype, long seed) {
        return new Dbn(backend, cfg, dtype, seed);
    }

    /** Layer l (0 at the bottom). */
    public RbmLayer layer(int l) {
        return layers.get(l);
    }

    /** The layer the step with global index {@code step} trains. */
    public int stageOf(long step) {
        return (int) Math.min(step / cfg.layerSteps(), cfg.layers() - 1);
    }

    /** Sweeps of the top RBM's sampling chains in {@link #sample}. */
    public void sampleGibbsSteps(int steps) {
        if (steps < 1) throw new IllegalArgumentException("Gibbs steps must be >= 1, got " + steps);
        this.sampleSteps = steps;
    }

    /**
     * The mean-field features of x (R x D) at the input of layer {@code l}: x itself for l = 0, else
     * p(h|.) of layer l-1 applied bottom up; written into {@code feats[l]} (feats[0] unused).
     */
    private Tensor features(Tensor x, int l, Tensor[] acts, Tensor[] feats) {
        Tensor in = x;
        int r = x.rows();
        for (int i = 0; i < l; i++) {
            Tensor a = acts[i].rowSlice(0, r), f = feats[i + 1].rowSlice(0, r);
            layers.get(i).hiddenProbs(in, a, f);
            in = f;
        }
        return in;
    }

    @Override
    public Step trainStep(int maxBatch) {
        return new Step(maxBatch);
    }

    /** A greedy step: CD on the layer of the current stage, zero gradients elsewhere. */
    public final class Step implements TrainStep {
        private final List<RbmLayer.Cd> cds = new ArrayList<>();
        private final Tensor[] acts, feats;
        private int stage;

        private Step(int maxBatch) {
            int n = cfg.layers();
            acts = new Tensor[n];
            feats = new Tensor[n + 1];
            for (int l = 0; l < n; l++) {
                cds.add(layers.get(l).cd(maxBatch));
                acts[l] = backend.alloc(dtype, maxBatch, cfg.hidden()[l]);
                feats[l + 1] = backend.alloc(dtype, maxBatch, cfg.hidden()[l]);
            }
        }

        /** The layer the last step trained. */
        public int stage() {
            return stage;
        }

        @Override
        public void run(Batch batch, RngKey key) {
            stage = stageOf(key.step());
            Tensor in = features(batch.x(), stage, acts, feats);
            backend.fill(params.grads(), 0);
            cds.get(stage).run(in, key, cfg.cdK(), cfg.persistent());
        }

        /** The reconstruction rows of the layer in training, which {@link #accumulateLoss} sums. */
        @Override
        public Tensor[] accumulatedTerms() {
            return new Tensor[]{cds.get(stage).rowLoss()};
        }

        @Override
        public double[] accumulatedScales() {
            return new double[]{1};
        }

        /**
         * The stage of {@code step} (the layer it trains: one launch sequence per stage); PCD: -1
         * while that layer's chains do not yet cover {@code rows} rows (the step that starts them).
         */
        @Override
        public int launchSequence(long step, int rows) {
            int s = stageOf(step);
            return cfg.persistent() && !cds.get(s).chainsCover(rows) ? -1 : s;
        }

        /** PCD: {@code layer<l>.chains}, the started persistent chains of each layer that has trained. */
        @Override
        public Map<String, Tensor> state() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            if (!cfg.persistent()) return m;
            for (int l = 0; l < cds.size(); l++) {
                Tensor c = cds.get(l).startedChains();
                if (c != null) m.put(prefix(l) + Rbm.CHAINS, c);
            }
            return m;
        }

        @Override
        public void restoreState(String name, int[] shape, float[] values) {
            int l = -1;
            for (int i = 0; i < cds.size(); i++) if (name.equals(prefix(i) + Rbm.CHAINS)) l = i;
            if (l < 0) {
                throw new IllegalArgumentException("a DBN of " + cds.size() + " layers keeps no training state of that name (only '"
                        + prefix(0) + Rbm.CHAINS + "' .. '" + prefix(cds.size() - 1) + Rbm.CHAINS + "')");
            }
            if (!cfg.persistent()) throw new IllegalArgumentException("this DBN trains by plain CD: it keeps no persistent chains");
            cds.get(l).restoreChains(shape, values);
        }

        @Override
        public double meanLoss() {
            RbmLayer.Cd cd = cds.get(stage);
            return backend.sum(cd.rowLoss()) / cd.batch();
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(cds.get(stage).rowLoss(), 1, acc);
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (reconstruction cross-entropy of layer " + stage + ")", cds.get(stage).rowLoss());
            return m;
        }

        @Override
        public void close() {
            for (RbmLayer.Cd cd : cds) cd.close();
            for (Tensor t : acts) t.close();
            for (Tensor t : feats) if (t != null) t.close();
        }
    }

    /** Writes the up-down mean-field reconstruction logits of x into {@code logits} (R x D). */
    private void upDownLogits(Tensor x, Tensor logits) {
        int r = x.rows(), n = cfg.layers();
        Tensor[] acts = new Tensor[n], feats = new Tensor[n + 1];
        try {
            for (int l = 0; l < n; l++) {
                acts[l] = backend.alloc(dtype, r, cfg.hidden()[l]);
                feats[l + 1] = backend.alloc(dtype, r, cfg.hidden()[l]);
            }
            Tensor top = features(x, n, acts, feats);
            Tensor h = top;
            for (int l = n - 1; l >= 1; l--) {
                try (Tensor va = backend.alloc(dtype, r, cfg.visibleOf(l))) {
                    layers.get(l).visibleProbs(h, va, feats[l]);
                }
                h = feats[l];
            }
            layers.get(0).visibleAct(h, logits);
            backend.rbmGibbsHalf(logits, layers.get(0).visibleBias(), 1, null, null, null, null);
        } finally {
            for (Tensor t : acts) if (t != null) t.close();
            for (Tensor t : feats) if (t != null) t.close();
        }
    }

    /** Minus the mean up-down reconstruction cross-entropy on {@code data}. */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        return -RbmEval.mean(RbmEval.perExample(backend, dtype, data, trainBinarization, seed, (x, out) -> {
            try (Tensor logits = backend.alloc(dtype, x.rows(), cfg.inputDim())) {
                upDownLogits(x, logits);
                backend.likelihood(Likelihood.bernoulli(), logits, x, null, 1, out, null, null);
            }
        }));
    }

    /** sigmoid of the up-down mean-field reconstruction logits of x (N x D). */
    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Tensor logits = backend.alloc(dtype, x.rows(), cfg.inputDim()); Tensor p = backend.alloc(dtype, x.rows(), cfg.inputDim())) {
            upDownLogits(x, logits);
            backend.likelihoodMean(Likelihood.bernoulli(), logits, p);
            return Rbm.floats(backend.download(p));
        }
    }

    @Override
    public float[] sample(int n, RngKey key, int label) {
        checkSampling(key);
        if (label >= 0) throw new IllegalArgumentException("a DBN is unconditional: it takes no label");
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        int top = cfg.layers() - 1;
        RbmLayer t = layers.get(top);
        int half = 0;
        int tv = t.visible(), th = t.hidden();
        List<Tensor> tmp = new ArrayList<>();
        try {
            Tensor va = alloc(tmp, n, tv), vs = alloc(tmp, n, tv), ha = alloc(tmp, n, th), hs = alloc(tmp, n, th), zeros = alloc(tmp, 1, tv);
            backend.rbmGibbsHalf(va, zeros.view(0, tv), 1, null, RbmLayer.subKey(key, half++), null, vs);
            for (int s = 0; s < sampleSteps; s++) {
                t.hiddenAct(vs, ha);
                backend.rbmGibbsHalf(ha, t.hiddenBias(), 1, null, RbmLayer.subKey(key, half++), null, hs);
                t.visibleAct(hs, va);
                backend.rbmGibbsHalf(va, t.visibleBias(), 1, null, RbmLayer.subKey(key, half++), null, vs);
            }
            Tensor h = vs;
            for (int l = top - 1; l >= 0; l--) {
                RbmLayer lay = layers.get(l);
                Tensor a = alloc(tmp, n, lay.visible()), s = alloc(tmp, n, lay.visible()), p = alloc(tmp, n, lay.visible());
                lay.visibleAct(h, a);
                backend.rbmGibbsHalf(a, lay.visibleBias(), 1, null, RbmLayer.subKey(key, half++), p, s);
                if (l == 0) return Rbm.floats(backend.download(p));
                h = s;
            }
            // A single-layer DBN is an RBM: the top chain's visible probabilities.
            Tensor p = alloc(tmp, n, tv);
            t.visibleProbs(hs, alloc(tmp, n, tv), p);
            return Rbm.floats(backend.download(p));
        } finally {
            for (Tensor x : tmp) x.close();
        }
    }

    private Tensor alloc(List<Tensor> tmp, int r, int c) {
        Tensor t = backend.alloc(dtype, r, c);
        tmp.add(t);
        return t;
    }

    @Override
    public void close() {
        params.close();
    }
}
