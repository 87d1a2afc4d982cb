package dev.elbo4j.model;

import dev.elbo4j.nn.Workspace;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.nn.TiedMlp;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A deterministic autoencoder (plain, denoising, sparse, tied; any combination): code
 * h = enc(x~), reconstruction out = dec(h), with x~ the corrupted input in training
 * ({@link Backend#corrupt}, noise of stream {@link Streams#CORRUPT} at the trainer's step) and x
 * itself otherwise.
 *
 * <p>The training loss of a batch of B inputs is
 * {@code (1/B) sum_b rec(x_b, dec(enc(x~_b))) + W sum_j KL(rho || rho_hat_j)}, rho_hat_j the batch
 * mean of code unit j (sigmoid activations when W > 0), where rec is the Bernoulli cross-entropy
 * with logits, {@code sum_d softplus(l_d) - x_d l_d}, or the squared error {@code sum_d (x_d - out_d)^2}.
 * The squared error reuses the fixed-Gaussian likelihood with sigma^2 = 1/2, whose negative
 * log-likelihood is {@code sum_d (x_d - out_d)^2 + (D/2) log(2 pi sigma^2)}; the constant
 * (D/2)(log 2 pi + log sigma^2) is subtracted from every reported loss (the gradient does not see it).
 *
 * <p>Parameters: {@code encoder.i.weight|bias}; untied, {@code decoder.i.weight|bias}; tied,
 * {@code decoder.i.bias} only, decoder layer i using {@code encoder.(n-1-i).weight} transposed, its
 * gradient the sum of both uses.
 */
public final class Autoencoder extends ModelBase<AutoencoderConfig> implements Reconstructing {
    private static final int EVAL_BATCH = 500;

    private final Network encoder;
    private final Network decoder;
    private final TiedMlp tiedDecoder;
    private final Likelihood likelihood;

    private Autoencoder(Backend backend, AutoencoderConfig cfg, DType dtype, long seed) {
        super(backend, cfg, dtype, seed);
        this.encoder = encoderNetwork(cfg);
        this.decoder = cfg.tied() ? null : decoderNetwork(cfg);
        this.tiedDecoder = cfg.tied() ? tiedDecoderNetwork(cfg) : null;
        this.likelihood = likelihood(cfg);
    }

    /** The encoder {@code cfg} describes (x to the code, its last layer with {@link AutoencoderConfig#codeActivation}), without parameters. */
    public static Network encoderNetwork(AutoencoderConfig cfg) {
        return ConvLayout.encoder(cfg.conv(), "encoder", cfg.inputDim(), cfg.hidden(), cfg.latent(), cfg.activation(),
                cfg.codeActivation());
    }

    /** The untied decoder {@code cfg} describes (code to logits or values), without parameters. */
    public static Network decoderNetwork(AutoencoderConfig cfg) {
        int[] h = cfg.hidden(), mirrored = new int[h.length];
        for (int i = 0; i < h.length; i++) mirrored[i] = h[h.length - 1 - i];
        return ConvLayout.decoder(cfg.conv(), "decoder", cfg.latent(), mirrored, cfg.inputDim(), cfg.activation(),
                dev.elbo4j.backend.Activation.IDENTITY);
    }

    /** The tied decoder {@code cfg} describes (its biases; the weights are the encoder's, transposed), without parameters. */
    public static TiedMlp tiedDecoderNetwork(AutoencoderConfig cfg) {
        return new TiedMlp("decoder", "encoder", cfg.encoderSizes(), cfg.activation(), dev.elbo4j.backend.Activation.IDENTITY);
    }

    /**
     * The likelihood whose negative log is the reconstruction loss: Bernoulli with logits, or for
     * the squared error the Gaussian with sigma^2 = 1/2 (see {@link #lossOffset}).
     */
    static Likelihood likelihood(AutoencoderConfig cfg) {
        return cfg.reconstruction() == AutoencoderConfig.Reconstruction.MSE ? Likelihood.gaussian(Math.sqrt(0.5)) : Likelihood.bernoulli();
    }

    /**
     * What the likelihood's row loss exceeds the reconstruction loss by: (D/2)(log 2 pi + log sigma^2)
     * = (D/2) log pi for the squared error, 0 for Bernoulli.
     */
    public double lossOffset() {
        if (cfg.reconstruction() != AutoencoderConfig.Reconstruction.MSE) return 0;
        return 0.5 * cfg.inputDim() * (Math.log(2 * Math.PI) + likelihood.fixedLogVar());
    }

    /** The parameters of {@code cfg} by name, shape and initialisation, in checkpoint order: encoder, then decoder. */
    public static Parameters.Builder parameterLayout(AutoencoderConfig cfg) {
        Parameters.Builder pb = new Parameters.Builder();
        encoderNetwork(cfg).declare(pb);
        if (cfg.tied()) {
            tiedDecoderNetwork(cfg).declare(pb);
        } else {
            decoderNetwork(cfg).declare(pb);
        }
        return pb;
    }

    /** A freshly initialised model in F32, parameters drawn from {@code seed}. */
    public static Autoencoder create(Backend backend, AutoencoderConfig cfg, long seed) {
        return create(backend, cfg, DType.F32, seed);
    }

    /** A freshly initialised model in F32 or F64 (F64 for gradient checks on the CPU), parameters drawn from {@code seed}. */
    public static Autoencoder create(Backend backend, AutoencoderConfig cfg, DType dtype, long seed) {
        return new Autoencoder(backend, cfg, dtype, seed);
    }

    /** A training pass (corruption, penalty, gradients) for batches of up to {@code maxBatch}. */
    @Override
    public Pass trainStep(int maxBatch) {
        return new Pass(maxBatch, true);
    }

    /** Buffers for batches of up to {@code maxBatch}; a training pass corrupts, penalises and backpropagates. */
    public Pass pass(int maxBatch, boolean training) {
        return new Pass(maxBatch, training);
    }

    /**
     * Minus the mean clean reconstruction loss over {@code data} (no corruption, no penalty), inputs
     * binarised as the Evaluator does: not at all for {@link Binarization#NONE}, else one fixed draw
     * from {@code seed} (stream {@link Streams#EVAL_BINARIZE}).
     */
    @Override
    public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
        if (data.dim() != cfg.inputDim()) {
            throw new IllegalArgumentException("data has " + data.dim() + " pixels per example, the model expects " + cfg.inputDim());
        }
        int n = data.size();
        if (n == 0) throw new IllegalArgumentException("no test examples");
        Binarization mode = trainBinarization == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        RngKey key = new RngKey(seed, Streams.EVAL_BINARIZE, 0);
        int batch = Math.min(n, EVAL_BATCH);
        double total = 0;
        try (Pass pass = new Pass(batch, false); Tensor x = backend.alloc(dtype, batch, cfg.inputDim())) {
            for (int from = 0; from < n; from += batch) {
                int b = Math.min(batch, n - from);
                Tensor xb = x.rowSlice(0, b);
                data.gather(from, mode, key, xb);
                pass.run(xb, key);
                total += pass.meanLoss() * b;
            }
        }
        return -total / n;
    }

    /** The codes enc(x) of clean inputs x (N x D), a host array N x Z. */
    public float[] encode(Tensor x) {
        checkBatch("x", x, cfg.inputDim(), "values");
        try (Workspace ws = encoder.workspace(backend, dtype, x.rows(), false)) {
            return floats(backend.download(encoder.forward(params, ws, x)));
        }
    }

    /** {@link #encode(Tensor)} of host inputs: N examples of D values each, row-major, on the training data's scale; returns N x Z. */
    public float[] encode(float[] x) {
        try (Tensor xt = HostArrays.uploadInputs(this, "x", x)) {
            return encode(xt);
        }
    }

    /** Reconstructions of clean inputs x (N x D): sigmoid of the logits (Bernoulli) or the outputs (MSE), N x D. */
    @Override
    public float[] reconstruct(Tensor x, Tensor y) {
        checkBatch("x", x, cfg.inputDim(), "values");
        int n = x.rows();
        try (Workspace ws = encoder.workspace(backend, dtype, n, false);
             Tensor mean = backend.alloc(dtype, n, cfg.inputDim())) {
            Tensor code = encoder.forward(params, ws, x);
            Tensor out;
            if (cfg.tied()) {
                try (Workspace dw = tiedDecoder.workspace(backend, dtype, n, false)) {
                    out = tiedDecoder.forward(params, dw, code);
                    backend.likelihoodMean(likelihood, out, mean);
                }
            } else {
                try (Workspace dw = decoder.workspace(backend, dtype, n, false)) {
                    out = decoder.forward(params, dw, code);
                    backend.likelihoodMean(likelihood, out, mean);
                }
            }
            return floats(backend.download(mean));
        }
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /**
     * One evaluation of the autoencoder on a batch, with every buffer allocated once for up to
     * maxBatch rows (a smaller batch uses the leading rows). A training pass corrupts the input,
     * adds the sparsity penalty and writes every parameter's gradient of the mean training loss;
     * an evaluation pass computes the clean reconstruction loss only.
     */
    public final class Pass implements TrainStep {
        private final int maxBatch;
        private final boolean training;
        private final Workspace enc, dec;
        private final Workspace tdec;
        private final Tensor corrupted, rowLoss, rhoHat, kl, offset;
        private int batch;

        private Pass(int maxBatch, boolean training) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            this.maxBatch = maxBatch;
            this.training = training;
            enc = encoder.workspace(backend, dtype, maxBatch, training);
            dec = cfg.tied() ? null : decoder.workspace(backend, dtype, maxBatch, training);
            tdec = cfg.tied() ? tiedDecoder.workspace(backend, dtype, maxBatch, training) : null;
            corrupted = training && cfg.corruption() != Corruption.NONE ? backend.alloc(dtype, maxBatch, cfg.inputDim()) : null;
            rowLoss = backend.alloc(dtype, maxBatch);
            boolean penalty = training && cfg.sparse();
            rhoHat = penalty ? backend.alloc(dtype, cfg.latent()) : null;
            kl = penalty ? backend.alloc(dtype, cfg.latent()) : null;
            offset = backend.alloc(DType.F64, 1);
            backend.fill(offset, -lossOffset());
        }

        /** {@link #run(Tensor, RngKey)} on the batch's inputs (labels are not used). */
        @Override
        public void run(Batch batch, RngKey key) {
            run(batch.x(), key);
        }

        /**
         * Evaluates the model on clean inputs x (B x D, B &lt;= maxBatch). In a training pass the
         * corruption noise is element r*D + d of {@code RngKey(key.seed(), CORRUPT, key.step())} and
         * every parameter gradient is overwritten with that of the batch's mean training loss.
         */
        public void run(Tensor x, RngKey key) {
            int b = x.rows();
            if (b < 1 || b > maxBatch || x.cols() != cfg.inputDim()) {
                throw new IllegalArgumentException("input " + x.shape() + " does not fit a pass of up to " + maxBatch
                        + " rows of " + cfg.inputDim());
            }
            this.batch = b;
            Tensor in = x;
            if (corrupted != null) {
                in = corrupted.rowSlice(0, b);
                backend.corrupt(cfg.corruption(), cfg.corruptionLevel(), new RngKey(key.seed(), Streams.CORRUPT, key.step()), x, in);
            }
            Tensor code = encoder.forward(params, enc, in);
            if (rhoHat != null) backend.sparsityForward(code, cfg.sparsity(), rhoHat, kl);
            Tensor out = cfg.tied() ? tiedDecoder.forward(params, tdec, code) : decoder.forward(params, dec, code);
            Tensor dOut = !training ? null : cfg.tied() ? tdec.outputGrad(b) : dec.outputGrad(b);
            backend.likelihood(likelihood, out, x, null, 1.0 / b, rowLoss.view(0, b), dOut, null);
            if (!training) return;
            Tensor dCode = enc.outputGrad(b);
            if (cfg.tied()) {
                tiedDecoder.backward(params, tdec, code, dCode);
            } else {
                decoder.backward(params, dec, code, dCode);
            }
            if (rhoHat != null) backend.sparsityBackward(rhoHat, cfg.sparsity(), cfg.sparsityWeight() / b, dCode);
            encoder.backward(params, enc, in, null);
            if (cfg.tied()) tiedDecoder.accumulateWeightGrads(params, tdec, code);
        }

        /**
         * The likelihood's -log p(x | out) of each row of the last batch: the reconstruction loss
         * plus {@link #lossOffset()} (0 for Bernoulli).
         */
        public Tensor rowLoss() {
            return rowLoss.view(0, batch);
        }

        /** KL(rho || rho_hat_j) of each code unit in the last training batch (sparse training passes only). */
        public Tensor sparsityKl() {
            if (kl == null) throw new IllegalStateException("the sparsity penalty exists in sparse training passes only");
            return kl;
        }

        /** The mean code activation of each unit in the last training batch (sparse training passes only). */
        public Tensor rhoHat() {
            if (rhoHat == null) throw new IllegalStateException("the sparsity penalty exists in sparse training passes only");
            return rhoHat;
        }

        /** The code of the last batch (B x Z), computed from the corrupted input in training. */
        public Tensor code() {
            return enc.output(batch);
        }

        /** The decoder's raw output (logits or values) for the last batch. */
        public Tensor decoderOutput() {
            return cfg.tied() ? tdec.output(batch) : dec.output(batch);
        }

        @Override
        public Map<String, Tensor> lossTerms() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("loss (reconstruction term)", rowLoss());
            if (kl != null) m.put("loss (sparsity penalty, KL per code unit)", kl);
            return m;
        }

        /** Adds the last batch's summed loss, sum_b rec_b + B W sum_j KL_j, into acc. */
        @Override
        public void accumulateLoss(Tensor acc) {
            backend.accumulate(rowLoss(), 1, acc);
            if (lossOffset() != 0) backend.accumulate(offset, batch, acc);
            if (kl != null) backend.accumulate(kl, batch * cfg.sparsityWeight(), acc);
        }

        /**
         * What {@link #accumulateLoss} sums, in its order: the rows' loss, the likelihood's
         * constant (a one-element F64, where it is not 0), the sparsity penalty (sparse training).
         */
        @Override
        public Tensor[] accumulatedTerms() {
            java.util.List<Tensor> t = new java.util.ArrayList<>(3);
            t.add(rowLoss());
            if (lossOffset() != 0) t.add(offset);
            if (kl != null) t.add(kl);
            return t.toArray(new Tensor[0]);
        }

        /** The scales {@link #accumulateLoss} applies to {@link #accumulatedTerms()}. */
        @Override
        public double[] accumulatedScales() {
            double[] s = new double[1 + (lossOffset() != 0 ? 1 : 0) + (kl != null ? 1 : 0)];
            int i = 0;
            s[i++] = 1;
            if (lossOffset() != 0) s[i++] = batch;
            if (kl != null) s[i] = batch * cfg.sparsityWeight();
            return s;
        }

        /** The last batch's mean loss per example: (1/B) sum_b rec_b (+ W sum_j KL_j in sparse training). */
        @Override
        public double meanLoss() {
            double m = backend.sum(rowLoss()) / batch - lossOffset();
            if (kl != null) m += cfg.sparsityWeight() * backend.sum(kl);
            return m;
        }

        @Override
        public void close() {
            enc.close();
            if (dec != null) dec.close();
            if (tdec != null) tdec.close();
            for (Tensor t : new Tensor[]{corrupted, rowLoss, rhoHat, kl, offset}) if (t != null) t.close();
        }
    }

    @Override
    public void close() {
        params.close();
    }
}
