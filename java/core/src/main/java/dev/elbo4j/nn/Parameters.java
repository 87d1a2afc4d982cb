package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All of a model's parameters in one flat buffer, with a gradient buffer of the same layout, so
 * the optimizer runs as one operation (one kernel launch on a GPU). Each named parameter is a view
 * that starts at a multiple of {@link #ALIGN} elements (256 bytes in F32): a bias row loads as
 * {@code float4}, and cuBLAS gets aligned operands. The gaps between views are zero in the values,
 * the gradients and the optimizer moments (all zero-filled at allocation, never written by a view),
 * and Adam maps a zero gradient, moment and value to zero, so they stay exactly zero and change no
 * figure of a parameter. Names and order are those of the checkpoint, which stores each parameter
 * by name and the optimizer moments densely ({@link #dense}, {@link #padded}): the format does not
 * depend on the padding.
 */
public final class Parameters implements AutoCloseable {
    private volatile boolean closed;

    /** Each view's offset is a multiple of this many elements: 256 bytes of F32 (512 of F64). */
    public static final int ALIGN = 64;

    /** The alignment {@link Builder#add} uses: {@link #ALIGN}; 1 (no gaps) only in the test that shows the gaps change nothing. */
    static int alignment = ALIGN;

    /**
     * How a parameter starts: uniform in [-bound, bound] from the seeded Philox, or a constant.
     *
     * @param bound    the half-width of the uniform range; 0: the constant
     * @param constant the value of every element when {@code bound} is 0
     */
    public record Init(double bound, double constant) {
        /** Uniform in [-bound, bound]. */
        public static Init uniform(double bound) {
            return new Init(bound, 0);
        }

        /** The constant {@code c}. */
        public static Init constant(double c) {
            return new Init(0, c);
        }
    }

    /**
     * A declared parameter.
     *
     * @param name   the parameter's name, e.g. "encoder.0.weight"
     * @param shape  its shape, row-major
     * @param init   how it starts
     * @param offset its first element in the flat buffers, a multiple of {@link #ALIGN}
     */
    public record Spec(String name, Shape shape, Init init, int offset) {
    }

    /** Collects parameter declarations before one allocation. */
    public static final class Builder {
        private final Map<String, Spec> specs = new LinkedHashMap<>();
        private int size;

        /** An empty layout: no parameter declared yet. */
        public Builder() {
        }

        /** Declares a parameter at the next multiple of {@link #ALIGN}; returns its index. */
        public int add(String name, Shape shape, Init init) {
            if (specs.containsKey(name)) {
                throw new IllegalArgumentException("duplicate parameter name " + name);
            }
            long offset = (size + (long) alignment - 1) / alignment * alignment;
            if (offset + shape.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("more than 2^31-1 parameters in all (with their alignment)");
            }
            specs.put(name, new Spec(name, shape, init, (int) offset));
            size = (int) offset + shape.size();
            return specs.size() - 1;
        }

        /** The declarations so far, in order. */
        public List<Spec> specs() {
            return List.copyOf(specs.values());
        }

        /** The number of parameter values declared so far (without the alignment padding). */
        public long count() {
            long n = 0;
            for (Spec s : specs.values()) n += s.shape().size();
            return n;
        }

        /**
         * Allocates the values, initialised from {@code seed} (parameter i draws from the Philox key
         * (seed, INIT, i)), and the zeroed gradients on {@code backend}. The caller owns the result and
         * closes it.
         */
        public Parameters build(Backend backend, DType dtype, long seed) {
            return new Parameters(backend, dtype, List.copyOf(specs.values()), size, seed);
        }
    }

    private final Backend backend;
    private final List<Spec> specs;
    private final Map<String, Spec> byName = new LinkedHashMap<>();
    private final Tensor values;
    private final Tensor grads;

    private Parameters(Backend backend, DType dtype, List<Spec> specs, int size, long seed) {
        this.backend = backend;
        this.specs = specs;
        for (Spec s : specs) byName.put(s.name(), s);
        float[] host = new float[size];
        for (int p = 0; p < specs.size(); p++) {
            Spec s = specs.get(p);
            if (s.init().bound() > 0) {
                Philox.uniforms(new RngKey(seed, Streams.INIT, p), 0, host, s.offset(), s.shape().size());
                double b = s.init().bound();
                for (int k = s.offset(); k < s.offset() + s.shape().size(); k++) host[k] = (float) ((2 * host[k] - 1) * b);
            } else {
                java.util.Arrays.fill(host, s.offset(), s.offset() + s.shape().size(), (float) s.init().constant());
            }
        }
        Shape flat = Shape.of(size);
        if (dtype == DType.F32) {
            this.values = backend.upload(host, flat);
        } else {
            double[] d = new double[size];
            for (int k = 0; k < size; k++) d[k] = host[k];
            this.values = backend.upload(d, flat);
        }
        this.grads = backend.alloc(dtype, flat);
    }

    /** The declared parameters, in order; unmodifiable. */
    public List<Spec> specs() {
        return Collections.unmodifiableList(specs);
    }

    /** Elements of the flat buffers: the parameters and the gaps that align them. */
    public int size() {
        return values.size();
    }

    /** The number of parameters (the views' elements, without the gaps). */
    public int count() {
        int n = 0;
        for (Spec s : specs) n += s.shape().size();
        return n;
    }

    /** The parameters of a flat-layout array ({@link #size()} elements) in declaration order, without the gaps. */
    public float[] dense(float[] flat) {
        if (flat.length != size()) throw new IllegalArgumentException("a flat array of " + size() + " elements, got " + flat.length);
        float[] d = new float[count()];
        int at = 0;
        for (Spec s : specs) {
            System.arraycopy(flat, s.offset(), d, at, s.shape().size());
            at += s.shape().size();
        }
        return d;
    }

    /** {@link #dense(float[])} of an F64 buffer's values. */
    public double[] dense(double[] flat) {
        if (flat.length != size()) throw new IllegalArgumentException("a flat array of " + size() + " elements, got " + flat.length);
        double[] d = new double[count()];
        int at = 0;
        for (Spec s : specs) {
            System.arraycopy(flat, s.offset(), d, at, s.shape().size());
            at += s.shape().size();
        }
        return d;
    }

    /** {@link #padded(float[])} for an F64 buffer. */
    public double[] padded(double[] dense) {
        if (dense.length != count()) throw new IllegalArgumentException(count() + " parameters, got " + dense.length);
        double[] f = new double[size()];
        int at = 0;
        for (Spec s : specs) {
            System.arraycopy(dense, at, f, s.offset(), s.shape().size());
            at += s.shape().size();
        }
        return f;
    }

    /** The inverse of {@link #dense}: a flat-layout array with zero gaps. */
    public float[] padded(float[] dense) {
        if (dense.length != count()) throw new IllegalArgumentException(count() + " parameters, got " + dense.length);
        float[] f = new float[size()];
        int at = 0;
        for (Spec s : specs) {
            System.arraycopy(dense, at, f, s.offset(), s.shape().size());
            at += s.shape().size();
        }
        return f;
    }

    /** The flat parameter buffer. */
    public Tensor values() {
        return values;
    }

    /** The flat gradient buffer, laid out like {@link #values()}. */
    public Tensor grads() {
        return grads;
    }

    private Spec spec(String name) {
        Spec s = byName.get(name);
        if (s == null) throw new IllegalArgumentException("no parameter named " + name + " (have " + byName.keySet() + ")");
        return s;
    }

    /**
     * The values of parameter {@code name}: a view of the flat buffer, valid until {@link #close()}.
     *
     * @throws IllegalArgumentException naming the parameter and the known names when there is none of that name
     */
    public Tensor value(String name) {
        Spec s = spec(name);
        return values.view(s.offset(), s.shape());
    }

    /**
     * The gradient of parameter {@code name}: a view of the flat gradient buffer, valid until {@link #close()}.
     *
     * @throws IllegalArgumentException naming the parameter and the known names when there is none of that name
     */
    public Tensor grad(String name) {
        Spec s = spec(name);
        return grads.view(s.offset(), s.shape());
    }

    /** The parameter names, in declaration (checkpoint) order; unmodifiable. */
    public List<String> names() {
        List<String> n = new ArrayList<>(byName.keySet());
        return Collections.unmodifiableList(n);
    }

    /** The backend holding the buffers. */
    public Backend backend() {
        return backend;
    }

    /** Whether {@link #close()} was called: the model that owns these parameters can no longer be used. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Frees the value and gradient buffers; every view from {@link #value} and {@link #grad} is invalid
     * afterwards.
     */
    @Override
    public void close() {
        closed = true;
        values.close();
        grads.close();
    }
}
