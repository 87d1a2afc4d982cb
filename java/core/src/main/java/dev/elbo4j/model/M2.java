package dev.elbo4j.model;

import dev.elbo4j.nn.Workspace;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Mlp;
import dev.elbo4j.nn.ConditionalNetwork;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The semi-supervised VAE M2 of Kingma, Rezende, Mohamed and Welling (2014): a classifier q(y|x)
 * (an MLP with softmax, parameters {@code classifier.*}), an encoder q(z|x,y) and a decoder
 * p(x|y,z) ({@code encoder.*}, {@code decoder.*} as in {@link Cvae}), priors p(z) = N(0, I) and a
 * uniform p(y) over the C classes.
 *
 * <p>For a labelled example, with one sample z ~ q(z|x,y):
 * {@code L(x,y) = -log p(x|y,z) + w KL(q(z|x,y) || p(z)) + log C} (-log p(y) = log C), w = beta
 * (the configured KL weight, 1 for the bound) times the trainer's KL warm-up weight (1 without warm-up). For an unlabelled example, exactly over the
 * classes (the conditional pass runs on the C*B rows (x_b, e_c)):
 * {@code U(x) = sum_y q(y|x) L(x,y) - H(q(y|x)) = sum_y q(y|x) (L(x,y) + log q(y|x))}.
 * The training loss of a step with B unlabelled and Bl labelled examples is
 * <pre>
 *   loss = (1/B) sum_b U(x_b) + (1/Bl) sum_l [L(x_l, y_l) + alpha CE(q(y|x_l), y_l)],
 * </pre>
 * with CE = -log q(y_l|x_l): the labelled and the unlabelled batch weigh the same, whatever the
 * sizes of the two sets. Default alpha = {@value M2Config#DEFAULT_ALPHA}. For scale: Kingma et
 * al.'s alpha = 0.1 N on their sum over the data set gives the cross-entropy 0.1 N_l times the total
 * weight of the unlabelled bound, 10 for N_l = 100 in these per-batch means; Pyro's tutorial uses
 * 46 on per-batch sums. On 10,000 MNIST digits with 100 labels (3 epochs) alpha = 10, 50 and 100
 * gave test accuracies of 73.1%, 74.5% and 75.0%: the choice matters little early on.
 *
 * <p>Default beta = {@value M2Config#DEFAULT_BETA} (the command line's m2 default), not 1: with
 * beta = 1 the encoder carries the class in z, the decoder hardly uses y, and the classifier is
 * pulled towards the generative model's poor class posterior softmax(-L(x, .)); on all of MNIST
 * with 100 labels its test accuracy fell from 71.1% after one epoch to 61.7% after six. Weighing
 * the KL term on z by 3 moves the class into y: 80.0% after one epoch, 80.3% after two.
 *
 * <p>With w = 1, -U(x) is a lower bound on log p(x) (the test figure); -L(x, y) one on log p(x, y).
 */
public final class M2 extends ModelBase<M2Config> implements LatentModel {
    private static final int EVAL_BATCH = 500;

    private final Network classifier;
    private final ConditionalElbo elbo;

    private M2(Backend backend, M2Config cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.classifier = classifierNetwork(cfg);
        this.elbo = network(cfg);
    }

    /**
     * The classifier {@code cfg} describes (x to the logits of q(y|x), before the softmax), without
     * parameters: an {@link Mlp}, or with a conv layout the encoder's conv layers (weights of its own,
     * {@code classifier.conv.i}) before the dense ones.
     */
    public static Network classifierNetwork(M2Config cfg) {
        return ConvLayout.encoder(cfg.conv(), "classifier", cfg.inputDim(), cfg.classifierHidden(), cfg.classes(), cfg.activation(),
                Activation.IDENTITY);
    }

    private static ConditionalElbo network(M2Config cfg) {
        return new ConditionalElbo(cfg.inputDim(), cfg.classes(), cfg.encoderHidden(), cfg.latent(), cfg.decoderHidden(),
                cfg.activation(), cfg.likelihood(), cfg.conv());
    }

    /** The encoder {@code cfg} describes (x and the one-hot y to [mu, log sigma^2]), without parameters. */
    public static ConditionalNetwork encoderNetwork(M2Config cfg) {
        return ConditionalElbo.encoderNetwork(cfg.inputDim(), cfg.classes(), cfg.encoderHidden(), cfg.latent(), cfg.activation(), cfg.conv());
    }

    /** The decoder {@code cfg} describes (z and the one-hot y to logits or means), without parameters. */
    public static ConditionalNetwork decoderNetwork(M2Config cfg) {
        return ConditionalElbo.decoderNetwork(cfg.inputDim(), cfg.classes(), cfg.latent(), cfg.decoderHidden(), cfg.activation(), cfg.conv());
    }

    /** The parameters of a model of {@code cfg} (classifier, encoder, decoder), in checkpoint order, without allocating them. */
    public static Parameters.Builder parameterLayout(M2Config cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        classifierNetwork(cfg).declare(pb);
        network(cfg).declare(pb);
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static M2 create(Backend backend, M2Config cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in F32 or F64 (F64 for gradient checks on the CPU). */
    public static M2 create(Backend backend, M2Config cfg, DType dtype, long seed) {
        return new M2(backend, cfg, dtype, seed);
    }

    @Override
    public int latent() {
        return cfg.latent();
    }

    private double logC() {
        return Math.log(cfg.classes());
    }

    /** Host one-hot rows c*B + b = e_c for c < C, b < B. */
    private float[] everyClass(int b) {
        int c = cfg.classes();
        float[] y = new float[c * b * c];
        for (int k = 0; k < c; k++) for (int i = 0; i < b; i++) y[(k * b + i) * c + k] = 1;
        return y;
    }

    @Override
    public Step trainStep(int maxBatch) {
        return new Step(maxBatch);
    }

    /**
     * One training step: the loss of the class javadoc. The unlabelled half runs first; its
     * gradients are kept while the labelled half overwrites the gradient buffer, then added back
     * (a GEMM with beta = 1). The labelled half's noise is RngKey(seed, LABELLED_LATENT, step).
     */
    public final class Step implements TrainStep {
        private final int maxBatch;
        private final Workspace cls;
        private final ConditionalElbo.Pass pass;
        /**
         * Every class for each row (rows c B + b = e_c), the layout depending on B: yAll for the full
         * batch, yShort for the last other B, so a replayed full and short batch never rewrite each
         * other's (a graph keeps its buffers, and nothing may be written from the host during one).
         */
        private final Tensor yAll, yShort, u, weights, ce, saved, one, logCTensor;
        private double klWeight = 1;
        private int yAllRows = -1, yShortRows = -1, batch, labelled;

        private Step(int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            this.maxBatch = maxBatch;
            int c = cfg.classes();
            cls = classifier.workspace(backend, dtype, maxBatch, true);
            pass = elbo.pass(params, dtype, c * maxBatch, 1, true);
            yAll = backend.alloc(dtype, c * maxBatch, c);
            yShort = backend.alloc(dtype, c * maxBatch, c);
            u = backend.alloc(dtype, maxBatch);
            weights = backend.alloc(dtype, c * maxBatch);
            ce = backend.alloc(dtype, maxBatch);
            saved = backend.alloc(dtype, params.size(), 1);
            one = backend.alloc(dtype, 1, 1);
            backend.fill(one, 1);
            logCTensor = backend.alloc(DType.F64, 1);
            backend.fill(logCTensor, logC());
        }

        /** The KL weight w of the class javadoc: the configured beta times the warm-up weight. */
        private double beta() {
            return klWeight * cfg.beta();
        }

        @Override
        public void klWeight(double weight) {
            if (!(weight >= 0) || Double.isInfinite(weight)) throw new IllegalArgumentException("KL weight must be >= 0, got " + weight);
            this.klWeight = weight;
        }

        /**
         * {@code b.x()} is the unlabelled batch; {@code b.xLabelled()}/{@code b.yLabelled()} the
         * labelled one (without them the loss is the unlabelled term alone).
         */
        @Override
        public void run(Batch b, RngKey key) {
            Tensor x = b.x();
            int n = x.rows(), c = cfg.classes();
            if (n < 1 || n > maxBatch || x.cols() != cfg.inputDim()) {
                throw new IllegalArgumentException("unlabelled batch " + x.shape() + " does not fit a step of up to " + maxBatch
                        + " rows of " + cfg.inputDim());
            }
            batch = n;
            Tensor every = everyClassRows(n);
            // Unlabelled: U(x) over all classes.
            Tensor logits = classifier.forward(params, cls, x);
            pass.forward(x, every, key, 1.0 / n);
            backend.unlabelledBound(logits, pass.rowLoss(), pass.kl(), beta(), logC(), 1.0 / n, u.view(0, n),
                    weights.view(0, c * n), cls.outputGrad(n));
            pass.backward(weights.view(0, c * n), beta(), n);
            classifier.backward(params, cls, x, null);
            labelled = 0;
            if (b.xLabelled() == null) return;
            // Labelled: L(x, y) + alpha CE, its gradient added to the unlabelled one.
            Tensor xl = b.xLabelled(), yl = b.yLabelled();
            int nl = xl.rows();
            if (yl == null || yl.rows() != nl || yl.cols() != c || nl < 1 || nl > maxBatch || xl.cols() != cfg.inputDim()) {
                throw new IllegalArgumentException("labelled batch " + xl.shape() + " with labels " + (yl == null ? "null" : yl.shape())
                        + " does not fit a step of up to " + maxBatch + " rows of " + cfg.inputDim() + " and " + c + " classes");
            }
            labelled = nl;
            Tensor grads = params.grads().view(0, Shape.of(params.size(), 1));
            backend.copy(grads, saved);
            Tensor ll = classifier.forward(params, cls, xl);
            backend.softmaxCrossEntropy(ll, yl, cfg.alpha() / nl, ce.view(0, nl), cls.outputGrad(nl));
            pass.forward(xl, yl, new RngKey(key.seed(), Streams.LABELLED_LATENT, key.step()), 1.0 / nl);
            pass.backward(null, beta(), nl);
            classifier.backward(params, cls, xl, null);
            backend.gemm(false, false, 1, saved, one, 1, grads);
        }

        /** The C x n rows (x_b, e_c) of the unlabelled bound for a batch of n, written once per n. */
        private Tensor everyClassRows(int n) {
            int c = cfg.classes();
            if (n == maxBatch) {
                if (yAllRows != n) {
                    backend.write(yAll.rowSlice(0, c * n), everyClass(n));
                    yAllRows = n;
                }
                return yAll.rowSlice(0, c * n);
            }
            if (yShortRows != n) {
                backend.write(yShort.rowSlice(0, c * n), everyClass(n));
                yShortRows = n;
            }
            return yShort.rowSlice(0, c * n);
        }

        /** The last step's mean loss: mean U + (if labelled) mean (L + alpha CE). */
        @Override
        public double meanLoss() {
            double m = backend.sum(u.view(0, batch)) / batch;
            if (labelled > 0) {
                m += (backend.sum(pass.rowLoss()) + beta() * backend.sum(pass.kl())
                        + cfg.alpha() * backend.sum(ce.view(0, labelled))) / labelled + logC();
            }
            return m;
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(u.view(0, batch), 1, acc);
            if (labelled > 0) {
                double s = (double) batch / labelled;
                backend.accumulate(pass.rowLoss(), s, acc);
                backend.accumulate(pass.kl(), beta() * s, acc);
                backend.accumulate(ce.view(0, labelled), cfg.alpha() * s, acc);
                backend.accumulate(logCTensor, batch, acc);
            }
        }

        /**
         * What {@link #accumulateLoss} sums, in its order: U of the unlabelled rows, then (with a
         * labelled batch, as in training) its reconstruction rows, KL terms, cross-entropies and
         * the constant log C (one F64).
         */
        @Override
        public Tensor[] accumulatedTerms() {
            if (labelled == 0) return new Tensor[]{u.view(0, batch)};
            return new Tensor[]{u.view(0, batch), pass.rowLoss(), pass.kl(), ce.view(0, labelled), logCTensor};
        }

        /** The scales {@link #accumulateLoss} applies to {@link #accumulatedTerms()}. */
        @Override
        public double[] accumulatedScales() {
            if (labelled == 0) return new double[]{1};
            double s = (double) batch / labelled;
            return new double[]{1, s, beta() * s, cfg.alpha() * s, batch};
        }

        /** The labelled batch's KL term, whose scale is beta times the warm-up weight times B / Bl. */
        @Override
        public int klTerm() {
            return 2;
        }

        @Override
        public double effectiveKlWeight() {
            return beta();
        }

        /** B / Bl of the last run (1 before one). */
        @Override
        public double klTermFactor() {
            return labelled == 0 ? 1 : (double) batch / labelled;
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (unlabelled bound U(x))", u.view(0, batch));
            if (labelled > 0) {
                m.put("loss (labelled reconstruction term, -log p(x|y,z))", pass.rowLoss());
                m.put("loss (labelled KL term)", pass.kl());
                m.put("loss (labelled cross-entropy)", ce.view(0, labelled));
            }
            return m;
        }

        @Override
        public void close() {
            cls.close();
            pass.close();
            for (Tensor t : new Tensor[]{yAll, yShort, u, weights, ce, saved, one, logCTensor}) t.close();
        }
    }

    /** Visits the data in batches of up to {@link #EVAL_BATCH}: x (binarised as in evaluation) and one-hot y. */
    private interface Visitor {
        void batch(Tensor x, Tensor y, long chunk);
    }

    private void visit(DeviceDataset data, Binarization trainBinarization, long seed, Visitor v) {
        if (data.dim() != cfg.inputDim()) {
            throw new IllegalArgumentException("data has " + data.dim() + " pixels per example, the model expects " + cfg.inputDim());
        }
        if (data.classes() != cfg.classes()) {
            throw new IllegalArgumentException("M2's test figures need the data's labels as " + cfg.classes()
                    + " one-hot classes, got " + data.classes());
        }
        int n = data.size(), batch = Math.min(n, EVAL_BATCH);
        Binarization mode = trainBinarization == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        try (Tensor x = backend.alloc(dtype, batch, cfg.inputDim()); Tensor y = backend.alloc(dtype, batch, cfg.classes())) {
            long chunk = 0;
            for (int from = 0; from < n; from += batch) {
                int b = Math.min(batch, n - from);
                Tensor xb = x.rowSlice(0, b), yb = y.rowSlice(0, b);
                data.gather(from, mode, new RngKey(seed, Streams.EVAL_BINARIZE, 0), xb);
                data.gatherLabels(from, yb);
                v.batch(xb, yb, chunk++);
            }
        }
    }

    /**
     * The test ELBO of the unlabelled bound, mean_n -U(x_n) (KL weight 1, one sample of z per
     * (x, y) pair, noise of chunk i RngKey(seed, EVAL, i)): a lower bound on log p(x). Labels are
     * not used.
     */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        return evaluate(data, trainBinarization, seed, false).objective();
    }

    /** {"accuracy": the fraction of the inputs whose argmax_y q(y|x) is their label}. */
    @Override
    public Map<String, Double> testMetrics(DeviceDataset data, Binarization trainBinarization, long seed) {
        long[] right = {0};
        visit(data, trainBinarization, seed, (x, y, chunk) -> {
            int[] pred = predict(x);
            double[] hot = backend.download(y);
            for (int i = 0; i < pred.length; i++) if (hot[i * cfg.classes() + pred[i]] > 0.5) right[0]++;
        });
        return Map.of("accuracy", (double) right[0] / data.size());
    }

    /**
     * {@link #testObjective} and {@link #testMetrics} from one pass over the data: the accuracy is
     * read from the logits the unlabelled bound computes anyway.
     */
    @Override
    public TestFigures testFigures(DeviceDataset data, Binarization trainBinarization, long seed) {
        return evaluate(data, trainBinarization, seed, true);
    }

    /** The unlabelled bound (and, with {@code accuracy}, the classifier's accuracy) in one pass. */
    private TestFigures evaluate(DeviceDataset data, Binarization trainBinarization, long seed, boolean accuracy) {
        int c = cfg.classes(), batch = Math.min(data.size(), EVAL_BATCH);
        double[] total = {0};
        long[] right = {0};
        try (Workspace ws = classifier.workspace(backend, dtype, batch, false);
             ConditionalElbo.Pass pass = elbo.pass(params, dtype, c * batch, 1, false);
             Tensor yAll = backend.alloc(dtype, c * batch, c); Tensor u = backend.alloc(dtype, batch);
             Tensor w = backend.alloc(dtype, c * batch)) {
            int[] filled = {-1};
            visit(data, trainBinarization, seed, (x, y, chunk) -> {
                int b = x.rows();
                if (filled[0] != b) {
                    backend.write(yAll.rowSlice(0, c * b), everyClass(b));
                    filled[0] = b;
                }
                Tensor logits = classifier.forward(params, ws, x);
                if (accuracy) {
                    int[] pred = argmax(backend.download(logits), b);
                    double[] hot = backend.download(y);
                    for (int i = 0; i < b; i++) if (hot[i * c + pred[i]] > 0.5) right[0]++;
                }
                pass.forward(x, yAll.rowSlice(0, c * b), new RngKey(seed, Streams.EVAL, chunk), 1);
                backend.unlabelledBound(logits, pass.rowLoss(), pass.kl(), 1, logC(), 1, u.view(0, b), w.view(0, c * b), null);
                total[0] -= backend.sum(u.view(0, b));
            });
        }
        double objective = total[0] / data.size();
        return new TestFigures(objective, accuracy ? Map.of("accuracy", (double) right[0] / data.size()) : Map.of());
    }

    /** The classifier's logits q(y|x) before the softmax, N x C, as a host array. */
    public double[] logits(Tensor x) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Workspace ws = classifier.workspace(backend, dtype, x.rows(), false)) {
            return backend.download(classifier.forward(params, ws, x));
        }
    }

    /**
     * {@link #logits(Tensor)} of host inputs: {@code x} holds N examples of D values each,
     * row-major, on the training data's scale (pixels in [0, 1]); returns N x C.
     *
     * @throws IllegalArgumentException naming x when it is not a whole number of examples or holds a value outside [0, 1] (a NaN included)
     */
    public double[] logits(float[] x) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x)) {
            return logits(xt);
        }
    }

    /** {@link #predict(Tensor)} of host inputs laid out as in {@link #logits(float[])}: the class (0..C-1) of each example. */
    public int[] predict(float[] x) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x)) {
            return predict(xt);
        }
    }

    /** argmax_y q(y|x) of each row of x (N x D); the first maximum on ties. */
    public int[] predict(Tensor x) {
        return argmax(logits(x), x.rows());
    }

    /** The argmax of each of the n rows of logits (n x C); the first maximum on ties. */
    private int[] argmax(double[] l, int n) {
        int c = cfg.classes();
        int[] p = new int[n];
        for (int i = 0; i < p.length; i++) {
            int best = 0;
            for (int k = 1; k < c; k++) if (l[i * c + k] > l[i * c + best]) best = k;
            p[i] = best;
        }
        return p;
    }

    /** y if given, else the one-hot argmax_y q(y|x) of each row (a new tensor the caller closes). */
    private Tensor labelsOrPredicted(Tensor x, Tensor y) {
        if (y != null) {
            if (y.rows() != x.rows() || y.cols() != cfg.classes()) {
                throw new IllegalArgumentException("labels " + y.shape() + " must be " + x.rows() + " x " + cfg.classes());
            }
            return null;
        }
        int[] p = predict(x);
        float[] hot = new float[p.length * cfg.classes()];
        for (int i = 0; i < p.length; i++) hot[i * cfg.classes() + p[i]] = 1;
        Tensor t = backend.alloc(dtype, p.length, cfg.classes());
        backend.write(t, hot);
        return t;
    }

    /** The means of q(z|x,y), N x Z; without y, y is the classifier's argmax. */
    @Override
    public float[] encodeMean(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Tensor own = labelsOrPredicted(x, y)) {
            return elbo.encodeMean(params, dtype, x, own == null ? y : own);
        }
    }

    /** Means of p(x|y,z), N x D; y (N x C one-hot) is required. */
    @Override
    public float[] decodeMean(Tensor z, Tensor y) {
        checkBatch("z", z, cfg.latent(), "latent values");
        if (y == null || y.rows() != z.rows() || y.cols() != cfg.classes()) {
            throw new IllegalArgumentException("M2 decodes with one-hot labels of " + z.rows() + " x " + cfg.classes() + ", got "
                    + (y == null ? "none" : y.shape()));
        }
        return elbo.decodeMean(params, dtype, z, y);
    }

    /** Decoded at z = mean of q(z|x,y); without y, y is the classifier's argmax. */
    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Tensor own = labelsOrPredicted(x, y)) {
            return elbo.reconstruct(params, dtype, x, own == null ? y : own);
        }
    }

    /** z from the prior (noise of {@code key}), class {@code label}, or i mod C for sample i when label &lt; 0. */
    @Override
    public float[] sample(int n, RngKey key, int label) {
        checkSampling(key);
        return elbo.sample(params, dtype, n, key, label);
    }

    @Override
    public void close() {
        params.close();
    }
}
