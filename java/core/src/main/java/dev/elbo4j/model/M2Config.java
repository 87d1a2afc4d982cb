package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The architecture and objective of the semi-supervised {@link M2}: a classifier q(y|x)
 * (D - classifierHidden... - C, softmax), an encoder q(z|x,y), a decoder p(x|y,z), and the weight
 * alpha of the labelled cross-entropy. See {@link M2} for the loss.
 *
 * @param inputDim         D, pixels per example
 * @param classes          C, classes of y
 * @param classifierHidden hidden sizes of the classifier q(y|x)
 * @param encoderHidden    hidden sizes of q(z|x,y)
 * @param latent           Z
 * @param decoderHidden    hidden sizes of p(x|y,z)
 * @param activation       activation of every hidden layer (all three networks)
 * @param likelihood       p(x|y,z): Bernoulli or a fixed-variance Gaussian (a learned variance is
 *                         not supported: its gradient would ignore the per-class weights q(y|x))
 * @param alpha            weight of the labelled examples' cross-entropy -log q(y|x)
 * @param beta             weight of KL(q(z|x,y) || p(z)) in training (1: the bound); the test figure always uses 1
 * @param conv             conv layers before the dense layers of the classifier and of the encoder (each with
 *                         its own weights; the label joins the encoder's first dense layer) and/or
 *                         transposed-conv layers after the decoder's, or null (fully connected; docs/CONV.md)
 */
public record M2Config(int inputDim, int classes, int[] classifierHidden, int[] encoderHidden, int latent, int[] decoderHidden,
                       Activation activation, Likelihood likelihood, double alpha, double beta, ConvLayout conv) implements ModelConfig {
    /** Default alpha; see {@link M2}. */
    public static final double DEFAULT_ALPHA = 50;
    /** Default beta, the training weight of the KL term on z; see {@link M2}. */
    public static final double DEFAULT_BETA = 3;

    /** A fully connected M2. */
    public M2Config(int inputDim, int classes, int[] classifierHidden, int[] encoderHidden, int latent, int[] decoderHidden,
                    Activation activation, Likelihood likelihood, double alpha, double beta) {
        this(inputDim, classes, classifierHidden, encoderHidden, latent, decoderHidden, activation, likelihood, alpha, beta, null);
    }

    /**
     * Copies the hidden sizes and checks the settings: positive sizes, at least 2 classes, a likelihood with a
     * fixed variance, finite {@code alpha >= 0} and {@code beta >= 0}, and a conv layout that fits
     * {@code inputDim}.
     *
     * @throws IllegalArgumentException naming the setting that does not hold
     */
    public M2Config {
        classifierHidden = classifierHidden.clone();
        encoderHidden = encoderHidden.clone();
        decoderHidden = decoderHidden.clone();
        if (inputDim <= 0) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (classes < 2) throw new IllegalArgumentException("a semi-supervised model needs at least 2 classes, got " + classes);
        if (activation == null) throw new IllegalArgumentException("activation must not be null (e.g. Activation.RELU)");
        if (likelihood == null) throw new IllegalArgumentException("likelihood must not be null (e.g. Likelihood.bernoulli())");
        if (latent <= 0) throw new IllegalArgumentException("latent dimension must be positive, got " + latent);
        for (int[] hs : new int[][]{classifierHidden, encoderHidden, decoderHidden}) {
            for (int h : hs) if (h <= 0) throw new IllegalArgumentException("hidden sizes must be positive: " + Arrays.toString(hs));
        }
        if (likelihood.learnsVariance()) {
            throw new IllegalArgumentException("the M2 model supports the bernoulli and gaussian likelihoods, not " + likelihood.id());
        }
        if (!(alpha >= 0) || Double.isInfinite(alpha)) throw new IllegalArgumentException("alpha must be >= 0, got " + alpha);
        if (!(beta >= 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("beta must be >= 0, got " + beta);
        if (conv != null) conv.checkInputDim(inputDim);
    }

    /** This M2 with conv layers (null: fully connected). */
    public M2Config withConv(ConvLayout layout) {
        return new M2Config(inputDim, classes, classifierHidden, encoderHidden, latent, decoderHidden, activation, likelihood, alpha,
                beta, layout);
    }

    /** A copy of the classifier's hidden sizes, input side first. */
    @Override
    public int[] classifierHidden() {
        return classifierHidden.clone();
    }

    /** A copy of the encoder's hidden sizes, input side first. */
    @Override
    public int[] encoderHidden() {
        return encoderHidden.clone();
    }

    /** A copy of the decoder's hidden sizes, latent side first. */
    @Override
    public int[] decoderHidden() {
        return decoderHidden.clone();
    }

    /** D, classifierHidden..., C: the classifier's dense sizes when it has no conv layers. */
    public int[] classifierSizes() {
        return ConfigJson.sizes(inputDim, classifierHidden, classes);
    }

    @Override
    public boolean hasKlTerm() {
        return true;
    }

    @Override
    public String type() {
        return "m2";
    }

    /**
     * Dynamic binarisation for the Bernoulli likelihood; none for a Gaussian one, which models
     * grey levels (binarised inputs would teach it black-and-white noise).
     */
    @Override
    public dev.elbo4j.backend.Binarization defaultBinarization() {
        return likelihood.kind() == dev.elbo4j.backend.Likelihood.Kind.BERNOULLI
                ? dev.elbo4j.backend.Binarization.DYNAMIC : dev.elbo4j.backend.Binarization.NONE;
    }

    /** Unlabelled batches plus a batch from a small labelled subset. */
    @Override
    public LabelUse labelUse() {
        return LabelUse.SOME;
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return M2.parameterLayout(this);
    }

    @Override
    public M2 create(Backend backend, DType dtype, long seed) {
        return M2.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("classes", classes);
        m.put("classifier_hidden", classifierHidden);
        m.put("encoder_hidden", encoderHidden);
        m.put("latent", latent);
        m.put("decoder_hidden", decoderHidden);
        ConfigJson.putActivation(m, activation);
        ConfigJson.putLikelihood(m, likelihood);
        m.put("alpha", alpha);
        m.put("beta", beta);
        if (conv != null) conv.putJson(m);
        return m;
    }

    /** The inverse of {@link #toJson}; a missing "beta" (files written before it existed) reads as 1. */
    public static M2Config fromJson(Map<String, Object> m) {
        return new M2Config(JsonFields.integer(m, "input_dim"), JsonFields.integer(m, "classes"),
                JsonFields.ints(m, "classifier_hidden"), JsonFields.ints(m, "encoder_hidden"), JsonFields.integer(m, "latent"),
                JsonFields.ints(m, "decoder_hidden"), ConfigJson.activation(m),
                ConfigJson.likelihood(m), JsonFields.number(m, "alpha"),
                JsonFields.has(m, "beta") ? JsonFields.number(m, "beta") : 1, ConvLayout.fromJson(m));
    }

    /**
     * The command line's defaults: hidden size 400 for all three networks, Z = 20, ReLU, Bernoulli,
     * alpha {@link #DEFAULT_ALPHA}, beta {@link #DEFAULT_BETA}.
     */
    public static M2Config defaults(int inputDim, int classes) {
        return new M2Config(inputDim, classes, new int[]{400}, new int[]{400}, 20, new int[]{400}, Activation.RELU,
                Likelihood.bernoulli(), DEFAULT_ALPHA, DEFAULT_BETA);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof M2Config c && inputDim == c.inputDim && classes == c.classes
                && Arrays.equals(classifierHidden, c.classifierHidden) && Arrays.equals(encoderHidden, c.encoderHidden)
                && latent == c.latent && Arrays.equals(decoderHidden, c.decoderHidden) && activation == c.activation
                && likelihood.equals(c.likelihood) && Double.compare(alpha, c.alpha) == 0
                && Double.compare(beta, c.beta) == 0 && java.util.Objects.equals(conv, c.conv);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[]{inputDim, classes, Arrays.hashCode(classifierHidden), Arrays.hashCode(encoderHidden),
                latent, Arrays.hashCode(decoderHidden), activation, likelihood, alpha, beta, conv});
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "M2 q(y|x) %d-%s%d, q(z|x,y) %d(+y)-%s(%d,%d), p(x|y,z) %d(+y)-%s%d, %s, %s%s, alpha=%s, beta=%s",
                inputDim, CvaeConfig.join(classifierHidden), classes, inputDim, CvaeConfig.join(encoderHidden), latent, latent,
                latent, CvaeConfig.join(decoderHidden), inputDim, activation.name().toLowerCase(Locale.ROOT), likelihood.id(),
                likelihood.kind() == Likelihood.Kind.GAUSSIAN_FIXED ? "(sigma=" + likelihood.sigma() + ")" : "", alpha, beta)
                + (conv != null ? ", " + conv : "");
    }
}
