package dev.elbo4j.backend;

/**
 * The decoder's observation model p(x|z). The decoder's output is the logit (Bernoulli) or the
 * mean (Gaussian).
 *
 * @param kind  which family
 * @param sigma standard deviation for {@link Kind#GAUSSIAN_FIXED}; ignored otherwise
 */
public record Likelihood(Kind kind, double sigma) {

    public enum Kind {
        /** Bernoulli with logits: -log p = softplus(l) - x l, gradient sigmoid(l) - x. */
        BERNOULLI,
        /** Gaussian with a fixed sigma shared by all outputs. */
        GAUSSIAN_FIXED,
        /** Gaussian with a learned log sigma^2 per output dimension (a parameter vector). */
        GAUSSIAN_LEARNED
    }

    public Likelihood {
        if (kind == Kind.GAUSSIAN_FIXED && !(sigma > 0 && Double.isFinite(sigma))) {
            throw new IllegalArgumentException("Gaussian sigma must be a positive finite number, got " + sigma);
        }
    }

    public static Likelihood bernoulli() {
        return new Likelihood(Kind.BERNOULLI, 0);
    }

    public static Likelihood gaussian(double sigma) {
        return new Likelihood(Kind.GAUSSIAN_FIXED, sigma);
    }

    public static Likelihood gaussianLearned() {
        return new Likelihood(Kind.GAUSSIAN_LEARNED, 0);
    }

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
