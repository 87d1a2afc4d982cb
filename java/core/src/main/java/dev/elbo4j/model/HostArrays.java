package dev.elbo4j.model;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * The checks on what a caller hands a model (tensors it uploaded, or plain host arrays), and the
 * upload of host arrays behind the {@code float[]} overloads of the model interfaces. Every message
 * names the argument and says what the model takes.
 */
final class HostArrays {
    private HostArrays() {
    }

    /** {@code t} is N x {@code cols} (N >= 1) in the model's precision; {@code what} says what a row holds. */
    static void checkBatch(Model m, String name, Tensor t, int cols, String what) {
        if (t == null) throw new IllegalArgumentException(name + " must not be null");
        if (t.dtype() != m.dtype()) {
            throw new IllegalArgumentException(name + " is " + t.dtype() + " but this " + m.config().type() + " model computes in "
                    + m.dtype() + ": upload " + (m.dtype() == DType.F64 ? "a double[]" : "a float[]")
                    + ", or pass the host array to the float[] overload");
        }
        if (t.shape().rank() > 2 || t.cols() != cols || t.rows() < 1) {
            throw new IllegalArgumentException(name + " has shape " + t.shape() + "; this " + m.config().type() + " model takes N x "
                    + cols + " (one example per row, " + cols + " " + what + " each)");
        }
    }

    /**
     * Host array {@code v}, row-major examples of {@code cols} values, as an N x cols tensor on the
     * model's backend in its precision (the caller closes it). Refuses a length that is not a whole
     * number of examples and values that are not finite, naming the first.
     */
    static Tensor upload(Model m, String name, float[] v, int cols, String what) {
        if (v == null) throw new IllegalArgumentException(name + " must not be null");
        if (v.length == 0 || v.length % cols != 0) {
            throw new IllegalArgumentException(name + " has " + v.length + " values, not a whole number of examples of "
                    + cols + " " + what + " (this " + m.config().type() + " model takes N x " + cols + ", row-major)");
        }
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] (example " + i / cols + ", value " + i % cols + ") is "
                        + v[i] + "; every value must be finite");
            }
        }
        Shape s = Shape.of(v.length / cols, cols);
        if (m.dtype() == DType.F64) {
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) d[i] = v[i];
            return m.backend().upload(d, s);
        }
        return m.backend().upload(v, s);
    }

    /**
     * Host array {@code x} of examples, {@link #upload}ed as N x D (D the model's input dimension),
     * after checking that every value lies in [0, 1], the scale every model trains on (a
     * {@link dev.elbo4j.io.Dataset} holds its pixels as 0..255 and hands them over divided by 255):
     * raw 0..255 pixels, or values in another unit, would otherwise be encoded into meaningless codes
     * without a word.
     */
    static Tensor uploadInputs(Model m, String name, float[] x) {
        int cols = m.config().inputDim();
        if (x != null && x.length > 0 && x.length % cols == 0) {
            for (int i = 0; i < x.length; i++) {
                if (!(x[i] >= 0 && x[i] <= 1)) {
                    throw new IllegalArgumentException(name + "[" + i + "] (example " + i / cols + ", value " + i % cols + ") is "
                            + x[i] + "; this " + m.config().type() + " model takes values in [0, 1], the scale of its training data"
                            + " (pixels 0..255 divided by 255; Dataset.floats gives examples on that scale)");
                }
            }
        }
        return upload(m, name, x, cols, "values");
    }

    /**
     * Class labels 0..C-1 of {@code rows} examples as one-hot rows on the model's backend (the caller
     * closes it), or null when {@code labels} is null. An unconditional model refuses labels; a
     * model that needs them ({@code required}) refuses null.
     */
    static Tensor oneHot(Model m, String name, int[] labels, int rows, boolean required) {
        int c = m.config().classes();
        if (labels == null) {
            if (required && c > 0) {
                throw new IllegalArgumentException(name + " must not be null: a " + m.config().type() + " model needs the class (0.."
                        + (c - 1) + ") of each example");
            }
            return null;
        }
        if (m.config().labelUse() == LabelUse.NONE || c < 1) {
            throw new IllegalArgumentException("a " + m.config().type() + " model is unconditional: pass null " + name);
        }
        if (labels.length != rows) {
            throw new IllegalArgumentException(name + " has " + labels.length + " labels for " + rows + " examples; give one per example");
        }
        float[] hot = new float[rows * c];
        for (int i = 0; i < rows; i++) {
            if (labels[i] < 0 || labels[i] >= c) {
                throw new IllegalArgumentException(name + "[" + i + "] is " + labels[i] + "; this model knows classes 0.." + (c - 1));
            }
            hot[i * c + labels[i]] = 1;
        }
        return upload(m, name, hot, c, "one-hot values");
    }
}
