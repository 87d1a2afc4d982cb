package dev.elbo4j.train;

/** Callbacks from a {@link Trainer}; every method has an empty default. */
public interface TrainListener {

    /** An epoch (0-based) starts with {@code steps} batches, of which {@code done} are already done (resume). */
    default void epochStart(int epoch, int steps, int done) {
    }

    /** Batch {@code stepInEpoch} (1-based count) of the epoch is done; {@code globalStep} counts all steps. */
    default void step(int epoch, int stepInEpoch, long globalStep) {
    }

    /** An epoch finished; the trainer's state is at a clean boundary (a good time to checkpoint). */
    default void epochEnd(EpochResult result) {
    }
}
