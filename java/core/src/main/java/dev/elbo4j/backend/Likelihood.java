package dev.elbo4j.backend;

/**
 * The decoder's observation model p(x|z). The decoder's output is the logit (Bernoulli) or the
 * mean (Gaussian).
 *
 * @param kind  which family
 * @param sigma standard deviation for {@link Kind#GAUSSIAN_FIXED}; ignored otherwise
 */
public record Likelihood(Kind kind, double sigma) {

    /** The observation model's family. */
    public enum Kind {
        /** Bernoulli with logits: -log p = softplus(l) - x l, gradient sigmoid(l) - x. */
        BERNOULLI,
        /** Gaussian with a fixed sigma shared by all outputs. */
        GAUSSIAN_FIXED,
        /** Gaussian with a learned log sigma^2 per output dimension (a parameter vector). */
        GAUSSIAN_LEARNED
    }

    /**
     * Checks that a fixed Gaussian's {@code sigma} is positive and finite; other kinds ignore it.
     *
     * @throws IllegalArgumentException when it is not
     */
    public Likelihood {
        if (kind == Kind.GAUSSIAN_FIXED && !(sigma > 0 && Double.isFinite(sigma))) {
            throw new IllegalArgumentException("Gaussian sigma must be a positive finite number, got " + sigma);
        }
    }

    /** Bernoulli with the decoder's output as logits, for binary or [0, 1] data. */
    public static Likelihood bernoulli() {
        return new Likelihood(Kind.BERNOULLI, 0);
    }

    /**
     * Gaussian with the decoder's output as mean and standard deviation {@code sigma} for every pixel.
     *
     * @throws IllegalArgumentException when {@code sigma} is not positive and finite
     */
    public static Likelihood gaussian(double sigma) {
        return new Likelihood(Kind.GAUSSIAN_FIXED, sigma);
    }

    /** Gaussian with the decoder's output as mean and a learned log variance per pixel. */
    public static Likelihood gaussianLearned() {
        return new Likelihood(Kind.GAUSSIAN_LEARNED, 0);
    }

    /**
     * True for {@link Kind#GAUSSIAN_LEARNED}: the model holds a log-variance parameter vector of the input's
     * size.
     */
    public boolean learnsVariance() {
        return kind == Kind.GAUSSIAN_LEARNED;
    }

    /** log sigma^2 for the fixed Gaussian. */
    public double fixedLogVar() {
        return Math.log(sigma * sigma);
    }

    /** Short name used in checkpoints and on the command line. */
    public String id() {
        return switch (kind) {
            case BERNOULLI -> "bernoulli";
            case GAUSSIAN_FIXED -> "gaussian";
            case GAUSSIAN_LEARNED -> "gaussian-learned";
        };
    }

    /**
     * The likelihood named by {@link #id()} ({@code id} is trimmed and compared case-insensitively);
     * {@code sigma} is used by "gaussian" only.
     *
     * @throws IllegalArgumentException naming {@code id} and the known names when it is none of them, or when
     *     "gaussian" gets a {@code sigma} that is not positive and finite
     */
    public static Likelihood parse(String id, double sigma) {
        return switch (id.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "bernoulli" -> bernoulli();
            case "gaussian" -> gaussian(sigma);
            case "gaussian-learned" -> gaussianLearned();
            default -> throw new IllegalArgumentException(
                    "unknown likelihood '" + id + "' (known: bernoulli, gaussian, gaussian-learned)");
        };
    }
}
