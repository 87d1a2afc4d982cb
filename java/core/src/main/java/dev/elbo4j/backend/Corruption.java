package dev.elbo4j.backend;

import java.util.Locale;

/**
 * How a denoising autoencoder corrupts its input before encoding it ({@link Backend#corrupt}). The
 * loss always compares the reconstruction with the clean input.
 */
public enum Corruption {
    /** No corruption: the input as it is. */
    NONE,
    /** Additive Gaussian noise: x + level * eps, eps ~ N(0, 1) per pixel. */
    GAUSSIAN,
    /** Masking noise: each pixel set to 0 with probability level (0 &lt;= level &lt; 1), else kept. */
    MASK;

    /** The name used on the command line and in checkpoints: "none", "gaussian", "mask". */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The inverse of {@link #id}; throws IllegalArgumentException listing the known names. */
    public static Corruption parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "gaussian" -> GAUSSIAN;
            case "mask" -> MASK;
            default -> throw new IllegalArgumentException("unknown corruption '" + s + "' (known: none, gaussian, mask)");
        };
    }

    /**
     * Checks a corruption level for this kind: 0 for {@link #NONE}, finite and >= 0 for
     * {@link #GAUSSIAN}, in [0, 1) for {@link #MASK}; throws IllegalArgumentException otherwise.
     */
    public void checkLevel(double level) {
        boolean ok = switch (this) {
            case NONE -> level == 0;
            case GAUSSIAN -> level >= 0 && Double.isFinite(level);
            case MASK -> level >= 0 && level < 1;
        };
        if (!ok) {
            throw new IllegalArgumentException("corruption level for " + id() + " must be " + switch (this) {
                case NONE -> "0 (no corruption)";
                case GAUSSIAN -> "a finite number >= 0";
                case MASK -> "in [0, 1)";
            } + ", got " + level);
        }
    }
}
