package dev.elbo4j.tensor;

import java.util.Arrays;

/**
 * Dimensions of a tensor, row-major. Immutable; validated on construction.
 *
 * @param dims the dimensions, outermost first: 1 to 4, each >= 0
 */
public record Shape(int[] dims) {

    /**
     * Checks and copies {@code dims}: 1 to 4 dimensions, none negative, at most 2^31-1 elements in all.
     *
     * @throws IllegalArgumentException when one of those does not hold
     */
    public Shape {
        if (dims.length == 0 || dims.length > 4) {
            throw new IllegalArgumentException("a shape has 1 to 4 dimensions, got " + dims.length);
        }
        dims = dims.clone();
        long n = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more than 2^31-1 elements");
            }
        }
    }

    /**
     * The shape with these dimensions, outermost first ({@code of(b, d)}: b rows of d).
     *
     * @throws IllegalArgumentException as the constructor
     */
    public static Shape of(int... dims) {
        return new Shape(dims);
    }

    /** A copy of the dimensions, outermost first. */
    @Override
    public int[] dims() {
        return dims.clone();
    }

    /** The number of dimensions, 1 to 4. */
    public int rank() {
        return dims.length;
    }

    /**
     * Dimension {@code i} (0 is the outermost).
     *
     * @throws ArrayIndexOutOfBoundsException when {@code i} is not in [0, rank())
     */
    public int dim(int i) {
        return dims[i];
    }

    /** Number of elements. */
    public int size() {
        int n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** The last dimension: the row length of a row-major matrix view. */
    public int cols() {
        return dims[dims.length - 1];
    }

    /** Everything but the last dimension, flattened. */
    public int rows() {
        int c = cols();
        return c == 0 ? 0 : size() / c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
