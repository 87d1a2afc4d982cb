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
 * the optimizer runs as one operation (one kernel launch on a GPU). Each named parameter is a view.
 * Names and order are those of the checkpoint.
 */
public final class Parameters implements AutoCloseable {

    /** How a parameter starts: uniform in [-bound, bound] from the seeded Philox, or a constant. */
    public record Init(double bound, double constant) {
        public static Init uniform(double bound) {
            return new Init(bound, 0);
        }

        public static Init constant(double c) {
            return new Init(0, c);
        }
    }

    /** A declared parameter. */
    public record Spec(String name, Shape shape, Init init, int offset) {
    }

    /** Collects parameter declarations before one allocation. */
    public static final class Builder {
        private final Map<String, Spec> specs = new LinkedHashMap<>();
        private int size;

        /** Declares a parameter; returns its index. */
        public int add(String name, Shape shape, Init init) {
            if (specs.containsKey(name)) {
                throw new IllegalArgumentException("duplicate parameter name " + name);
            }
            if ((long) size + shape.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("more than 2^31-1 parameters in all");
            }
            specs.put(name, new Spec(name, shape, init, size));
            size += shape.size();
            return specs.size() - 1;
        }

        /** The declarations so far, in order. */
        public List<Spec> specs() {
            return List.copyOf(specs.values());
        }

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

    public List<Spec> specs() {
        return Collections.unmodifiableList(specs);
    }

    public int size() {
        return values.size();
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

    public Tensor value(String name) {
        Spec s = spec(name);
        return values.view(s.offset(), s.shape());
    }

    public Tensor grad(String name) {
        Spec s = spec(name);
        return grads.view(s.offset(), s.shape());
    }

    public List<String> names() {
        List<String> n = new ArrayList<>(byName.keySet());
        return Collections.unmodifiableList(n);
    }

    public Backend backend() {
        return backend;
    }

    @Override
    public void close() {
        values.close();
        grads.close();
    }
}
