package dev.elbo4j.train;

/**
 * A checkpoint holds another kind of model than the caller asked for
 * ({@link Checkpoint#restoreModel(dev.elbo4j.backend.Backend, Class)}): the message says which
 * family the file holds and why the other is needed.
 */
public final class WrongModelException extends IllegalArgumentException {
    /** The family the checkpoint holds, as its metadata names it. */
    private final String held;

    WrongModelException(String message, String held) {
        super(message);
        this.held = held;
    }

    /** The family the checkpoint holds, as its metadata names it ("vae", "ae", ...). */
    public String held() {
        return held;
    }
}
