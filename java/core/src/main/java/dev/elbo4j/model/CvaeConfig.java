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
 * The architecture and objective of a {@link Cvae}: the {@link VaeConfig} options plus the number
 * of classes C of the one-hot label that joins the first layer of the encoder and of the decoder.
 * Defaults: 784-400-(20, 20) / 20-400-784 with C = 10, ReLU, Bernoulli, one sample, beta 1.
 *
 * @param inputDim      D, pixels per example
 * @param classes       C, classes of the label y
 * @param encoderHidden hidden sizes of q(z|x,y), input side first
 * @param latent        Z
 * @param decoderHidden hidden sizes of p(x|z,y), latent side first
 * @param activation    activation of every hidden layer
 * @param likelihood    p(x|z,y)
 * @param samples       L, samples of z per input in training
 * @param beta          weight of the KL term in the training loss (1: the ELBO)
 * @param conv          conv encoder and/or transposed-conv decoder layers, or null (fully connected); the
 *                      label joins the first dense layer after the conv stack (docs/CONV.md)
 */
public record CvaeConfig(int inputDim, int classes, int[] encoderHidden, int latent, int[] decoderHidden, Activation activation,
                         Likelihood likelihood, int samples, double beta, ConvLayout conv) implements ModelConfig {

    /** A fully connected CVAE. */
    public CvaeConfig(int inputDim, int classes, int[] encoderHidden, int latent, int[] decoderHidden, Activation activation,
                      Likelihood likelihood, int samples, double beta) {
        this(inputDim, classes, encoderHidden, latent, decoderHidden, activation, likelihood, samples, beta, null);
    }

    /**
     * Copies the hidden sizes and checks the settings: positive sizes, at least 2 classes, at least one sample,
     * a finite {@code beta >= 0}, and a conv layout that fits {@code inputDim}.
     *
     * @throws IllegalArgumentException naming the setting that does not hold
     */
    public CvaeConfig {
        encoderHidden = encoderHidden.clone();
        decoderHidden = decoderHidden.clone();
        if (inputDim <= 0) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (classes < 2) throw new IllegalArgumentException("a conditional model needs at least 2 classes, got " + classes);
        if (latent <= 0) throw new IllegalArgumentException("latent dimension must be positive, got " + latent);
        if (activation == null) throw new IllegalArgumentException("activation must not be null (e.g. Activation.RELU)");
        if (likelihood == null) throw new IllegalArgumentException("likelihood must not be null (e.g. Likelihood.bernoulli())");
        for (int h : encoderHidden) if (h <= 0) throw new IllegalArgumentException("encoder hidden sizes must be positive: " + Arrays.toString(encoderHidden));
        for (int h : decoderHidden) if (h <= 0) throw new IllegalArgumentException("decoder hidden sizes must be positive: " + Arrays.toString(decoderHidden));
        if (samples < 1) throw new IllegalArgumentException("samples per input must be >= 1, got " + samples);
        if (!(beta >= 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("beta must be >= 0, got " + beta);
        if (conv != null) conv.checkInputDim(inputDim);
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

    @Override
    public boolean hasKlTerm() {
        return true;
    }

    @Override
    public String type() {
        return "cvae";
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

    /** Every example comes with its label. */
    @Override
    public LabelUse labelUse() {
        return LabelUse.ALL;
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Cvae.parameterLayout(this);
    }

    @Override
    public Cvae create(Backend backend, DType dtype, long seed) {
        return Cvae.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("classes", classes);
        m.put("encoder_hidden", encoderHidden);
        m.put("latent", latent);
        m.put("decoder_hidden", decoderHidden);
        ConfigJson.putActivation(m, activation);
        ConfigJson.putLikelihood(m, likelihood);
        m.put("samples", samples);
        m.put("beta", beta);
        if (conv != null) conv.putJson(m);
        return m;
    }

    /** The inverse of {@link #toJson}. */
    public static CvaeConfig fromJson(Map<String, Object> m) {
        return new CvaeConfig(JsonFields.integer(m, "input_dim"), JsonFields.integer(m, "classes"),
                JsonFields.ints(m, "encoder_hidden"), JsonFields.integer(m, "latent"), JsonFields.ints(m, "decoder_hidden"),
                ConfigJson.activation(m), ConfigJson.likelihood(m),
                JsonFields.integer(m, "samples"), JsonFields.number(m, "beta"), ConvLayout.fromJson(m));
    }

    /** This CVAE with conv layers (null: fully connected). */
    public CvaeConfig withConv(ConvLayout layout) {
        return new CvaeConfig(inputDim, classes, encoderHidden, latent, decoderHidden, activation, likelihood, samples, beta, layout);
    }

    /**
     * The defaults with the given input dimension and classes: encoder D-400-(20, 20) and decoder 20-400-D
     * (label joined to the first layer of each), ReLU, Bernoulli likelihood, one sample, beta 1.
     */
    public static CvaeConfig defaults(int inputDim, int classes) {
        return new CvaeConfig(inputDim, classes, new int[]{400}, 20, new int[]{400}, Activation.RELU, Likelihood.bernoulli(), 1, 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CvaeConfig c && inputDim == c.inputDim && classes == c.classes
                && Arrays.equals(encoderHidden, c.encoderHidden) && latent == c.latent
                && Arrays.equals(decoderHidden, c.decoderHidden) && activation == c.activation
                && likelihood.equals(c.likelihood) && samples == c.samples && Double.compare(beta, c.beta) == 0
                && java.util.Objects.equals(conv, c.conv);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[]{inputDim, classes, Arrays.hashCode(encoderHidden), latent, Arrays.hashCode(decoderHidden),
                activation, likelihood, samples, beta, conv});
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "CVAE %d(+y:%d)-%s(%d,%d) / %d(+y)-%s%d, %s, %s%s, L=%d, beta=%s", inputDim, classes,
                join(encoderHidden), latent, latent, latent, join(decoderHidden), inputDim,
                activation.name().toLowerCase(Locale.ROOT), likelihood.id(),
                likelihood.kind() == Likelihood.Kind.GAUSSIAN_FIXED ? "(sigma=" + likelihood.sigma() + ")" : "", samples, beta)
                + (conv != null ? ", " + conv : "");
    }

    static String join(int[] h) {
        StringBuilder b = new StringBuilder();
        for (int v : h) b.append(v).append('-');
        return b.toString();
    }
}
