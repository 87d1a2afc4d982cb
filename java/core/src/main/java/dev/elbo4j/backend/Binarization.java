package dev.elbo4j.backend;

/** How a batch gather turns 8-bit grey levels into model inputs. */
public enum Binarization {
    /** x = pixel / 255, grey levels in [0, 1]. */
    NONE,
    /** x ~ Bernoulli(pixel / 255), a fresh draw for every (example, epoch). */
    DYNAMIC,
    /** x ~ Bernoulli(pixel / 255), drawn once per (example, seed) and the same in every epoch. */
    FIXED;

    /**
     * The binarisation named {@code s}, case-insensitively: none, dynamic or fixed.
     *
     * @throws IllegalArgumentException naming {@code s} and the known names when it is none of them
     */
    public static Binarization parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown binarization '" + s + "' (known: none, dynamic, fixed)");
        }
    }
}
