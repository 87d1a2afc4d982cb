package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The architecture and loss of an {@link Autoencoder}: encoder D -> hidden... -> code, decoder
 * code -> mirrored hidden... -> D (logits for {@link Reconstruction#BERNOULLI}, values for
 * {@link Reconstruction#MSE}). Defaults: 784-400-20 / 20-400-784, ReLU, Bernoulli cross-entropy,
 * untied, no corruption, no sparsity penalty.
 *
 * @param inputDim        D, pixels per example
 * @param hidden          hidden sizes of the encoder, input side first; the decoder mirrors them
 * @param latent          size of the code
 * @param activation      activation of every hidden layer
 * @param reconstruction  the per-example reconstruction loss
 * @param tied            decoder layer i uses the transpose of encoder layer (n-1-i)'s weight
 * @param corruption      input corruption in training (denoising autoencoder)
 * @param corruptionLevel Gaussian noise standard deviation, or the masking probability (in [0, 1)); 0 for none
 * @param sparsity        rho, the target mean activation of each code unit, in (0, 1)
 * @param sparsityWeight  weight of the penalty sum_j KL(rho || rho_hat_j); 0 turns it off. When it is
 *                        positive the code layer's activation is the sigmoid, otherwise the identity
 * @param conv            conv encoder and/or transposed-conv decoder layers, or null (fully connected);
 *                        the dense hidden sizes then sit between the conv stack and the code (and,
 *                        mirrored, between the code and the transposed-conv stack). Not with tied weights
 */
public record AutoencoderConfig(int inputDim, int[] hidden, int latent, Activation activation, Reconstruction reconstruction,
                                boolean tied, Corruption corruption, double corruptionLevel, double sparsity,
                                double sparsityWeight, ConvLayout conv) implements ModelConfig {

    /** The per-example reconstruction loss, summed over pixels. */
    public enum Reconstruction {
        /** sum_d softplus(l_d) - x_d l_d: Bernoulli cross-entropy with logits l (x in [0, 1]). */
        BERNOULLI,
        /** sum_d (x_d - out_d)^2. */
        MSE;

        /** The name on the command line and in checkpoints: "bernoulli", "mse". */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The inverse of {@link #id}; IllegalArgumentException listing the known names. */
        public static Reconstruction parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "bernoulli" -> BERNOULLI;
                case "mse" -> MSE;
                default -> throw new IllegalArgumentException("unknown reconstruction loss '" + s + "' (known: bernoulli, mse)");
            };
        }
    }

    /**
     * Copies {@code hidden} and checks every setting: positive sizes, non-null activation, loss and corruption,
     * a corruption level its kind accepts, {@code sparsity} in (0, 1), a finite {@code sparsityWeight >= 0},
     * and a conv layout that fits {@code inputDim} and is not tied.
     *
     * @throws IllegalArgumentException naming the setting that does not hold
     */
    public AutoencoderConfig {
        hidden = hidden.clone();
        if (inputDim <= 0) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (latent <= 0) throw new IllegalArgumentException("code size (latent) must be positive, got " + latent);
        for (int h : hidden) if (h <= 0) throw new IllegalArgumentException("hidden sizes must be positive: " + Arrays.toString(hidden));
        if (activation == null) throw new IllegalArgumentException("activation must not be null (e.g. Activation.RELU)");
        if (reconstruction == null) throw new IllegalArgumentException("reconstruction must not be null (e.g. AutoencoderConfig.Reconstruction.BERNOULLI)");
        if (corruption == null) throw new IllegalArgumentException("corruption must not be null (Corruption.NONE for none)");
        corruption.checkLevel(corruptionLevel);
        if (!(sparsity > 0 && sparsity < 1)) throw new IllegalArgumentException("sparsity target must be in (0, 1), got " + sparsity);
        if (!(sparsityWeight >= 0) || Double.isInfinite(sparsityWeight)) {
            throw new IllegalArgumentException("sparsity weight must be a finite number >= 0, got " + sparsityWeight);
        }
        if (conv != null) {
            conv.checkInputDim(inputDim);
            if (tied) throw new IllegalArgumentException("tied weights need a fully connected encoder and decoder, not conv layers");
        }
    }

    /** A copy of the encoder's hidden sizes, input side first. */
    @Override
    public int[] hidden() {
        return hidden.clone();
    }

    /** Whether the sparsity penalty is on (weight > 0). */
    public boolean sparse() {
        return sparsityWeight > 0;
    }

    /** The code layer's activation: sigmoid with the sparsity penalty (rho_hat must lie in (0, 1)), else identity. */
    public Activation codeActivation() {
        return sparse() ? Activation.SIGMOID : Activation.IDENTITY;
    }

    /** D, hidden..., code */
    public int[] encoderSizes() {
        return ConfigJson.sizes(inputDim, hidden, latent);
    }

    /** code, hidden reversed..., D */
    public int[] decoderSizes() {
        int[] e = encoderSizes(), s = new int[e.length];
        for (int i = 0; i < e.length; i++) s[i] = e[e.length - 1 - i];
        return s;
    }

    @Override
    public String type() {
        return "ae";
    }

    @Override
    public String objectiveName() {
        return "-loss";
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Autoencoder.parameterLayout(this);
    }

    @Override
    public Autoencoder create(Backend backend, DType dtype, long seed) {
        return Autoencoder.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("hidden", hidden);
        m.put("latent", latent);
        ConfigJson.putActivation(m, activation);
        m.put("reconstruction", reconstruction.id());
        m.put("tied", tied);
        m.put("corruption", corruption.id());
        m.put("corruption_level", corruptionLevel);
        m.put("sparsity", sparsity);
        m.put("sparsity_weight", sparsityWeight);
        if (conv != null) conv.putJson(m);
        return m;
    }

    /** The inverse of {@link #toJson}; every field is required. */
    public static AutoencoderConfig fromJson(Map<String, Object> m) {
        return new AutoencoderConfig(JsonFields.integer(m, "input_dim"), JsonFields.ints(m, "hidden"),
                JsonFields.integer(m, "latent"), ConfigJson.activation(m),
                Reconstruction.parse(JsonFields.string(m, "reconstruction")), JsonFields.bool(m, "tied"),
                Corruption.parse(JsonFields.string(m, "corruption")), JsonFields.number(m, "corruption_level"),
                JsonFields.number(m, "sparsity"), JsonFields.number(m, "sparsity_weight"), ConvLayout.fromJson(m));
    }

    /** A builder with the defaults above. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration. */
    public Builder toBuilder() {
        return new Builder().inputDim(inputDim).hidden(hidden).latent(latent).activation(activation)
                .reconstruction(reconstruction).tied(tied).corruption(corruption, corruptionLevel)
                .sparsity(sparsity, sparsityWeight).conv(conv);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AutoencoderConfig c && inputDim == c.inputDim && Arrays.equals(hidden, c.hidden)
                && latent == c.latent && activation == c.activation && reconstruction == c.reconstruction && tied == c.tied
                && corruption == c.corruption && Double.compare(corruptionLevel, c.corruptionLevel) == 0
                && Double.compare(sparsity, c.sparsity) == 0 && Double.compare(sparsityWeight, c.sparsityWeight) == 0
                && java.util.Objects.equals(conv, c.conv);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[]{inputDim, Arrays.hashCode(hidden), latent, activation, reconstruction, tied,
                corruption, corruptionLevel, sparsity, sparsityWeight, conv});
    }

    /** E.g. "AE 784-400-20 / 20-400-784, relu, bernoulli, tied, mask corruption 0.3, sparsity 0.05 x 0.1". */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("AE ").append(join(encoderSizes())).append(" / ").append(join(decoderSizes()))
                .append(", ").append(activation.name().toLowerCase(Locale.ROOT)).append(", ").append(reconstruction.id());
        if (tied) b.append(", tied");
        if (corruption != Corruption.NONE) {
            b.append(String.format(Locale.ROOT, ", %s corruption %s", corruption.id(), corruptionLevel));
        }
        if (sparse()) b.append(String.format(Locale.ROOT, ", sparsity %s x %s", sparsity, sparsityWeight));
        if (conv != null) b.append(", ").append(conv);
        return b.toString();
    }

    private static String join(int[] s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length; i++) b.append(i == 0 ? "" : "-").append(s[i]);
        return b.toString();
    }

    /** Fluent construction with the defaults above. */
    public static final class Builder {
        private int inputDim = 784;
        private int[] hidden = {400};
        private int latent = 20;
        private Activation activation = Activation.RELU;
        private Reconstruction reconstruction = Reconstruction.BERNOULLI;
        private boolean tied;
        private Corruption corruption = Corruption.NONE;
        private double corruptionLevel;
        private double sparsity = 0.05;
        private double sparsityWeight;
        private ConvLayout conv;

        /** A builder with the defaults; {@link AutoencoderConfig#builder()} is the same. */
        public Builder() {
        }

        /** D, values per example (default 784, a 28x28 image). */
        public Builder inputDim(int d) {
            this.inputDim = d;
            return this;
        }

        /** Hidden sizes of the encoder, input side first; the decoder mirrors them (default 400). */
        public Builder hidden(int... h) {
            this.hidden = h.clone();
            return this;
        }

        /** The code's size (default 20). */
        public Builder latent(int z) {
            this.latent = z;
            return this;
        }

        /** The activation of every hidden layer (default ReLU). */
        public Builder activation(Activation a) {
            this.activation = a;
            return this;
        }

        /** The reconstruction loss (default Bernoulli cross-entropy, for pixels in [0, 1]). */
        public Builder reconstruction(Reconstruction r) {
            this.reconstruction = r;
            return this;
        }

        /** Whether the decoder uses the encoder's transposed weights (default false). */
        public Builder tied(boolean t) {
            this.tied = t;
            return this;
        }

        /** A denoising autoencoder's input corruption and its level (default none). */
        public Builder corruption(Corruption kind, double level) {
            this.corruption = kind;
            this.corruptionLevel = level;
            return this;
        }

        /** Target mean activation rho and the penalty's weight (0: off). */
        public Builder sparsity(double rho, double weight) {
            this.sparsity = rho;
            this.sparsityWeight = weight;
            return this;
        }

        /** Conv encoder and/or decoder layers (null: fully connected); their image must have inputDim values. */
        public Builder conv(ConvLayout conv) {
            this.conv = conv;
            return this;
        }

        /** The config; its constructor's checks apply. */
        public AutoencoderConfig build() {
            return new AutoencoderConfig(inputDim, hidden, latent, activation, reconstruction, tied, corruption,
                    corruptionLevel, sparsity, sparsityWeight, conv);
        }
    }
}
