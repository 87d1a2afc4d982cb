package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.Map;

/**
 * The architecture of a {@link Model}: what a checkpoint stores under metadata {@code model} and
 * what rebuilds the model. {@link ModelConfigs#fromJson} reads it back by its {@link #type()}.
 */
public interface ModelConfig {

    /** The model family as written in checkpoints and on the command line: "vae", "ae", "cvae", "m2". */
    String type();

    /** D, pixels per example. */
    int inputDim();

    /** What the trainer reports as the objective (-loss per example): "ELBO" for bounds, "-loss" otherwise. */
    default String objectiveName() {
        return "ELBO";
    }

    /** Adam's learning rate when the user gives none (1e-3 unless a family trains better with another). */
    default double defaultLearningRate() {
        return 1e-3;
    }

    /**
     * The input binarisation when the user gives none: dynamic for the binary likelihoods; models
     * of grey levels (NICE) use none.
     */
    default dev.elbo4j.backend.Binarization defaultBinarization() {
        return dev.elbo4j.backend.Binarization.DYNAMIC;
    }

    /**
     * Refuses training settings the model cannot be trained with, before anything is allocated
     * ({@link dev.elbo4j.train.Trainer}'s constructor calls it with its config's values; the CLI
     * calls it first, as a usage error): e.g. NICE, a model of grey levels, on binarised pixels, or
     * a KL warm-up for an objective without a separate KL term. Accepts everything by default.
     * (It takes the values, not the trainer's config, so that models do not depend on the trainer.)
     *
     * @param binarization the training data's binarisation
     * @param warmupEpochs the KL warm-up's length in epochs (0: none)
     * @throws IllegalArgumentException saying what does not fit, in the command line's words
     */
    default void checkTraining(dev.elbo4j.backend.Binarization binarization, double warmupEpochs) {
        checkWarmup(warmupEpochs);
    }

    /** True for models whose objective has a KL term that a warm-up schedule weights (VAE, CVAE, M2). */
    default boolean hasKlTerm() {
        return false;
    }

    /** Refuses a KL warm-up for a model without a KL term (it would be silently ignored). */
    default void checkWarmup(double warmupEpochs) {
        if (warmupEpochs > 0 && !hasKlTerm()) {
            throw new IllegalArgumentException("--warmup: a '" + type() + "' model has no KL term to warm up");
        }
    }

    /** How the model uses labels in training. */
    default LabelUse labelUse() {
        return LabelUse.NONE;
    }

    /** Classes of the one-hot labels the model takes (0 when it takes none). */
    default int classes() {
        return 0;
    }

    /** The model's conv encoder and/or decoder layers (docs/CONV.md), or null when it is fully connected. */
    default dev.elbo4j.nn.ConvLayout conv() {
        return null;
    }

    /**
     * The parameters a model of this architecture has, by name, shape and initialisation, in
     * checkpoint order, without allocating them: what a checkpoint reader checks a file against.
     */
    Parameters.Builder parameterLayout();

    /** A freshly initialised model, parameters drawn from {@code seed}; dtype F32, or F64 for checks. */
    Model create(Backend backend, DType dtype, long seed);

    /** The architecture as JSON values (without "type" and "image_shape", which the checkpoint adds). */
    Map<String, Object> toJson();
}
