package dev.elbo4j.io;

/**
 * How a data set's values map to the 256 levels elbo4j trains on: level {@code L} (0..255)
 * stands for the value {@code min + (max - min) * L / 255}, and a model's output {@code v} in
 * [0, 1] for {@code min + (max - min) * v}. Unsigned bytes are {@code (0, 255)} (the identity);
 * floats already in [0, 1] are {@code (0, 1)}; other numbers are mapped from the training split's
 * own minimum and maximum (test values outside that range are clamped to it). Values between
 * levels are rounded to the nearest one: 8 bits of resolution over the data's range.
 *
 * @param min the value of level 0
 * @param max the value of level 255 (greater than min)
 */
public record Scaling(double min, double max) {

    /** The identity on unsigned bytes. */
    public static final Scaling BYTES = new Scaling(0, 255);
    /** Floats in [0, 1]. */
    public static final Scaling UNIT = new Scaling(0, 1);

    /**
     * Checks that both ends are finite and {@code max > min}.
     *
     * @throws IllegalArgumentException when they are not
     */
    public Scaling {
        if (!(max > min) || !Double.isFinite(min) || !Double.isFinite(max)) {
            throw new IllegalArgumentException("a scaling needs finite min < max, got " + min + ", " + max);
        }
    }

    /** The level (0..255) of value {@code x}, rounded, clamped to the range. */
    public int level(double x) {
        double l = Math.rint((x - min) / (max - min) * 255);
        return l <= 0 ? 0 : l >= 255 ? 255 : (int) l;
    }

    /** The data value of a model output {@code v} in [0, 1]. */
    public double value(double v) {
        return min + (max - min) * v;
    }

    /** Undoes the scaling on {@code values} (model outputs in [0, 1]), in place; returns them. */
    public float[] undo(float[] values) {
        for (int i = 0; i < values.length; i++) values[i] = (float) value(values[i]);
        return values;
    }
}
