package dev.elbo4j.backend;

/**
 * Pointwise activations. Each derivative is written in terms of the activation's output y, so a
 * layer keeps only its output for the backward pass.
 */
public enum Activation {
    /** y = x. */
    IDENTITY,
    /** y = max(x, 0); its derivative at 0 is taken as 0. */
    RELU,
    /** y = tanh(x). */
    TANH,
    /** y = 1 / (1 + exp(-x)), computed stably ({@link #sigmoid}). */
    SIGMOID;

    /** The activation of {@code x}. */
    public double apply(double x) {
        return switch (this) {
            case IDENTITY -> x;
            case RELU -> x > 0 ? x : 0;
            case TANH -> Math.tanh(x);
            case SIGMOID -> sigmoid(x);
        };
    }

    /** dy/dx expressed through y = apply(x). */
    public double derivativeFromOutput(double y) {
        return switch (this) {
            case IDENTITY -> 1;
            case RELU -> y > 0 ? 1 : 0;
            case TANH -> 1 - y * y;
            case SIGMOID -> y * (1 - y);
        };
    }

    /** Numerically stable logistic function. */
    public static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /**
     * The activation named {@code s}, case-insensitively: identity, relu, tanh or sigmoid.
     *
     * @throws IllegalArgumentException naming {@code s} and the known names when it is none of them
     */
    public static Activation parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown activation '" + s + "' (known: identity, relu, tanh, sigmoid)");
        }
    }
}
