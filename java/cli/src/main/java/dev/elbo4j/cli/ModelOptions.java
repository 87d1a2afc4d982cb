package dev.elbo4j.cli;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.VaeConfig;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The {@code train} options that choose and shape the model: {@code --model} and the architecture
 * flags of each family. {@link #config} turns them into the library's {@link ModelConfig}.
 */
final class ModelOptions {
    /** The values {@code --model} accepts. */
    static final List<String> MODELS = List.of("vae", "nice");

    @Option(names = "--model", paramLabel = "MODEL", defaultValue = "vae",
            description = "Model family: vae or nice (default: ${DEFAULT-VALUE}).")
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

    // ---- end rbm, dbn, fvbm

    // ---- nice and flows ------------------------------------------------------------------------
    @Option(names = "--flow", paramLabel = "FLOW",
            description = "vae: normalizing flow after the Gaussian posterior: none or planar (default: none).")
    String flow;
    @Option(names = "--flow-steps", paramLabel = "K", description = "vae: planar flow steps K >= 1 (default with --flow planar: 10).")
    Integer flowSteps;
    @Option(names = "--couplings", paramLabel = "N", defaultValue = "4",
            description = "nice: additive coupling layers; their shift MLPs have the --hidden sizes (default: ${DEFAULT-VALUE}).")
    int couplings;
    @Option(names = "--prior", paramLabel = "PRIOR", defaultValue = "logistic",
            description = "nice: prior of the latent space, logistic or gaussian (default: ${DEFAULT-VALUE}).")
    String prior;

    // ---- end nice and flows

    /** The model the flags describe, for inputs of {@code inputDim} pixels. */
    ModelConfig config(int inputDim) {
        try {
            rejectFlowFlags(model);
            return switch (model) {
                case "vae" -> flows(vae(inputDim));
                // case "ae"

                // case "cvae", "m2"

                // case "rbm", "dbn", "fvbm"

                // case "nice"
                case "nice" -> nice(inputDim);

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

    // builders of nice

    /** NICE with --couplings shift MLPs of the --hidden sizes and the --prior. */
    private NiceConfig nice(int inputDim) {
        if (couplings < 1) throw new Main.UsageException("--couplings must be >= 1, got " + couplings);
        try {
            return new NiceConfig(inputDim, couplings, hidden, NiceConfig.parsePrior(prior));
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException((e.getMessage().startsWith("prior") ? "--" : "") + e.getMessage());
        }
    }

    /** The flow flags apply to the VAE only; naming them with another model is a usage error. */
    private void rejectFlowFlags(String model) {
        if (!"vae".equals(model) && (flow != null || flowSteps != null)) {
            throw new Main.UsageException((flow != null ? "--flow" : "--flow-steps") + " applies to --model vae only, not '" + model + "'");
        }
    }

    /** The VAE with the posterior flow of --flow / --flow-steps. */
    private VaeConfig flows(VaeConfig cfg) {
        String f = flow == null ? VaeConfig.FLOW_NONE : flow;
        if (VaeConfig.FLOW_NONE.equals(f)) {
            if (flowSteps != null) throw new Main.UsageException("--flow-steps needs --flow planar");
            return cfg;
        }
        if (!VaeConfig.FLOW_PLANAR.equals(f)) throw new Main.UsageException("--flow must be none or planar, got '" + f + "'");
        int k = flowSteps == null ? 10 : flowSteps;
        if (k < 1) throw new Main.UsageException("--flow-steps must be >= 1, got " + k);
        return cfg.toBuilder().flow(f, k).build();
    }

    private VaeConfig vae(int inputDim) {
        return VaeConfig.builder().inputDim(inputDim).encoderHidden(hidden).latent(latent).decoderHidden(decoderHidden())
                .activation(Activation.parse(activation)).likelihood(Likelihood.parse(likelihood, sigma))
                .samples(samples).beta(beta).build();
    }
}
