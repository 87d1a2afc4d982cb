package dev.elbo4j.backend;

/**
 * Pointwise activations. Each derivative is written in terms of the activation's output y, so a
 * layer keeps only its output for the backward pass.
 */
public enum Activation {
    IDENTITY, RELU, TANH, SIGMOID;

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

    public static Activation parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown activation '" + s + "' (known: identity, relu, tanh, sigmoid)");
        }
    }
}
