package dev.elbo4j.tensor;

/**
 * A typed, shaped window onto memory owned by one backend (a Java array on the CPU, device
 * memory on a GPU). Tensors are created by a {@link dev.elbo4j.backend.Backend}; only that
 * backend reads their contents. A view shares its parent's memory; closing a view is a no-op,
 * closing an owning tensor frees its memory.
 */
public abstract class Tensor implements AutoCloseable {
    private final DType dtype;
    private final Shape shape;

    /** For backends: a tensor of {@code dtype} with {@code shape}; the subclass holds the memory. */
    protected Tensor(DType dtype, Shape shape) {
        this.dtype = dtype;
        this.shape = shape;
    }

    /** The element type. */
    public final DType dtype() {
        return dtype;
    }

    /** The dimensions, row-major. */
    public final Shape shape() {
        return shape;
    }

    /** The number of elements, {@code shape().size()}. */
    public final int size() {
        return shape.size();
    }

    /** Everything but the last dimension, flattened: the row count of the row-major matrix view. */
    public final int rows() {
        return shape.rows();
    }

    /** The last dimension: the row length of the row-major matrix view. */
    public final int cols() {
        return shape.cols();
    }

    /** A view of {@code shape.size()} elements starting at element {@code offset} of this tensor. */
    public abstract Tensor view(int offset, Shape shape);

    /**
     * {@link #view(int, Shape)} with {@code Shape.of(dims)}.
     *
     * @throws IllegalArgumentException when the view would reach past this tensor's elements
     */
    public final Tensor view(int offset, int... dims) {
        return view(offset, Shape.of(dims));
    }

    /** Rows {@code [from, from + count)} of this row-major matrix, as a matrix view. */
    public final Tensor rowSlice(int from, int count) {
        if (from < 0 || count < 0 || from + count > rows()) {
            throw new IllegalArgumentException("rows [" + from + ", " + (from + count) + ") outside " + shape);
        }
        return view(from * cols(), count, cols());
    }

    /** The same elements with another shape of equal size. */
    public final Tensor reshape(int... dims) {
        Shape s = Shape.of(dims);
        if (s.size() != size()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " to " + s);
        }
        return view(0, s);
    }

    /**
     * For subclasses' {@link #view(int, Shape)}: checks that {@code s.size()} elements from element
     * {@code offset} lie inside this tensor.
     *
     * @throws IllegalArgumentException naming the view and this shape when they do not
     */
    protected final void checkView(int offset, Shape s) {
        if (offset < 0 || (long) offset + s.size() > size()) {
            throw new IllegalArgumentException("view of " + s + " at " + offset + " exceeds " + shape);
        }
    }

    /**
     * Frees the memory of an owning tensor; closing a view does nothing. This base implementation does nothing;
     * backends' tensors override it.
     */
    @Override
    public void close() {
    }

    /** For messages: the class, dtype and shape. */
    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + dtype + " " + shape + ")";
    }
}
