package dev.elbo4j.train;

import java.util.Locale;

/**
 * What a {@link Trainer} does when a step's loss or gradients are not finite (NaN or infinite).
 * Either way the update is not applied, so the parameters and Adam's moments stay those of the
 * last good step (and so does any checkpoint written after it).
 */
public enum NanPolicy {
    /** Throw a {@link NonFiniteException} naming the step and the first tensor that went bad. */
    STOP,
    /**
     * Drop the batch: no update, no loss accumulated, the step counter unchanged; training goes on.
     * Still stops if a parameter itself is non-finite, since no later step could recover from that.
     */
    SKIP;

    /** Parses {@code stop} or {@code skip} (any case). */
    public static NanPolicy parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "stop" -> STOP;
            case "skip" -> SKIP;
            default -> throw new IllegalArgumentException("unknown NaN policy '" + s + "' (expected stop or skip)");
        };
    }
}
