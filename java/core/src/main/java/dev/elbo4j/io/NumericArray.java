package dev.elbo4j.io;

import java.util.Arrays;

/**
 * An n-dimensional array read from a data file (NumPy, CSV, IDX, images): its shape, outermost
 * first, and its elements in row-major order, held either as unsigned bytes ({@code u8}, values
 * 0..255) or as floats ({@code f32}, every other element type converted). Exactly one of the two
 * arrays is non-null. The arrays are shared, not copied.
 *
 * @param shape dimensions, outermost first, each >= 1 (the first is the example count)
 * @param u8 the elements as unsigned bytes, or {@code null}
 * @param f32 the elements as floats, or {@code null}
 */
public record NumericArray(int[] shape, byte[] u8, float[] f32) {

    /** The most elements one array may hold (a Java array's limit). */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16;

    /**
     * Checks that exactly one of {@code u8} and {@code f32} is given and that its length is the product of a
     * non-empty {@code shape} of positive dimensions; copies {@code shape}, shares the element array.
     *
     * @throws IllegalArgumentException naming the shape when one of those does not hold
     */
    public NumericArray {
        if ((u8 == null) == (f32 == null)) throw new IllegalArgumentException("exactly one of u8 and f32 must be given");
        if (shape.length < 1) throw new IllegalArgumentException("an array needs at least one dimension");
        shape = shape.clone();
        long count = elements(shape);
        long have = u8 != null ? u8.length : f32.length;
        if (count != have) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + count + " elements, got " + have);
        }
    }

    /**
     * The element count of {@code shape}, or -1 if a dimension is not positive or the count passes
     * {@link #MAX_ELEMENTS}. Readers call this on a file's header before allocating anything.
     */
    public static long elements(long[] shape) {
        long count = 1;
        for (long d : shape) {
            if (d < 1 || d > MAX_ELEMENTS) return -1;
            count *= d; // both factors <= MAX_ELEMENTS < 2^31: no overflow
            if (count > MAX_ELEMENTS) return -1;
        }
        return count;
    }

    private static long elements(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        long c = elements(s);
        if (c < 0) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is empty or too large");
        return c;
    }

    /** A copy of the dimensions, outermost first. */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** The number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The i-th dimension. */
    public int dim(int i) {
        return shape[i];
    }

    /** The element count. */
    public int size() {
        return u8 != null ? u8.length : f32.length;
    }

    /** Element {@code i} (row-major) as a double. */
    public double get(int i) {
        return u8 != null ? u8[i] & 0xff : f32[i];
    }

    /** Whether the elements are unsigned bytes. */
    public boolean isU8() {
        return u8 != null;
    }

    /** The shape as "60000x28x28". */
    public String shapeString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) sb.append(i > 0 ? "x" : "").append(shape[i]);
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NumericArray a && Arrays.equals(shape, a.shape) && Arrays.equals(u8, a.u8) && Arrays.equals(f32, a.f32);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + (u8 != null ? Arrays.hashCode(u8) : Arrays.hashCode(f32));
    }

    @Override
    public String toString() {
        return "NumericArray[" + shapeString() + ", " + (u8 != null ? "u8" : "f32") + "]";
    }
}
