package dev.elbo4j.train;

/** Callbacks from a {@link Trainer}; every method has an empty default. */
public interface TrainListener {

    /** An epoch (0-based) starts with {@code steps} batches, of which {@code done} are already done (resume). */
    default void epochStart(int epoch, int steps, int done) {
    }

    /** Batch {@code stepInEpoch} (1-based count) of the epoch is done; {@code globalStep} counts all steps. */
    default void step(int epoch, int stepInEpoch, long globalStep) {
    }

    /**
     * The backward pass of the batch numbered {@code stepInEpoch} (1-based) is done and its
     * gradients are in {@code model.parameters().grads()}; the update, step {@code step} (1-based),
     * follows unless the NaN check rejects it. For inspection and fault injection in tests.
     */
    default void gradientsReady(int epoch, int stepInEpoch, long step) {
    }

    /**
     * {@link NanPolicy#SKIP} dropped a batch: {@code what} names the first non-finite tensor.
     * {@link #step} still follows for the batch, with the unchanged step count.
     */
    default void stepSkipped(int epoch, int stepInEpoch, long step, String what) {
    }

    /** An epoch finished; the trainer's state is at a clean boundary (a good time to checkpoint). */
    default void epochEnd(EpochResult result) {
    }
}
