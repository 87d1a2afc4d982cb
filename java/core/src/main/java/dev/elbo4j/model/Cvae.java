package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.nn.ConditionalNetwork;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A conditional VAE (Sohn et al. 2015): encoder q(z|x,y) = N(mu, diag exp(lv)), prior N(0, I),
 * decoder p(x|z,y) of the configured likelihood, with y the one-hot label (C classes) joining the
 * first layer of both networks ({@link dev.elbo4j.nn.ConditionalLinear}).
 *
 * <p>Training loss per example: {@code (1/L) sum_l -log p(x|z_l,y) + beta KL(q(z|x,y) || p(z))},
 * averaged over the batch (the negative conditional ELBO, a bound on -log p(x|y), for beta = 1).
 * Parameters: {@code encoder.0.weight|label_weight|bias}, {@code encoder.i.weight|bias},
 * the same for {@code decoder}, and {@code decoder.logvar} for a learned-variance Gaussian.
 */
public final class Cvae extends ModelBase<CvaeConfig> implements LatentModel, ImportanceSampled {
    /** Examples per evaluation pass. */
    private static final int EVAL_BATCH = 1000;

    private final ConditionalElbo elbo;

    private Cvae(Backend backend, CvaeConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.elbo = network(cfg);
    }

    private static ConditionalElbo network(CvaeConfig cfg) {
        return new ConditionalElbo(cfg.inputDim(), cfg.classes(), cfg.encoderHidden(), cfg.latent(), cfg.decoderHidden(),
                cfg.activation(), cfg.likelihood(), cfg.conv());
    }

    /** The encoder {@code cfg} describes (x and the one-hot y to [mu, log sigma^2]), without parameters. */
    public static ConditionalNetwork encoderNetwork(CvaeConfig cfg) {
        return ConditionalElbo.encoderNetwork(cfg.inputDim(), cfg.classes(), cfg.encoderHidden(), cfg.latent(), cfg.activation(), cfg.conv());
    }

    /** The decoder {@code cfg} describes (z and the one-hot y to logits or means), without parameters. */
    public static ConditionalNetwork decoderNetwork(CvaeConfig cfg) {
        return ConditionalElbo.decoderNetwork(cfg.inputDim(), cfg.classes(), cfg.latent(), cfg.decoderHidden(), cfg.activation(), cfg.conv());
    }

    /** The parameters of a model of {@code cfg}, in checkpoint order, without allocating them. */
    public static Parameters.Builder parameterLayout(CvaeConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        network(cfg).declare(pb);
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Cvae create(Backend backend, CvaeConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in F32 or F64 (F64 for gradient checks on the CPU). */
    public static Cvae create(Backend backend, CvaeConfig cfg, DType dtype, long seed) {
        return new Cvae(backend, cfg, dtype, seed);
    }

    @Override
    public int latent() {
        return cfg.latent();
    }

    @Override
    public Step trainStep(int maxBatch) {
        return new Step(maxBatch);
    }

    /**
     * The test ELBO per example with the test labels, one sample of z per input:
     * mean_n [log p(x_n|z, y_n) - KL(q(z|x_n,y_n) || p(z))] (beta 1), a lower bound on log p(x|y);
     * {@link Evaluator#elbo} with one sample. Stochastic binarisations are evaluated on one fixed
     * draw from {@code seed}; the noise of chunk i (of {@link #evaluationRows} inputs) is
     * RngKey(seed, EVAL, i).
     */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        checkData(data);
        return Evaluator.mean(new Evaluator(this, data, trainBinarization, seed).elbo(1));
    }

    /** The labels' classes: every input is evaluated with its own label. */
    @Override
    public int conditioningClasses() {
        return cfg.classes();
    }

    /** 1000 (the CVAE's evaluation batch since its first version, so its test ELBO keeps its noise). */
    @Override
    public int evaluationRows() {
        return EVAL_BATCH;
    }

    /** Evaluation buffers: per row -log p(x|z,y), the KL and log p(z) - log q(z|x,y). */
    @Override
    public Scoring scoringPass(int maxBatch, int samples) {
        return new Scoring(maxBatch, samples);
    }

    /** An evaluation pass for {@link Evaluator}: x with its own labels y, {@code samples} draws of z each. */
    public final class Scoring implements ImportanceSampled.ScoringPass {
        private final ConditionalElbo.Pass pass;

        private Scoring(int maxBatch, int samples) {
            if (maxBatch < 1 || samples < 1) throw new IllegalArgumentException("batch and samples must be >= 1");
            pass = elbo.scoringPass(params, dtype, maxBatch, samples);
        }

        /** y (B x C one-hot) is required. */
        @Override
        public void score(Tensor x, Tensor y, RngKey key) {
            checkLabels(x, y);
            pass.forward(x, y, key, 1);
        }

        @Override
        public Tensor rowLoss() {
            return pass.rowLoss();
        }

        @Override
        public Tensor kl() {
            return pass.kl();
        }

        @Override
        public Tensor logRatio() {
            return pass.logRatio();
        }

        @Override
        public void close() {
            pass.close();
        }
    }

    private void checkData(DeviceDataset data) {
        if (data.dim() != cfg.inputDim()) {
            throw new IllegalArgumentException("data has " + data.dim() + " pixels per example, the model expects " + cfg.inputDim());
        }
        if (data.classes() != cfg.classes()) {
            throw new IllegalArgumentException("the CVAE needs the data's labels as " + cfg.classes() + " one-hot classes, got "
                    + data.classes());
        }
    }

    /** One training step: the loss of the class javadoc on a labelled batch. */
    public final class Step implements TrainStep {
        private final ConditionalElbo.Pass pass;
        private double klWeight = 1;
        private int batch;

        private Step(int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            pass = elbo.pass(params, dtype, maxBatch, cfg.samples(), true);
        }

        /** Needs {@code batch.y()}, the one-hot labels of {@code batch.x()}. */
        @Override
        public void run(Batch b, RngKey key) {
            if (b.y() == null) throw new IllegalArgumentException("a CVAE step needs the batch's labels (Batch.y)");
            if (b.y().rows() != b.x().rows()) {
                throw new IllegalArgumentException("labels " + b.y().shape() + " do not match inputs " + b.x().shape());
            }
            batch = b.size();
            pass.forward(b.x(), b.y(), key, 1.0 / ((double) batch * cfg.samples()));
            pass.backward(null, beta(), batch);
        }

        private double beta() {
            return klWeight * cfg.beta();
        }

        @Override
        public void klWeight(double weight) {
            if (!(weight >= 0) || Double.isInfinite(weight)) throw new IllegalArgumentException("KL weight must be >= 0, got " + weight);
            this.klWeight = weight;
        }

        @Override
        public double meanLoss() {
            return (backend.sum(pass.rowLoss()) / cfg.samples() + beta() * backend.sum(pass.kl())) / batch;
        }

        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(pass.rowLoss(), 1.0 / cfg.samples(), acc);
            backend.accumulate(pass.kl(), beta(), acc);
        }

        /** What {@link #accumulateLoss} sums, in its order: the reconstruction rows, then the KL term. */
        @Override
        public Tensor[] accumulatedTerms() {
            return new Tensor[]{pass.rowLoss(), pass.kl()};
        }

        /** The KL term's index in {@link #accumulatedTerms()}. */
        @Override
        public int klTerm() {
            return 1;
        }

        /** The scales {@link #accumulateLoss} applies to {@link #accumulatedTerms()}. */
        @Override
        public double[] accumulatedScales() {
            return new double[]{1.0 / cfg.samples(), beta()};
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (reconstruction term, -log p(x|z,y))", pass.rowLoss());
            m.put("loss (KL term)", pass.kl());
            return m;
        }

        @Override
        public void close() {
            pass.close();
        }
    }

    private void checkLabels(Tensor x, Tensor y) {
        if (y == null) throw new IllegalArgumentException("a CVAE needs the one-hot labels y of its inputs");
        if (y.rows() != x.rows() || y.cols() != cfg.classes()) {
            throw new IllegalArgumentException("labels " + y.shape() + " must be " + x.rows() + " x " + cfg.classes());
        }
    }

    /** The posterior means mu(x, y), N x Z; y (N x C one-hot) is required. */
    @Override
    public float[] encodeMean(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        checkLabels(x, y);
        return elbo.encodeMean(params, dtype, x, y);
    }

    /** Means of p(x|z,y), N x D; y (N x C one-hot) is required. */
    @Override
    public float[] decodeMean(Tensor z, Tensor y) {
        checkBatch("z", z, cfg.latent(), "latent values");
        checkLabels(z, y);
        return elbo.decodeMean(params, dtype, z, y);
    }

    /** Decoded at z = mu(x, y); y (N x C one-hot) is required. */
    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        checkLabels(x, y);
        return elbo.reconstruct(params, dtype, x, y);
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
