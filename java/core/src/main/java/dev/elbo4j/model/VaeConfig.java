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
 * The architecture and objective of a {@link Vae}. Defaults are the PyTorch examples' model:
 * 784-400-(20, 20) / 20-400-784, ReLU, Bernoulli likelihood, one sample, beta 1.
 *
 * @param inputDim      D, pixels per example
 * @param encoderHidden hidden sizes of the encoder, input side first
 * @param latent        Z, the latent dimension
 * @param decoderHidden hidden sizes of the decoder, latent side first
 * @param activation    activation of every hidden layer
 * @param likelihood    p(x|z)
 * @param samples       L, Monte-Carlo samples of z per x in training
 * @param beta          weight of the KL term in the training loss (1: the ELBO)
 * @param objective     the training objective: the ELBO, or the IWAE bound with k = samples (which needs beta = 1)
 * @param flow          the posterior's normalizing flow: "none" (q(z|x) Gaussian) or "planar" ({@link PlanarPosterior})
 * @param flowSteps     K, planar steps after the Gaussian (0 exactly when flow is "none")
 * @param conv          conv encoder and/or transposed-conv decoder layers, or null (fully connected)
 */
public record VaeConfig(int inputDim, int[] encoderHidden, int latent, int[] decoderHidden, Activation activation,
                        Likelihood likelihood, int samples, double beta, VaeObjective objective,
                        String flow, int flowSteps, ConvLayout conv) implements ModelConfig {
    /** No flow: q(z|x) is the encoder's Gaussian. */
    public static final String FLOW_NONE = "none";
    /** K planar steps after the Gaussian ({@link PlanarPosterior}). */
    public static final String FLOW_PLANAR = "planar";

    /**
     * Copies the hidden sizes and checks the settings: positive sizes, at least one sample, a finite
     * {@code beta >= 0} (exactly 1 under IWAE), a non-null objective, a flow of "none" with 0 steps or "planar"
     * with at least 1 (not under IWAE), and a conv layout that fits {@code inputDim}.
     *
     * @throws IllegalArgumentException naming the setting that does not hold
     */
    public VaeConfig {
        encoderHidden = encoderHidden.clone();
        decoderHidden = decoderHidden.clone();
        if (inputDim <= 0) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (latent <= 0) throw new IllegalArgumentException("latent dimension must be positive, got " + latent);
        if (activation == null) throw new IllegalArgumentException("activation must not be null (e.g. Activation.RELU)");
        if (likelihood == null) throw new IllegalArgumentException("likelihood must not be null (e.g. Likelihood.bernoulli())");
        for (int h : encoderHidden) if (h <= 0) throw new IllegalArgumentException("encoder hidden sizes must be positive: " + Arrays.toString(encoderHidden));
        for (int h : decoderHidden) if (h <= 0) throw new IllegalArgumentException("decoder hidden sizes must be positive: " + Arrays.toString(decoderHidden));
        if (samples < 1) throw new IllegalArgumentException("samples per input must be >= 1, got " + samples);
        if (!(beta >= 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("beta must be >= 0, got " + beta);
        if (objective == null) throw new IllegalArgumentException("objective must be elbo or iwae, got null");
        if (objective == VaeObjective.IWAE && beta != 1) {
            throw new IllegalArgumentException("the iwae objective has no separate KL term to weight: beta must be 1, got " + beta);
        }
        if (FLOW_NONE.equals(flow)) {
            if (flowSteps != 0) throw new IllegalArgumentException("flow steps must be 0 without a flow, got " + flowSteps);
        } else if (FLOW_PLANAR.equals(flow)) {
            if (flowSteps < 1) throw new IllegalArgumentException("flow steps must be >= 1, got " + flowSteps);
            if (objective == VaeObjective.IWAE) {
                throw new IllegalArgumentException("the planar flow posterior is trained with the elbo objective; iwae with a flow is not supported");
            }
        } else {
            throw new IllegalArgumentException("flow must be none or planar, got '" + flow + "'");
        }
        if (conv != null) conv.checkInputDim(inputDim);
    }

    /** True when q(z|x) ends in a planar flow. */
    public boolean hasFlow() {
        return FLOW_PLANAR.equals(flow);
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

    /** in, hidden..., 2Z */
    public int[] encoderSizes() {
        return ConfigJson.sizes(inputDim, encoderHidden, 2 * latent);
    }

    /** Z, hidden..., D */
    public int[] decoderSizes() {
        return ConfigJson.sizes(latent, decoderHidden, inputDim);
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

    /** "IWAE bound" for the iwae objective (the train figure is -loss, a bound on log p(x)), else "ELBO". */
    @Override
    public String objectiveName() {
        return objective == VaeObjective.IWAE ? "IWAE bound" : "ELBO";
    }

    /** Refuses a KL warm-up with the iwae objective: the bound has no separate KL term to weight. */
    @Override
    public void checkTraining(dev.elbo4j.backend.Binarization binarization, double warmupEpochs) {
        if (warmupEpochs > 0 && objective == VaeObjective.IWAE) {
            throw new IllegalArgumentException("--warmup does not apply to --objective iwae (the bound has no separate KL term)");
        }
    }

    @Override
    public boolean hasKlTerm() {
        return true;
    }

    @Override
    public String type() {
        return "vae";
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Vae.parameterLayout(this);
    }

    @Override
    public Vae create(Backend backend, DType dtype, long seed) {
        return Vae.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("encoder_hidden", encoderHidden);
        m.put("latent", latent);
        m.put("decoder_hidden", decoderHidden);
        ConfigJson.putActivation(m, activation);
        ConfigJson.putLikelihood(m, likelihood);
        m.put("samples", samples);
        m.put("beta", beta);
        m.put("objective", objective.id());
        if (hasFlow()) {
            m.put("flow", flow);
            m.put("flow_steps", flowSteps);
        }
        if (conv != null) conv.putJson(m);
        return m;
    }

    /** The inverse of {@link #toJson}; a file without "objective" (written before it existed) reads as elbo. */
    public static VaeConfig fromJson(Map<String, Object> m) {
        return builder().inputDim(JsonFields.integer(m, "input_dim"))
                .encoderHidden(JsonFields.ints(m, "encoder_hidden")).latent(JsonFields.integer(m, "latent"))
                .decoderHidden(JsonFields.ints(m, "decoder_hidden"))
                .activation(ConfigJson.activation(m)).likelihood(ConfigJson.likelihood(m))
                .samples(JsonFields.integer(m, "samples")).beta(JsonFields.number(m, "beta"))
                .objective(JsonFields.has(m, "objective") ? VaeObjective.parse(JsonFields.string(m, "objective")) : VaeObjective.ELBO)
                .flow(m.containsKey("flow") ? JsonFields.string(m, "flow") : FLOW_NONE,
                        m.containsKey("flow_steps") ? JsonFields.integer(m, "flow_steps") : 0)
                .conv(ConvLayout.fromJson(m)).build();
    }

    /** A builder with the defaults above. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change some of them. */
    public Builder toBuilder() {
        return new Builder().inputDim(inputDim).encoderHidden(encoderHidden).latent(latent).decoderHidden(decoderHidden)
                .activation(activation).likelihood(likelihood).samples(samples).beta(beta).objective(objective).flow(flow, flowSteps).conv(conv);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VaeConfig c && inputDim == c.inputDim && Arrays.equals(encoderHidden, c.encoderHidden)
                && latent == c.latent && Arrays.equals(decoderHidden, c.decoderHidden) && activation == c.activation
                && likelihood.equals(c.likelihood) && samples == c.samples && Double.compare(beta, c.beta) == 0
                && objective == c.objective && flow.equals(c.flow) && flowSteps == c.flowSteps
                && java.util.Objects.equals(conv, c.conv);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[]{inputDim, Arrays.hashCode(encoderHidden), latent, Arrays.hashCode(decoderHidden),
                activation, likelihood, samples, beta, objective, flow, flowSteps, conv});
    }

    @Override
    public String toString() {
        return "VAE " + inputDim + "-" + join(encoderHidden) + "(" + latent + "," + latent + ") / " + latent + "-"
                + join(decoderHidden) + inputDim + ", " + activation.name().toLowerCase(java.util.Locale.ROOT) + ", "
                + likelihood.id() + (likelihood.kind() == Likelihood.Kind.GAUSSIAN_FIXED ? "(sigma=" + likelihood.sigma() + ")" : "")
                + ", L=" + samples + ", beta=" + beta + ", objective=" + objective.id() + (hasFlow() ? ", planar flow K=" + flowSteps : "")
                + (conv != null ? ", " + conv : "");
    }

    private static String join(int[] h) {
        StringBuilder b = new StringBuilder();
        for (int v : h) b.append(v).append('-');
        return b.toString();
    }

    /** Fluent construction with the reference model's defaults. */
    public static final class Builder {
        private int inputDim = 784;
        private int[] encoderHidden = {400};
        private int latent = 20;
        private int[] decoderHidden = {400};
        private Activation activation = Activation.RELU;
        private Likelihood likelihood = Likelihood.bernoulli();
        private int samples = 1;
        private double beta = 1;
        private VaeObjective objective = VaeObjective.ELBO;
        private String flow = FLOW_NONE;
        private int flowSteps = 0;
        private ConvLayout conv;

        /** A builder with the defaults; {@link VaeConfig#builder()} is the same. */
        public Builder() {
        }

        /** D, values per example (default 784, a 28x28 image). */
        public Builder inputDim(int d) {
            this.inputDim = d;
            return this;
        }

        /** Hidden sizes of the encoder, input side first (default 400). */
        public Builder encoderHidden(int... h) {
            this.encoderHidden = h.clone();
            return this;
        }

        /** Hidden sizes of the decoder, latent side first (default 400). */
        public Builder decoderHidden(int... h) {
            this.decoderHidden = h.clone();
            return this;
        }

        /** The same hidden sizes for the encoder and, mirrored, for the decoder. */
        public Builder hidden(int... h) {
            this.encoderHidden = h.clone();
            this.decoderHidden = new int[h.length];
            for (int i = 0; i < h.length; i++) decoderHidden[i] = h[h.length - 1 - i];
            return this;
        }

        /** Z, the latent dimension (default 20). */
        public Builder latent(int z) {
            this.latent = z;
            return this;
        }

        /** The activation of every hidden layer (default ReLU). */
        public Builder activation(Activation a) {
            this.activation = a;
            return this;
        }

        /** p(x|z) (default Bernoulli, for pixels in [0, 1]). */
        public Builder likelihood(Likelihood l) {
            this.likelihood = l;
            return this;
        }

        /** L, draws of z per example in training (default 1); k of the IWAE bound. */
        public Builder samples(int l) {
            this.samples = l;
            return this;
        }

        /** The KL term's weight in the training loss (default 1: the ELBO). */
        public Builder beta(double b) {
            this.beta = b;
            return this;
        }

        /** The training objective (default elbo); iwae uses k = {@link #samples} draws and needs beta = 1. */
        public Builder objective(VaeObjective o) {
            this.objective = o;
            return this;
        }

        /** The posterior's flow: "none" with 0 steps, or "planar" with K >= 1 steps. */
        public Builder flow(String flow, int steps) {
            this.flow = flow;
            this.flowSteps = steps;
            return this;
        }

        /** Conv encoder and/or decoder layers (null: fully connected); their image must have inputDim values. */
        public Builder conv(ConvLayout conv) {
            this.conv = conv;
            return this;
        }

        /** The config; its constructor's checks apply. */
        public VaeConfig build() {
            return new VaeConfig(inputDim, encoderHidden, latent, decoderHidden, activation, likelihood, samples, beta,
                    objective, flow, flowSteps, conv);
        }
    }
}
