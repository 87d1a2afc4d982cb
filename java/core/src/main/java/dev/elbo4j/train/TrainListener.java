package dev.elbo4j.train;

/**
 * Callbacks from a {@link Trainer}, on the thread that calls {@link Trainer#run}; every method has
 * an empty default, so a listener overrides only what it needs ({@code new TrainListener() {}} is
 * none; {@link PrintingListener} prints the CLI's epoch lines).
 * <ul>
 * <li>Progress: {@link #step} with {@link Trainer#runningObjective()} (call that a few times a
 *     second, not every step, on a GPU).
 * <li>The best model: in {@link #epochEnd}, feed the result to a {@link BestTracker} and
 *     {@code Checkpoint.save(path, trainer, image)} when it improved; stop early when
 *     {@link BestTracker#shouldStop()} says so ({@link Trainer#requestStop()} there: {@code run}
 *     returns before the next epoch).
 * <li>Stopping early or cancelling from another thread (a button, a shutdown hook, a signal
 *     handler): call {@link Trainer#requestStop()} there; {@link Trainer#run} returns after the
 *     step in flight, with {@link Trainer#stopped()} true. The trainer is then at a step boundary:
 *     {@code Checkpoint.save(path, trainer, image)} writes a checkpoint that resumes exactly
 *     ({@code Checkpoint c = Checkpoint.load(path)}, a new {@code Trainer} on
 *     {@code c.restoreModel(backend)} with {@code c.training()}, {@code c.restoreTraining(trainer)},
 *     then {@code run} again), or {@code run} on the same trainer goes on. To stop from a listener
 *     itself, call {@code requestStop()} in {@link #step} (the step just done is the last), or
 *     throw an unchecked exception of your own, which {@code run} passes on; {@link #step} and
 *     {@link #epochEnd} are step boundaries too, where such a checkpoint resumes exactly.
 * </ul>
 */
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
