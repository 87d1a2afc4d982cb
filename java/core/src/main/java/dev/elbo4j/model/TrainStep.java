package dev.elbo4j.model;

import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

import java.util.Map;

/**
 * The buffers and the work of one training step of a {@link Model}: forward, loss and backward on
 * a batch, allocated once for a maximum batch size.
 */
public interface TrainStep extends AutoCloseable {

    /**
     * Evaluates the loss on {@code batch} with the noise of {@code key} and overwrites every
     * parameter gradient with the gradient of the batch's mean loss.
     */
    void run(Batch batch, RngKey key);

    /**
     * The weight of the KL term from the next {@link #run} on, relative to the model's own beta:
     * the trainer's KL warm-up sets it from 0 to 1. Models without a KL term ignore it.
     */
    default void klWeight(double weight) {
    }

    /** The last batch's mean loss per example (a host read; waits for the backend). */
    double meanLoss();

    /** Adds the last batch's summed loss (mean loss x batch size) into the 1-element F64 {@code acc}, on the backend. */
    void accumulateLoss(Tensor acc);

    /**
     * The tensors {@link #accumulateLoss} sums, in its order (at most five), for a step whose check
     * and accumulation run on the device (a replayed CUDA graph); {@link #accumulatedScales()}
     * gives their scales. A step offers them only when its {@link #run} reads nothing back and is
     * one fixed launch sequence per {@link #launchSequence} id; null otherwise (the default).
     */
    default Tensor[] accumulatedTerms() {
        return null;
    }

    /** The scales {@link #accumulateLoss} applies to {@link #accumulatedTerms()}; null where that is null. */
    default double[] accumulatedScales() {
        return null;
    }

    /**
     * Which launch sequence the step with global index {@code step} (the optimizer steps taken
     * before it, the key's step) on {@code rows} rows is, for a trainer that captures steps as CUDA
     * graphs: runs with the same id from the same host state are the same launches (one graph per
     * id and batch shape), and a run with an id >= 0 changes no host-side state and no device
     * state besides its scratch, the gradients, its loss terms and {@link #state()}. Ids change
     * only at steps the host knows from the step count and never come back (a DBN's stage). -1:
     * this run changes host-side state that decides later launches (it starts PCD's chains), so it
     * must run eagerly, once. 0 by default (every step the same launches).
     */
    default int launchSequence(long step, int rows) {
        return 0;
    }

    /**
     * The index into {@link #accumulatedTerms()} of the term that {@link #klWeight} scales (its
     * scale is the model's beta times the weight, whatever the batch size), or -1 when no term is:
     * a replayed step reads that scale per batch from the device during a KL warm-up.
     */
    default int klTerm() {
        return -1;
    }

    /**
     * The KL weight the next {@link #run} uses: the model's beta times the {@link #klWeight} last
     * set; what a replayed step reads per batch from the device during a warm-up (the kernels that
     * take it divide it by their rows as the step does). By default the {@link #klTerm()}'s
     * accumulated scale, which is that weight when {@link #klTermFactor()} is 1.
     */
    default double effectiveKlWeight() {
        return accumulatedScales()[klTerm()];
    }

    /**
     * The {@link #klTerm()}'s accumulated scale is {@link #effectiveKlWeight()} times this factor
     * (the product rounded once): 1 by default; M2's B / Bl (its labelled batch's terms weigh as
     * many examples as the unlabelled batch). Valid for the shape of the last {@link #run}.
     */
    default double klTermFactor() {
        return 1;
    }

    /**
     * The last batch's loss terms by name (e.g. "reconstruction term, -log p(x|z)"), per example or
     * per row, for naming the first non-finite one when a step fails.
     */
    Map<String, Tensor> lossTerms();

    /**
     * Training state the step carries from one step to the next besides the parameters and the
     * optimizer (e.g. the persistent chains of PCD), as named tensors: live views, read when a
     * checkpoint is written (which stores each as F32 {@code train.<name>} with its shape). Only
     * state that exists is listed (chains not yet started are absent). None by default.
     */
    default Map<String, Tensor> state() {
        return Map.of();
    }

    /**
     * Puts back one tensor of {@link #state()} from a checkpoint, before the first {@link #run}.
     * State a checkpoint lacks (an older file) is left as a new step starts it.
     *
     * @throws IllegalArgumentException for a name the step does not keep, or a shape or values it
     *                                  cannot take; the message says why (the caller adds the file and name)
     */
    default void restoreState(String name, int[] shape, float[] values) {
        throw new IllegalArgumentException("this model keeps no training state of that name");
    }

    /**
     * Frees the step's buffers (activations, gradients, its own state); the model and its parameters stay open.
     * Throws no checked exception.
     */
    @Override
    void close();
}
