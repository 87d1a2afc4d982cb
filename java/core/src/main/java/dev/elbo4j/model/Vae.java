package dev.elbo4j.model;

import dev.elbo4j.nn.Workspace;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A variational autoencoder with a diagonal Gaussian encoder q(z|x) = N(mu, diag exp(lv)), the
 * prior N(0, I) and a decoder p(x|z) of the configured {@link dev.elbo4j.backend.Likelihood}.
 *
 * <p>The training loss per example is {@code (1/L) sum_l -log p(x|z_l) + beta KL(q(z|x) || p(z))},
 * averaged over the batch; with beta = 1 it is the negative ELBO. With the {@link VaeObjective#IWAE}
 * objective it is {@code -log (1/L) sum_l exp(lw_l)}, lw_l = log p(x|z_l) + log p(z_l) - log q(z_l|x)
 * (Burda et al. 2015, k = L), averaged over the batch. Parameters are named
 * {@code encoder.i.weight|bias}, {@code decoder.i.weight|bias} and, for a learned-variance
 * Gaussian, {@code decoder.logvar}; the encoder's last layer emits [mu, log sigma^2]. With a conv
 * layout ({@link VaeConfig#conv}) the encoder starts with {@code encoder.conv.i} layers and the
 * decoder ends with {@code decoder.deconv.i} layers (docs/CONV.md).
 */
public final class Vae extends ModelBase<VaeConfig> implements LatentModel, ImportanceSampled {
    /** Name of the learned per-pixel log sigma^2 of the Gaussian decoder. */
    public static final String LOGVAR = "decoder.logvar";

    private final Network encoder;
    private final Network decoder;

    private Vae(Backend backend, VaeConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.encoder = encoderNetwork(cfg);
        this.decoder = decoderNetwork(cfg);
    }

    /** The encoder {@code cfg} describes (x to [mu, log sigma^2]), without parameters: its layers' names, shapes and activations. */
    public static Network encoderNetwork(VaeConfig cfg) {
        return ConvLayout.encoder(cfg.conv(), "encoder", cfg.inputDim(), cfg.encoderHidden(), 2 * cfg.latent(), cfg.activation(),
                Activation.IDENTITY);
    }

    /** The decoder {@code cfg} describes (z to logits or means), without parameters. */
    public static Network decoderNetwork(VaeConfig cfg) {
        return ConvLayout.decoder(cfg.conv(), "decoder", cfg.latent(), cfg.decoderHidden(), cfg.inputDim(), cfg.activation(),
                Activation.IDENTITY);
    }

    /**
     * The parameters a model of {@code cfg} has, by name, shape and initialisation, in checkpoint
     * order, without allocating them: what a checkpoint reader checks a file against.
     */
    public static Parameters.Builder parameterLayout(VaeConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        encoderNetwork(cfg).declare(pb);
        decoderNetwork(cfg).declare(pb);
        if (cfg.likelihood().learnsVariance()) {
            pb.add(LOGVAR, Shape.of(cfg.inputDim()), Parameters.Init.constant(0));
        }
        if (cfg.hasFlow()) PlanarPosterior.declare(cfg, pb); // ---- planar flow
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Vae create(Backend backend, VaeConfig cfg, long seed) {
        return new Vae(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in the given precision (F64 exists for gradient checks on the CPU). */
    public static Vae create(Backend backend, VaeConfig cfg, DType dtype, long seed) {
        return new Vae(backend, cfg, dtype, seed);
    }

    /** The encoder network: x (B x D) to [mu, log sigma^2] (B x 2Z). */
    public Network encoder() {
        return encoder;
    }

    /** The decoder network: z (B x Z) to logits or means (B x D). */
    public Network decoder() {
        return decoder;
    }

    /** A training pass with the configured L samples per input. */
    @Override
    public Pass trainStep(int maxBatch) {
        return pass(maxBatch, cfg.samples(), true);
    }

    /**
     * The test set's mean of the training objective: the ELBO with one sample of z per input, or for
     * the iwae objective the IWAE bound with k = L samples (the importance-sampled log p(x) estimate
     * of {@link Evaluator#logLikelihood} with k = L).
     */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        Evaluator ev = new Evaluator(this, data, trainBinarization, seed);
        return Evaluator.mean(cfg.objective() == VaeObjective.IWAE ? ev.logLikelihood(cfg.samples(), done -> {
        }) : ev.elbo(1));
    }

    /** Unconditional: no labels. */
    @Override
    public int conditioningClasses() {
        return 0;
    }

    /** An evaluation {@link #pass}. */
    @Override
    public Pass scoringPass(int maxBatch, int samples) {
        return pass(maxBatch, samples, false);
    }

    /** Buffers for batches of up to {@code maxBatch} inputs with {@code samples} draws of z each. */
    public Pass pass(int maxBatch, int samples, boolean training) {
        return new Pass(maxBatch, samples, training);
    }

    /**
     * One forward (and, for training, backward) evaluation of the model on a batch. Holds every
     * activation buffer, allocated once; a smaller batch uses the leading rows. A training pass
     * optimises the configured objective; an evaluation pass computes the ELBO's terms and the log
     * ratios whatever the objective.
     */
    public final class Pass implements TrainStep, ImportanceSampled.ScoringPass {
        private final int maxBatch, samples;
        private final boolean training;
        private double klWeight = 1;
        private final Workspace enc, dec;
        private final boolean iwae;
        private final Tensor eps, z, dz, rowLoss, kl, logRatio, weights, iwaeLoss;
        private final PlanarPosterior.Buffers flow; // ---- planar flow (null without)
        private int batch;

        private Pass(int maxBatch, int samples, boolean training) {
            if (maxBatch < 1 || samples < 1) throw new IllegalArgumentException("batch and samples must be >= 1");
            if ((long) maxBatch * samples > Integer.MAX_VALUE / Math.max(cfg.inputDim(), 1)) {
                throw new IllegalArgumentException("batch " + maxBatch + " x samples " + samples + " is too large");
            }
            this.maxBatch = maxBatch;
            this.samples = samples;
            this.training = training;
            int rows = maxBatch * samples, zd = cfg.latent();
            enc = encoder.workspace(backend, dtype, maxBatch, training);
            dec = decoder.workspace(backend, dtype, rows, training);
            eps = backend.alloc(dtype, rows, zd);
            z = backend.alloc(dtype, rows, zd);
            dz = training ? backend.alloc(dtype, rows, zd) : null;
            rowLoss = backend.alloc(dtype, rows);
            kl = backend.alloc(dtype, maxBatch);
            iwae = training && cfg.objective() == VaeObjective.IWAE;
            logRatio = training && !iwae ? null : backend.alloc(dtype, rows);
            weights = iwae ? backend.alloc(dtype, rows) : null;
            iwaeLoss = iwae ? backend.alloc(dtype, maxBatch) : null;
            flow = cfg.hasFlow() ? new PlanarPosterior.Buffers(backend, params, dtype, rows, zd, cfg.flowSteps(), training) : null;
        }

        /** L, the draws of z per input this pass makes. */
        public int samples() {
            return samples;
        }

        @Override
        public void run(Batch batch, RngKey key) {
            run(batch.x(), key);
        }

        /** {@link #run(Tensor, RngKey)}; y is ignored (an unconditional model). */
        @Override
        public void score(Tensor x, Tensor y, RngKey key) {
            run(x, key);
        }

        /**
         * KL warm-up: the KL term's weight is {@code weight * beta} from the next run on. The iwae
         * objective has no separate KL term: it accepts only weight 1 (IllegalArgumentException otherwise).
         */
        @Override
        public void klWeight(double weight) {
            if (!(weight >= 0) || Double.isInfinite(weight)) throw new IllegalArgumentException("KL weight must be >= 0, got " + weight);
            if (iwae && weight != 1) {
                throw new IllegalArgumentException("KL warm-up does not apply to the iwae objective (no separate KL term), got weight "
                        + weight);
            }
            this.klWeight = weight;
        }

        /** The weight of the KL term in this pass's loss: beta (times the warm-up weight) in training, 1 in evaluation. */
        private double beta() {
            return training ? klWeight * cfg.beta() : 1;
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (reconstruction term, -log p(x|z))", rowLoss());
            if (iwae) {
                m.put("loss (log p(z) - log q(z|x))", logRatio());
                m.put("loss (IWAE, -log mean_l p(x, z_l) / q(z_l|x))", iwaeLoss());
            } else {
                m.put("loss (KL term)", kl());
            }
            return m;
        }

        /**
         * Evaluates the model on x (B x D, B &lt;= maxBatch) with the noise of {@code key}; in a
         * training pass also writes every parameter's gradient of the mean training loss.
         */
        public void run(Tensor x, RngKey key) {
            int b = x.rows(), rows = b * samples;
            if (b < 1 || b > maxBatch || x.cols() != cfg.inputDim()) {
                throw new IllegalArgumentException("input " + x.shape() + " does not fit a pass of up to " + maxBatch
                        + " rows of " + cfg.inputDim());
            }
            batch = b;
            Tensor stats = encoder.forward(params, enc, x);
            Tensor zz = z.rowSlice(0, rows), ee = eps.rowSlice(0, rows);
            backend.latentForward(stats, key, ee, zz, kl.view(0, b), logRatio == null ? null : logRatio.view(0, rows));
            // ---- planar flow: the decoder reads z_K; kl and logRatio become the flow posterior's
            Tensor zDec = flow == null ? zz : flow.forward(zz, kl.view(0, b), logRatio == null ? null : logRatio.view(0, rows));
            Tensor out = decoder.forward(params, dec, zDec);
            boolean learned = cfg.likelihood().learnsVariance();
            Tensor logVar = learned ? params.value(LOGVAR) : null;
            Tensor dOut = training ? dec.outputGrad(rows) : null;
            Tensor dLogVar = training && learned ? params.grad(LOGVAR) : null;
            if (iwae) {
                // Unweighted d rowLoss / d out first; the weights need every row's loss.
                backend.likelihood(cfg.likelihood(), out, x, logVar, 1, rowLoss.view(0, rows), dOut, dLogVar);
                Tensor w = weights.view(0, rows);
                backend.iwaeWeights(rowLoss.view(0, rows), logRatio.view(0, rows), w, iwaeLoss.view(0, b));
                backend.iwaeScaleRows(w, 1.0 / b, dOut, logVar, dLogVar);
                Tensor dzz = dz.rowSlice(0, rows);
                decoder.backward(params, dec, zz, dzz);
                backend.iwaeLatentBackward(stats, ee, zz, dzz, w, 1.0 / b, enc.outputGrad(b));
                encoder.backward(params, enc, x, null);
                return;
            }
            backend.likelihood(cfg.likelihood(), out, x, logVar, 1.0 / rows, rowLoss.view(0, rows), dOut, dLogVar);
            if (!training) return;
            Tensor dzz = dz.rowSlice(0, rows);
            decoder.backward(params, dec, zDec, dzz);
            if (flow != null) dzz = flow.backward(zz, dzz, beta() / rows); // ---- planar flow: dz_K -> dz_0
            backend.latentBackward(stats, ee, dzz, beta() / b, enc.outputGrad(b));
            encoder.backward(params, enc, x, null);
        }

        /** -log p(x|z) for each of the last batch's L*B rows (row l*B + b). */
        @Override
        public Tensor rowLoss() {
            return rowLoss.view(0, batch * samples);
        }

        /**
         * KL(q(z|x_b) || p(z)) for each input of the last batch: closed form for the Gaussian
         * posterior; with a planar flow, the closed form plus the flow's single-sample correction
         * (see {@link PlanarPosterior}).
         */
        @Override
        public Tensor kl() {
            return kl.view(0, batch);
        }

        /** log p(z) - log q(z|x) for each row of the last batch (evaluation passes and iwae training passes); z = z_K with a flow. */
        @Override
        public Tensor logRatio() {
            if (logRatio == null) throw new IllegalStateException("log ratios exist in evaluation passes and iwae training passes only");
            return logRatio.view(0, batch * samples);
        }

        /**
         * The IWAE loss -log (1/L) sum_l exp(-rowLoss[l*B+b] + logRatio[l*B+b]) of each input of the
         * last batch (iwae training passes only).
         */
        public Tensor iwaeLoss() {
            if (iwaeLoss == null) throw new IllegalStateException("the IWAE loss exists in iwae training passes only");
            return iwaeLoss.view(0, batch);
        }

        /** The normalised importance weights softmax_l(lw) of the last batch's rows (iwae training passes only). */
        public Tensor weights() {
            if (weights == null) throw new IllegalStateException("importance weights exist in iwae training passes only");
            return weights.view(0, batch * samples);
        }

        /** The encoder's [mu, log sigma^2] for the last batch. */
        public Tensor stats() {
            return enc.output(batch);
        }

        /** The decoder's raw output (logits or means) for the last batch's rows. */
        public Tensor decoderOutput() {
            return dec.output(batch * samples);
        }

        /** Adds the last batch's summed training loss, (sum rowLoss)/L + beta sum KL (iwae: sum of the IWAE losses), into acc. */
        @Override
        public void accumulateLoss(Tensor acc) {
            if (iwae) {
                backend.accumulate(iwaeLoss(), 1, acc);
                return;
            }
            backend.accumulate(rowLoss(), 1.0 / samples, acc);
            backend.accumulate(kl(), beta(), acc);
        }

        /**
         * The tensors {@link #accumulateLoss} sums, in its order, for a check and an accumulation
         * done on the device (a replayed step); {@link #accumulatedScales()} gives their scales.
         */
        @Override
        public Tensor[] accumulatedTerms() {
            return iwae ? new Tensor[]{iwaeLoss()} : new Tensor[]{rowLoss(), kl()};
        }

        /** The KL term's index in {@link #accumulatedTerms()}. */
        @Override
        public int klTerm() {
            return iwae ? -1 : 1;
        }

        /** The scales {@link #accumulateLoss} applies to {@link #accumulatedTerms()}. */
        @Override
        public double[] accumulatedScales() {
            return iwae ? new double[]{1} : new double[]{1.0 / samples, beta()};
        }

        /** The last batch's mean loss per example, read back to the host. */
        @Override
        public double meanLoss() {
            if (iwae) return backend.sum(iwaeLoss()) / batch;
            return (backend.sum(rowLoss()) / samples + beta() * backend.sum(kl())) / batch;
        }

        @Override
        public void close() {
            enc.close();
            dec.close();
            for (Tensor t : new Tensor[]{eps, z, dz, rowLoss, kl, logRatio, weights, iwaeLoss}) if (t != null) t.close();
            if (flow != null) flow.close();
        }
    }

    @Override
    public int latent() {
        return cfg.latent();
    }

    @Override
    public float[] decodeMean(Tensor z, Tensor y) {
        return decodeMean(z);
    }

    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        return reconstruct(x);
    }

    @Override
    public float[] sample(int n, RngKey key, int label) {
        if (label >= 0) throw new IllegalArgumentException("a VAE is unconditional: it takes no label");
        return sample(n, key);
    }

    /**
     * The codes of x, N x Z: the posterior means mu(x); with a planar flow, mu pushed through the
     * K steps, z_K = f_K(...f_1(mu)) (the point the decoder reads for z_0 = mu; not the mean of
     * q_K, which has no closed form).
     */
    @Override
    public float[] encodeMean(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        int n = x.rows(), zd = cfg.latent();
        double[] stats;
        try (Workspace ws = encoder.workspace(backend, dtype, n, false)) {
            stats = backend.download(encoder.forward(params, ws, x));
        }
        float[] mu = new float[n * zd];
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < zd; k++) mu[r * zd + k] = (float) stats[r * 2 * zd + k];
        }
        return cfg.hasFlow() ? PlanarPosterior.push(backend, params, dtype, mu, n, zd) : mu; // ---- planar flow
    }

    /**
     * Decodes latent codes z (N x Z) into the likelihood's mean (sigmoid of the logits for
     * Bernoulli, the mean for a Gaussian), as a host array N x D.
     */
    public float[] decodeMean(Tensor z) {
        checkBatch("z", z, cfg.latent(), "latent values");
        int n = z.rows();
        try (Workspace ws = decoder.workspace(backend, dtype, n, false);
             Tensor mean = backend.alloc(dtype, n, cfg.inputDim())) {
            Tensor out = decoder.forward(params, ws, z);
            backend.likelihoodMean(cfg.likelihood(), out, mean);
            double[] d = backend.download(mean);
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
    }

    /** {@code n} samples from the model: z from the prior (noise of {@code key}), decoded to means. */
    @Override
    public float[] sample(int n, RngKey key) {
        checkSampling(key);
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        try (Tensor z = backend.alloc(dtype, n, cfg.latent())) {
            backend.normal(key, z);
            return decodeMean(z);
        }
    }

    /** Reconstructions of x (N x D): decoded at the code {@link #encodeMean} (mu(x), with a flow z_K of mu(x)). */
    public float[] reconstruct(Tensor x) {
        int n = x.rows(), zd = cfg.latent();
        float[] mu = encodeMean(x, null);
        try (Tensor z = backend.alloc(dtype, n, zd)) {
            backend.write(z, mu);
            return decodeMean(z);
        }
    }

    @Override
    public void close() {
        params.close();
    }
}
