package dev.elbo4j.train;

/**
 * A training step produced a NaN or infinite loss or gradient, or found a non-finite parameter
 * (the update was then not applied: the model and optimizer hold the state after the last good
 * step); or an update overflowed although the gradients were finite (the parameters in memory are
 * then lost); or a checkpoint was about to be written with a non-finite tensor (it was not). The
 * message says which, and which step's parameters are kept.
 */
public final class NonFiniteException extends IllegalStateException {
    /** The 1-based number of the optimizer step that failed. */
    private final long step;
    /** The first tensor found non-finite. */
    private final String tensor;

    NonFiniteException(String message, long step, String tensor) {
        super(message);
        this.step = step;
        this.tensor = tensor;
    }

    /** The 1-based number of the optimizer step that failed (the steps taken before it, plus one). */
    public long step() {
        return step;
    }

    /** The first tensor found non-finite, e.g. {@code "gradient of decoder.1.weight"} or {@code "loss"}. */
    public String tensor() {
        return tensor;
    }
}
