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
    static final List<String> MODELS = List.of("vae");

    @Option(names = "--model", paramLabel = "MODEL", defaultValue = "vae",
            description = "Model family: vae (default: ${DEFAULT-VALUE}).")
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

    // ---- end cvae and m2

    // ---- rbm, dbn, fvbm ------------------------------------------------------------------------
    // rbm: --hidden H (one size); dbn: --hidden H1,H2,... bottom up; fvbm: no size (d = the pixels, <= 20).
    @Option(names = "--cd-k", paramLabel = "K", defaultValue = "1",
            description = "rbm, dbn: Gibbs sweeps of contrastive divergence per step, CD-K (default: ${DEFAULT-VALUE}).")
    int cdK;
    @Option(names = "--pcd", description = "rbm, dbn: persistent CD (one chain per batch row, kept across steps) instead of CD from the data.")
    boolean pcd;
    @Option(names = "--gibbs-steps", paramLabel = "N", defaultValue = "1000",
            description = "rbm, dbn: Gibbs sweeps of the sampling chains from noise for samples.png (default: ${DEFAULT-VALUE}).")
    int gibbsSteps;
    @Option(names = "--layer-steps", paramLabel = "N", defaultValue = "6000",
            description = "dbn: optimizer steps per layer of the greedy stacking; the top layer trains on to the end "
                    + "(default: ${DEFAULT-VALUE}, 10 epochs of MNIST at batch 100).")
    int layerSteps;

    // ---- end rbm, dbn, fvbm

    // ---- nice and flows ------------------------------------------------------------------------

    // ---- end nice and flows

    /** The model the flags describe, for inputs of {@code inputDim} pixels. */
    ModelConfig config(int inputDim) {
        try {
            return switch (model) {
                case "vae" -> vae(inputDim);
                // case "ae"

                // case "cvae", "m2"

                // case "rbm", "dbn", "fvbm"
                case "rbm" -> rbm(inputDim);
                case "dbn" -> new dev.elbo4j.model.DbnConfig(inputDim, hidden, cdK, pcd, layerSteps, gibbsSteps);
                case "fvbm" -> new dev.elbo4j.model.FvbmConfig(inputDim);

                // case "nice"

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

    // builders of rbm, dbn, fvbm
    private dev.elbo4j.model.RbmConfig rbm(int inputDim) {
        if (hidden.length != 1) throw new Main.UsageException("--hidden: an rbm has one hidden layer, got " + hidden.length
                + " sizes (use --model dbn for a stack)");
        return new dev.elbo4j.model.RbmConfig(inputDim, hidden[0], cdK, pcd, gibbsSteps);
    }

    // builders of nice

    private VaeConfig vae(int inputDim) {
        return VaeConfig.builder().inputDim(inputDim).encoderHidden(hidden).latent(latent).decoderHidden(decoderHidden())
                .activation(Activation.parse(activation)).likelihood(Likelihood.parse(likelihood, sigma))
                .samples(samples).beta(beta).build();
    }
}
