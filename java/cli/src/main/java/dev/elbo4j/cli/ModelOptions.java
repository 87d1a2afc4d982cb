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
    static final List<String> MODELS = List.of("vae", "ae", "cvae", "m2", "nice", "rbm", "dbn", "fvbm");

    @Option(names = "--model", completionCandidates = Candidates.Models.class, paramLabel = "MODEL", defaultValue = "vae",
            description = "Model family: vae; ae (autoencoder: plain, denoising, sparse, tied); "
                    + "cvae (conditional VAE, needs labels); m2 (semi-supervised VAE with a classifier, uses --labels "
                    + "labelled examples; its --beta defaults to 3); nice (NICE flow density model); rbm (restricted "
                    + "Boltzmann machine, CD-k or PCD); dbn (deep belief net, greedy RBM stack); fvbm (fully visible "
                    + "Boltzmann machine, d <= 20, exact likelihood) (default: ${DEFAULT-VALUE}).")
    String model;

    // ---- shared by every family --------------------------------------------------------------
    @Option(names = "--hidden", paramLabel = "H", split = ",", defaultValue = "400",
            description = "Encoder hidden sizes, comma-separated; the decoder mirrors them (default: ${DEFAULT-VALUE}).")
    int[] hidden;
    @Option(names = "--decoder-hidden", paramLabel = "H", split = ",", description = "Decoder hidden sizes if not the mirror of --hidden.")
    int[] decoderHidden;
    @Option(names = "--latent", paramLabel = "Z", defaultValue = "20", description = "Latent (code) dimension (default: ${DEFAULT-VALUE}).")
    int latent;
    @Option(names = "--activation", completionCandidates = Candidates.Activations.class, paramLabel = "ACT", defaultValue = "relu", description = "relu, tanh, sigmoid or identity (default: ${DEFAULT-VALUE}).")
    String activation;
    @Option(names = "--likelihood", completionCandidates = Candidates.Likelihoods.class, paramLabel = "LIK", defaultValue = "bernoulli",
            description = "bernoulli, gaussian (fixed --sigma) or gaussian-learned (per-pixel variance) (default: ${DEFAULT-VALUE}).")
    String likelihood;
    @Option(names = "--sigma", paramLabel = "S", defaultValue = "0.1", description = "Standard deviation of the fixed Gaussian (default: ${DEFAULT-VALUE}).")
    double sigma;

    // ---- conv encoders and decoders (vae, ae, cvae, m2) ----------------------------------------
    @Option(names = "--encoder", paramLabel = "ARCH",
            description = "vae, ae, cvae, m2: mlp, or conv:LAYERS, conv layers before the dense --hidden layers (m2: "
                    + "before its classifier's too, with weights of their own); LAYERS is "
                    + "comma-separated CxK[sS][pP] (C output channels, KxK kernel, stride S, padding P), e.g. "
                    + "conv:32x4s2p1,64x4s2p1 (default: mlp; docs/CONV.md).")
    String encoder;
    @Option(names = "--decoder", paramLabel = "ARCH",
            description = "vae, ae, cvae, m2: mlp, or deconv:LAYERS, transposed-conv layers after the dense layers; each "
                    + "CxK[sS][pP] takes C channels, the last gives the image's, e.g. deconv:64x4s2p1,32x4s2p1 "
                    + "(default: mlp; docs/CONV.md).")
    String decoder;

    /** The conv layout of --encoder / --decoder for images of {@code image} (elbo4j's shape), or null for none. */
    private dev.elbo4j.nn.ConvLayout conv(int[] image) {
        boolean any = encoder != null && !encoder.trim().equals("mlp") || decoder != null && !decoder.trim().equals("mlp");
        if (!any) return null;
        if (!List.of("vae", "ae", "cvae", "m2").contains(model)) {
            throw new Main.UsageException((encoder != null ? "--encoder" : "--decoder") + " applies to --model vae, ae, cvae or m2, not '" + model + "'");
        }
        try {
            dev.elbo4j.nn.ConvLayout.parseSide(encoder, dev.elbo4j.nn.ConvLayout.CONV, "encoder");
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--encoder: " + e.getMessage());
        }
        try {
            dev.elbo4j.nn.ConvLayout.parseSide(decoder, dev.elbo4j.nn.ConvLayout.DECONV, "decoder");
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--decoder: " + e.getMessage());
        }
        if (image == null || image.length < 2) {
            throw new Main.UsageException((encoder != null ? "--encoder" : "--decoder") + ": conv layers need images; the data has no image shape");
        }
        try {
            return dev.elbo4j.nn.ConvLayout.of(image, encoder, decoder);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException((e.getMessage().startsWith("decoder") ? "--decoder: " : "--encoder: ") + e.getMessage());
        }
    }

    // ---- vae -----------------------------------------------------------------------------------
    @Option(names = "--samples", paramLabel = "L", defaultValue = "1", description = "Monte-Carlo samples of z per input (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--beta", paramLabel = "BETA", defaultValue = "1", description = "Weight of the KL term (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--objective", completionCandidates = Candidates.Objectives.class, paramLabel = "OBJ", defaultValue = "elbo",
            description = "Training objective: elbo, or iwae (importance-weighted bound with k = --samples; "
                    + "needs --beta 1 and no --warmup) (default: ${DEFAULT-VALUE}).")
    String objective;

    // ---- ae (autoencoders: plain, denoising, sparse, tied) -----------------------------------
    @Option(names = "--reconstruction", completionCandidates = Candidates.Reconstructions.class, paramLabel = "LOSS",
            description = "ae: reconstruction loss per example, bernoulli (cross-entropy with logits) or mse (sum of squares) "
                    + "(default: bernoulli).")
    String reconstruction;
    @Option(names = "--tied", description = "ae: the decoder uses the transposed encoder weights (only its biases are its own).")
    boolean tied;
    @Option(names = "--corruption", completionCandidates = Candidates.Corruptions.class, paramLabel = "KIND",
            description = "ae: denoising input corruption, none, gaussian (x + level * N(0, 1)) or mask (pixels zeroed with "
                    + "probability level) (default: none).")
    String corruption;
    @Option(names = "--corruption-level", paramLabel = "LEVEL",
            description = "ae: Gaussian noise standard deviation, or masking probability in [0, 1) (default: "
                    + DEFAULT_CORRUPTION_LEVEL + " with --corruption gaussian or mask).")
    Double corruptionLevel;
    @Option(names = "--sparsity", paramLabel = "RHO",
            description = "ae: target mean activation of each code unit, in (0, 1) (default: 0.05; needs --sparsity-weight).")
    Double sparsity;
    @Option(names = "--sparsity-weight", paramLabel = "W",
            description = "ae: weight of the sparsity penalty sum_j KL(rho || mean activation of unit j); > 0 makes the code "
                    + "layer a sigmoid (default: 0, off).")
    Double sparsityWeight;
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec aeMixee;

    /** --corruption-level when --corruption is gaussian or mask and no level is given. */
    static final double DEFAULT_CORRUPTION_LEVEL = 0.25;
    /** The ae-only flags, rejected with any other --model. */
    private static final List<String> AE_FLAGS = List.of("--reconstruction", "--tied", "--corruption", "--corruption-level",
            "--sparsity", "--sparsity-weight");
    /** Flags of other families that an autoencoder does not take, with what to use instead. */
    private static final List<String[]> NOT_FOR_AE = List.of(new String[]{"--likelihood", "use --reconstruction bernoulli|mse"},
            new String[]{"--sigma", "--reconstruction mse is the plain sum of squares"},
            new String[]{"--decoder-hidden", "the decoder mirrors --hidden"},
            new String[]{"--samples", "an autoencoder has no latent samples"},
            new String[]{"--beta", "an autoencoder has no KL term"});

    /** Whether {@link #likelihood} was set from a resumed run's checkpoint (for the words of {@link #checkSigma}). */
    boolean likelihoodOfRun;

    /** Flags a --preset set (they count as given: {@link Presets#apply}). */
    final java.util.Set<String> presetFlags = new java.util.HashSet<>();

    private boolean matched(String flag) {
        return presetFlags.contains(flag) || aeMixee != null && aeMixee.commandLine() != null && aeMixee.commandLine().getParseResult() != null
                && aeMixee.commandLine().getParseResult().hasMatchedOption(flag);
    }

    /** Whether the user gave {@code flag} on the command line (not its default). */
    boolean given(String flag) {
        return matched(flag);
    }

    /**
     * The families each model flag shapes: a flag given (or set by a preset) with any other --model
     * would be dropped without a word, and the run would not be the one asked for (an rbm trained
     * "with --objective iwae", NICE "with --likelihood gaussian"), so it is a usage error. The ae
     * flags and --flow have messages of their own ({@link #checkAeFlags}, {@link #rejectFlowFlags}).
     */
    private static final java.util.Map<String, List<String>> FAMILIES = familyTable();

    private static java.util.Map<String, List<String>> familyTable() {
        java.util.Map<String, List<String>> m = new java.util.LinkedHashMap<>();
        List<String> latent = List.of("vae", "ae", "cvae", "m2"), variational = List.of("vae", "cvae", "m2");
        m.put("--hidden", List.of("vae", "ae", "cvae", "m2", "nice", "rbm", "dbn"));
        m.put("--decoder-hidden", variational);
        m.put("--latent", latent);
        m.put("--activation", latent);
        m.put("--likelihood", variational);
        m.put("--sigma", variational);
        m.put("--samples", List.of("vae", "cvae"));
        m.put("--beta", variational);
        m.put("--objective", List.of("vae"));
        m.put("--classes", List.of("cvae", "m2"));
        m.put("--alpha", List.of("m2"));
        m.put("--classifier-hidden", List.of("m2"));
        m.put("--cd-k", List.of("rbm", "dbn"));
        m.put("--pcd", List.of("rbm", "dbn"));
        m.put("--gibbs-steps", List.of("rbm", "dbn"));
        m.put("--layer-steps", List.of("dbn"));
        m.put("--couplings", List.of("nice"));
        m.put("--prior", List.of("nice"));
        return java.util.Collections.unmodifiableMap(m);
    }

    /** A usage error naming the first given flag that shapes no part of a {@code model} model. */
    private void checkFamilyFlags() {
        if (!MODELS.contains(model)) return; // the switch below names the unknown model
        for (var e : FAMILIES.entrySet()) {
            if (!e.getValue().contains(model) && matched(e.getKey())) {
                throw new Main.UsageException(e.getKey() + " does not apply to --model " + model + " (it shapes "
                        + words(e.getValue()) + " models only)" + ("fvbm".equals(model) && "--hidden".equals(e.getKey())
                        ? "; a fully visible Boltzmann machine has no hidden units" : ""));
            }
        }
    }

    /**
     * --sigma is the standard deviation of --likelihood gaussian only: with bernoulli (the default)
     * or gaussian-learned it used to be dropped without a word. A usage error naming both flags.
     */
    private void checkSigma() {
        String lik = likelihood.trim().toLowerCase(java.util.Locale.ROOT);
        if (!matched("--sigma") || !List.of("bernoulli", "gaussian-learned").contains(lik)) return;
        throw new Main.UsageException("--sigma does not apply to --likelihood " + lik + " (it is the fixed standard deviation of "
                + "--likelihood gaussian; " + (lik.equals("bernoulli") ? "a bernoulli likelihood has none" : "gaussian-learned learns "
                + "a variance per pixel") + (matched("--likelihood") ? "" : likelihoodOfRun ? ", the resumed run's likelihood"
                : ", and bernoulli is the default") + ")");
    }

    /** "vae, cvae and m2". */
    private static String words(List<String> names) {
        return names.size() == 1 ? names.getFirst()
                : String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.getLast();
    }

    /** Rejects the ae flags with another --model, and other families' flags with --model ae. */
    private void checkAeFlags() {
        if ("ae".equals(model)) {
            for (String[] f : NOT_FOR_AE) {
                if (matched(f[0])) throw new Main.UsageException(f[0] + " does not apply to --model ae (" + f[1] + ")");
            }
        } else {
            for (String f : AE_FLAGS) {
                if (matched(f)) throw new Main.UsageException(f + " applies to --model ae only, not --model " + model);
            }
        }
    }

    private dev.elbo4j.model.AutoencoderConfig ae(int inputDim) {
        dev.elbo4j.backend.Corruption kind;
        try {
            kind = dev.elbo4j.backend.Corruption.parse(corruption == null ? "none" : corruption);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--corruption: " + e.getMessage());
        }
        if (kind == dev.elbo4j.backend.Corruption.NONE && corruptionLevel != null) {
            throw new Main.UsageException("--corruption-level needs --corruption gaussian or mask");
        }
        double level = kind == dev.elbo4j.backend.Corruption.NONE ? 0
                : corruptionLevel != null ? corruptionLevel : DEFAULT_CORRUPTION_LEVEL;
        try {
            kind.checkLevel(level);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--corruption-level: " + e.getMessage());
        }
        double w = sparsityWeight == null ? 0 : sparsityWeight;
        if (!(w >= 0) || Double.isInfinite(w)) throw new Main.UsageException("--sparsity-weight must be a finite number >= 0, got " + w);
        if (sparsity != null && w == 0) throw new Main.UsageException("--sparsity needs --sparsity-weight > 0 (the penalty is off without it)");
        double rho = sparsity == null ? 0.05 : sparsity;
        if (!(rho > 0 && rho < 1)) throw new Main.UsageException("--sparsity must be in (0, 1), got " + rho);
        dev.elbo4j.model.AutoencoderConfig.Reconstruction rec;
        try {
            rec = dev.elbo4j.model.AutoencoderConfig.Reconstruction.parse(reconstruction == null ? "bernoulli" : reconstruction);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--reconstruction: " + e.getMessage());
        }
        return dev.elbo4j.model.AutoencoderConfig.builder().inputDim(inputDim).hidden(hidden).latent(latent)
                .activation(Activation.parse(activation)).reconstruction(rec).tied(tied).corruption(kind, level)
                .sparsity(rho, w).build();
    }

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

    // ---- rbm, dbn, fvbm ------------------------------------------------------------------------
    // rbm: --hidden H (one size); dbn: --hidden H1,H2,... bottom up; fvbm: no size (d = the pixels, <= 20).
    @Option(names = "--cd-k", paramLabel = "K", defaultValue = "5",
            description = "rbm, dbn: Gibbs sweeps of contrastive divergence per step, CD-K (default: ${DEFAULT-VALUE}: on MNIST CD-1 chains from noise give blobs, CD-5 chains give digits; docs/RBM.md).")
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

    // ---- nice and flows ------------------------------------------------------------------------
    @Option(names = "--flow", completionCandidates = Candidates.Flows.class, paramLabel = "FLOW",
            description = "vae: normalizing flow after the Gaussian posterior: none or planar (default: none).")
    String flow;
    @Option(names = "--flow-steps", paramLabel = "K", description = "vae: planar flow steps K >= 1 (default with --flow planar: 10).")
    Integer flowSteps;
    @Option(names = "--couplings", paramLabel = "N", defaultValue = "4",
            description = "nice: additive coupling layers; their shift MLPs have the --hidden sizes (default: ${DEFAULT-VALUE}).")
    int couplings;
    @Option(names = "--prior", completionCandidates = Candidates.Priors.class, paramLabel = "PRIOR", defaultValue = "logistic",
            description = "nice: prior of the latent space, logistic or gaussian (default: ${DEFAULT-VALUE}).")
    String prior;

    /** The model the flags describe, for inputs of {@code inputDim} pixels (no image shape: no conv layers). */
    ModelConfig config(int inputDim) {
        return config(inputDim, null);
    }

    /** The model the flags describe, for images of {@code image} (elbo4j's [rows, cols] or [rows, cols, 3]) of inputDim values. */
    ModelConfig config(int inputDim, int[] image) {
        dev.elbo4j.nn.ConvLayout conv = conv(image);
        try {
            checkAeFlags();
            rejectFlowFlags(model);
            checkFamilyFlags();
            checkSigma();
            return switch (model) {
                case "vae" -> flows(vae(inputDim)).toBuilder().conv(conv).build();
                case "ae" -> {
                    if (conv != null && tied) throw new Main.UsageException("--tied needs a fully connected encoder and decoder, not --encoder/--decoder conv layers");
                    yield ae(inputDim).toBuilder().conv(conv).build();
                }

                case "cvae" -> cvae(inputDim).withConv(conv);
                case "m2" -> m2(inputDim).withConv(conv);

                case "rbm" -> rbm(inputDim);
                case "dbn" -> new dev.elbo4j.model.DbnConfig(inputDim, hidden, cdK, pcd, layerSteps, gibbsSteps);
                case "fvbm" -> new dev.elbo4j.model.FvbmConfig(inputDim);

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

    private dev.elbo4j.model.CvaeConfig cvae(int inputDim) {
        return new dev.elbo4j.model.CvaeConfig(inputDim, classes, hidden, latent, decoderHidden(), Activation.parse(activation),
                Likelihood.parse(likelihood, sigma), samples, beta);
    }

    private dev.elbo4j.model.M2Config m2(int inputDim) {
        // m2 weighs the KL term on z by M2Config.DEFAULT_BETA unless --beta is given.
        boolean betaGiven = presetFlags.contains("--beta") || mixee != null && mixee.commandLine() != null
                && mixee.commandLine().getParseResult() != null && mixee.commandLine().getParseResult().hasMatchedOption("--beta");
        return new dev.elbo4j.model.M2Config(inputDim, classes, classifierHidden != null ? classifierHidden : hidden, hidden, latent, decoderHidden(),
                Activation.parse(activation), Likelihood.parse(likelihood, sigma), alpha,
                betaGiven ? beta : dev.elbo4j.model.M2Config.DEFAULT_BETA);
    }

    private dev.elbo4j.model.RbmConfig rbm(int inputDim) {
        if (hidden.length != 1) throw new Main.UsageException("--hidden: an rbm has one hidden layer, got " + hidden.length
                + " sizes (use --model dbn for a stack)");
        return new dev.elbo4j.model.RbmConfig(inputDim, hidden[0], cdK, pcd, gibbsSteps);
    }

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
                .samples(samples).beta(beta).objective(dev.elbo4j.model.VaeObjective.parse(objective)).build();
    }
}
