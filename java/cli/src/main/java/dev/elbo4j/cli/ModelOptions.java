package dev.elbo4j.cli;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.VaeConfig;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The {@code train} options that choose and shape the model: {@code --model} and the architecture
 * flags of each family. {@link #config} turns them into the library's {@link ModelConfig}.
 */
final class ModelOptions {
    /** The values {@code --model} accepts. */
    static final List<String> MODELS = List.of("vae", "cvae", "m2");

    @Option(names = "--model", paramLabel = "MODEL", defaultValue = "vae",
            description = "Model family: vae, cvae (conditional VAE, needs labels) or m2 (semi-supervised VAE with a classifier, uses --labels labelled examples; its --beta defaults to 3) (default: ${DEFAULT-VALUE}).")
    String model;

    // ---- shared by every family --------------------------------------------------------------
    @Option(names = "--hidden", paramLabel = "H", split = ",", defaultValue = "400",
            description = "Encoder hidden sizes, comma-separated; the decoder mirrors them (default: ${DEFAULT-VALUE}).")
    int[] hidden;
    @Option(names = "--decoder-hidden", paramLabel = "H", split = ",", description = "Decoder hidden sizes if not the mirror of --hidden.")
    int[] decoderHidden;
    @Option(names = "--latent", paramLabel = "Z", defaultValue = "20", description = "Latent (code) dimension (default: ${DEFAULT-VALUE}).")
    int latent;
    @Option(names = "--activation", paramLabel = "ACT", defaultValue = "relu", description = "relu, tanh, sigmoid or identity (default: ${DEFAULT-VALUE}).")
    String activation;
    @Option(names = "--likelihood", paramLabel = "LIK", defaultValue = "bernoulli",
            description = "bernoulli, gaussian (fixed --sigma) or gaussian-learned (per-pixel variance) (default: ${DEFAULT-VALUE}).")
    String likelihood;
    @Option(names = "--sigma", paramLabel = "S", defaultValue = "0.1", description = "Standard deviation of the fixed Gaussian (default: ${DEFAULT-VALUE}).")
    double sigma;

    // ---- vae -----------------------------------------------------------------------------------
    @Option(names = "--samples", paramLabel = "L", defaultValue = "1", description = "Monte-Carlo samples of z per input (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--beta", paramLabel = "BETA", defaultValue = "1", description = "Weight of the KL term (default: ${DEFAULT-VALUE}).")
    double beta;

    // ---- ae (autoencoders: plain, denoising, sparse, tied) -----------------------------------

    // ---- end ae

    // ---- cvae and m2 ---------------------------------------------------------------------------
    @Option(names = "--classes", paramLabel = "C", defaultValue = "10",
            description = "cvae, m2: classes of the one-hot label; every label of the data must be below C (default: ${DEFAULT-VALUE}).")
    int classes;
    @Option(names = "--alpha", paramLabel = "A", defaultValue = "" + dev.elbo4j.model.M2Config.DEFAULT_ALPHA,
            description = "m2: weight of the labelled examples' cross-entropy -log q(y|x) against the per-example bounds "
                    + "(default: ${DEFAULT-VALUE}).")
    double alpha;
    /** The train command, to tell an explicit --beta from its default (m2 has a default of its own). */
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;
    @Option(names = "--classifier-hidden", paramLabel = "H", split = ",",
            description = "m2: hidden sizes of the classifier q(y|x), comma-separated (default: those of --hidden).")
    int[] classifierHidden;

    // ---- end cvae and m2

    /** The model the flags describe, for inputs of {@code inputDim} pixels. */
    ModelConfig config(int inputDim) {
        try {
            return switch (model) {
                case "vae" -> vae(inputDim);
                // case "ae"

                // case "cvae", "m2"
                case "cvae" -> cvae(inputDim);
                case "m2" -> m2(inputDim);

                default -> throw new Main.UsageException("--model must be one of " + String.join(", ", MODELS) + ", got '" + model + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
    }

    int[] decoderHidden() {
        int[] dec = decoderHidden;
        if (dec == null) {
            dec = new int[hidden.length];
            for (int i = 0; i < hidden.length; i++) dec[i] = hidden[hidden.length - 1 - i];
        }
        return dec;
    }

    // builders of ae

    // builders of cvae and m2
    private dev.elbo4j.model.CvaeConfig cvae(int inputDim) {
        return new dev.elbo4j.model.CvaeConfig(inputDim, classes, hidden, latent, decoderHidden(), Activation.parse(activation),
                Likelihood.parse(likelihood, sigma), samples, beta);
    }

    private dev.elbo4j.model.M2Config m2(int inputDim) {
        // m2 weighs the KL term on z by M2Config.DEFAULT_BETA unless --beta is given.
        boolean betaGiven = mixee != null && mixee.commandLine() != null && mixee.commandLine().getParseResult() != null
                && mixee.commandLine().getParseResult().hasMatchedOption("--beta");
        return new dev.elbo4j.model.M2Config(inputDim, classes, classifierHidden != null ? classifierHidden : hidden, hidden, latent, decoderHidden(),
                Activation.parse(activation), Likelihood.parse(likelihood, sigma), alpha,
                betaGiven ? beta : dev.elbo4j.model.M2Config.DEFAULT_BETA);
    }

    private VaeConfig vae(int inputDim) {
        return VaeConfig.builder().inputDim(inputDim).encoderHidden(hidden).latent(latent).decoderHidden(decoderHidden())
                .activation(Activation.parse(activation)).likelihood(Likelihood.parse(likelihood, sigma))
                .samples(samples).beta(beta).build();
    }
}
