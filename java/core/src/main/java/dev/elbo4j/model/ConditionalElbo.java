package dev.elbo4j.model;

import dev.elbo4j.nn.Workspace;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.nn.ConditionalMlp;
import dev.elbo4j.nn.ConditionalNetwork;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * The conditional ELBO shared by {@link Cvae} and {@link M2}: an encoder q(z|x,y) =
 * N(mu, diag exp(lv)) and a decoder p(x|z,y), both {@link ConditionalMlp}s (parameters
 * {@code encoder.*}, {@code decoder.*}), the prior N(0, I). For input x and one-hot y it computes,
 * per row, the reconstruction term -log p(x|z,y) (z = mu + exp(lv/2) eps) and KL(q(z|x,y) || p(z)).
 */
final class ConditionalElbo {
    private final int inputDim, classes, latent;
    private final Likelihood likelihood;
    private final ConditionalNetwork encoder, decoder;

    ConditionalElbo(int inputDim, int classes, int[] encoderHidden, int latent, int[] decoderHidden, Activation act,
                    Likelihood likelihood) {
        this(inputDim, classes, encoderHidden, latent, decoderHidden, act, likelihood, null);
    }

    /** With conv layers before the encoder's and after the decoder's dense layers ({@code conv} null: none). */
    ConditionalElbo(int inputDim, int classes, int[] encoderHidden, int latent, int[] decoderHidden, Activation act,
                    Likelihood likelihood, ConvLayout conv) {
        this.inputDim = inputDim;
        this.classes = classes;
        this.latent = latent;
        this.likelihood = likelihood;
        this.encoder = encoderNetwork(inputDim, classes, encoderHidden, latent, act, conv);
        this.decoder = decoderNetwork(inputDim, classes, latent, decoderHidden, act, conv);
    }

    /** q(z|x,y): x and the one-hot y to [mu, log sigma^2], 2 * latent values. */
    static ConditionalNetwork encoderNetwork(int inputDim, int classes, int[] hidden, int latent, Activation act, ConvLayout conv) {
        return ConvLayout.conditionalEncoder(conv, "encoder", inputDim, classes, hidden, 2 * latent, act, Activation.IDENTITY);
    }

    /** p(x|z,y): z and the one-hot y to the likelihood's logits or means. */
    static ConditionalNetwork decoderNetwork(int inputDim, int classes, int latent, int[] hidden, Activation act, ConvLayout conv) {
        return ConvLayout.conditionalDecoder(conv, "decoder", latent, classes, hidden, inputDim, act, Activation.IDENTITY);
    }

    /** Declares the encoder's, the decoder's and (learned-variance Gaussian) {@link Vae#LOGVAR}'s parameters. */
    void declare(Parameters.Builder pb) {
        encoder.declare(pb);
        decoder.declare(pb);
        if (likelihood.learnsVariance()) {
            pb.add(Vae.LOGVAR, dev.elbo4j.tensor.Shape.of(inputDim), Parameters.Init.constant(0));
        }
    }

    /** A host array n x C of one-hot rows: row i has class {@code label}, or i mod C when label < 0. */
    float[] oneHot(int n, int label) {
        if (label >= classes) throw new IllegalArgumentException("label must be in 0.." + (classes - 1) + ", got " + label);
        float[] y = new float[n * classes];
        for (int i = 0; i < n; i++) y[i * classes + (label >= 0 ? label : i % classes)] = 1;
        return y;
    }

    /** The posterior means mu(x, y), N x Z, as a host array. */
    float[] encodeMean(Parameters p, DType dtype, Tensor x, Tensor y) {
        Backend be = p.backend();
        int n = x.rows();
        double[] stats;
        try (Workspace ws = encoder.workspace(be, dtype, n, false)) {
            stats = be.download(encoder.forward(p, ws, x, y));
        }
        float[] mu = new float[n * latent];
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < latent; k++) mu[r * latent + k] = (float) stats[r * 2 * latent + k];
        }
        return mu;
    }

    /** The likelihood's means of p(x|z,y) (sigmoid of logits, or Gaussian means), N x D, as a host array. */
    float[] decodeMean(Parameters p, DType dtype, Tensor z, Tensor y) {
        Backend be = p.backend();
        int n = z.rows();
        try (Workspace ws = decoder.workspace(be, dtype, n, false);
             Tensor mean = be.alloc(dtype, n, inputDim)) {
            be.likelihoodMean(likelihood, decoder.forward(p, ws, z, y), mean);
            double[] d = be.download(mean);
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
    }

    /** Reconstructions of x under labels y: decoded at z = mu(x, y). */
    float[] reconstruct(Parameters p, DType dtype, Tensor x, Tensor y) {
        float[] mu = encodeMean(p, dtype, x, y);
        Backend be = p.backend();
        try (Tensor z = be.alloc(dtype, x.rows(), latent)) {
            be.write(z, mu);
            return decodeMean(p, dtype, z, y);
        }
    }

    /** {@code n} samples: z from the prior (noise of {@code key}), labels {@link #oneHot}(n, label), decoded to means. */
    float[] sample(Parameters p, DType dtype, int n, RngKey key, int label) {
        if (n < 1) throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        Backend be = p.backend();
        try (Tensor z = be.alloc(dtype, n, latent); Tensor y = be.alloc(dtype, n, classes)) {
            be.write(y, oneHot(n, label));
            be.normal(key, z);
            return decodeMean(p, dtype, z, y);
        }
    }

    Pass pass(Parameters p, DType dtype, int maxRows, int samples, boolean training) {
        return new Pass(p, dtype, maxRows, samples, training, false);
    }

    /** An evaluation pass that also computes the log ratios log p(z) - log q(z|x,y) ({@link Pass#logRatio}). */
    Pass scoringPass(Parameters p, DType dtype, int maxRows, int samples) {
        return new Pass(p, dtype, maxRows, samples, false, true);
    }

    /**
     * Buffers for the conditional ELBO of up to {@code maxRows} (input, label) rows with
     * {@code samples} draws of z each. A run takes x (Rx x D) and labels y (R x C, R = k Rx: row
     * j Rx + r pairs input r with label row j Rx + r), so one input is evaluated under k labels
     * without repeating it.
     */
    final class Pass implements AutoCloseable {
        private final Parameters p;
        private final Backend be;
        private final int maxRows, samples;
        private final boolean training;
        private final Workspace enc, dec;
        private final Tensor eps, z, dz, rowLoss, kl, logRatio, yRep;
        private Tensor x, y;
        private int rows;

        private Pass(Parameters p, DType dtype, int maxRows, int samples, boolean training, boolean logRatios) {
            if (maxRows < 1 || samples < 1) throw new IllegalArgumentException("rows and samples must be >= 1");
            this.p = p;
            this.be = p.backend();
            this.maxRows = maxRows;
            this.samples = samples;
            this.training = training;
            int zr = maxRows * samples;
            enc = encoder.workspace(be, dtype, maxRows, training);
            dec = decoder.workspace(be, dtype, zr, training);
            eps = be.alloc(dtype, zr, latent);
            z = be.alloc(dtype, zr, latent);
            dz = training ? be.alloc(dtype, zr, latent) : null;
            rowLoss = be.alloc(dtype, zr);
            kl = be.alloc(dtype, maxRows);
            logRatio = logRatios ? be.alloc(dtype, zr) : null;
            yRep = samples > 1 ? be.alloc(dtype, zr, classes) : null;
        }

        /**
         * The forward pass on x and y with the noise of {@code key}: stats = encoder(x, y); z row
         * l R + s = sample l of row s; rowLoss[l R + s] = -log p(x_{s mod Rx} | z, y_s); kl[s]. In a
         * training pass also dOut = gradScale d rowLoss / d out (and dLogVar) for {@link #backward}.
         */
        void forward(Tensor x, Tensor y, RngKey key, double gradScale) {
            int r = y.rows();
            if (r < 1 || r > maxRows || x.cols() != inputDim || y.cols() != classes || x.rows() < 1 || r % x.rows() != 0) {
                throw new IllegalArgumentException("conditional pass: x " + x.shape() + " and y " + y.shape() + " need x of Rx x "
                        + inputDim + " and y of R x " + classes + ", R a multiple of Rx and at most " + maxRows);
            }
            this.x = x;
            this.y = y;
            this.rows = r;
            int zr = r * samples;
            Tensor stats = encoder.forward(p, enc, x, y);
            Tensor zz = z.rowSlice(0, zr);
            be.latentForward(stats, key, eps.rowSlice(0, zr), zz, kl.view(0, r), logRatio == null ? null : logRatio.view(0, zr));
            Tensor yd = y;
            if (samples > 1) {
                yd = yRep.rowSlice(0, zr);
                for (int l = 0; l < samples; l++) be.copy(y, yd.rowSlice(l * r, r));
            }
            Tensor out = decoder.forward(p, dec, zz, yd);
            boolean learned = likelihood.learnsVariance();
            be.likelihood(likelihood, out, x, learned ? p.value(Vae.LOGVAR) : null, gradScale, rowLoss.view(0, zr),
                    training ? dec.outputGrad(zr) : null, training && learned ? p.grad(Vae.LOGVAR) : null);
        }

        /**
         * Writes every encoder and decoder parameter gradient of sum_r a_r (gradScale rowLoss_r + klScale kl_r)
         * (the gradient scale was given to {@link #forward}), klScale = klWeight / klRows (in double),
         * with a_r = 1, or a_r = rowWeights[r] (one sample only; the learned Gaussian variance then
         * gets the unweighted gradient, so callers with weights use another likelihood).
         */
        void backward(Tensor rowWeights, double klWeight, int klRows) {
            if (!training) throw new IllegalStateException("an evaluation pass has no backward");
            int zr = rows * samples;
            Tensor dOut = dec.outputGrad(zr);
            if (rowWeights != null) {
                if (samples != 1) throw new IllegalArgumentException("per-row weights need one sample per row");
                be.scaleRows(dOut, rowWeights, 1);
            }
            Tensor zz = z.rowSlice(0, zr), dzz = dz.rowSlice(0, zr), ee = eps.rowSlice(0, zr);
            decoder.backward(p, dec, zz, samples > 1 ? yRep.rowSlice(0, zr) : y, dzz);
            Tensor stats = enc.output(rows), dStats = enc.outputGrad(rows);
            if (rowWeights == null) {
                be.latentBackward(stats, ee, dzz, klWeight / klRows, dStats);
            } else {
                be.latentBackwardRows(stats, ee, dzz, rowWeights, klWeight, klRows, dStats);
            }
            encoder.backward(p, enc, x, y, null);
        }

        /** -log p(x|z,y) of the last run's rows (row l R + s). */
        Tensor rowLoss() {
            return rowLoss.view(0, rows * samples);
        }

        /** KL(q(z|x,y) || p(z)) of the last run's R rows. */
        Tensor kl() {
            return kl.view(0, rows);
        }

        /** log p(z) - log q(z|x,y) of the last run's rows (row l R + s); passes from {@link #scoringPass} only. */
        Tensor logRatio() {
            if (logRatio == null) throw new IllegalStateException("log ratios exist in scoring passes only");
            return logRatio.view(0, rows * samples);
        }

        int samples() {
            return samples;
        }

        @Override
        public void close() {
            enc.close();
            dec.close();
            for (Tensor t : new Tensor[]{eps, z, dz, rowLoss, kl, logRatio, yRep}) if (t != null) t.close();
        }
    }
}
