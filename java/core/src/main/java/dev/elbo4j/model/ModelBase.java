package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * What every model family holds the same way: its backend, architecture, precision and the flat
 * parameter buffer built from {@link ModelConfig#parameterLayout()}. Families extend it and add
 * their networks and their {@link TrainStep}.
 *
 * @param <C> the family's config
 */
public abstract class ModelBase<C extends ModelConfig> implements Model {
    /** The backend that holds the parameters and runs every operation. */
    protected final Backend backend;
    /** The architecture. */
    protected final C cfg;
    /** F32 or F64: the type of the parameters and of every buffer. */
    protected final DType dtype;
    /** The flat parameter buffer with its gradients, owned by the model ({@link #close} frees it). */
    protected final Parameters params;

    /** Allocates the parameters of {@code cfg} on {@code backend}, initialised from {@code seed}. */
    protected ModelBase(Backend backend, C cfg, DType dtype, long seed) {
        if (dtype != DType.F32 && dtype != DType.F64) throw new IllegalArgumentException("a model is F32 or F64, not " + dtype);
        this.backend = backend;
        this.cfg = cfg;
        this.dtype = dtype;
        this.params = cfg.parameterLayout().build(backend, dtype, seed);
    }

    @Override
    public C config() {
        return cfg;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Parameters parameters() {
        return params;
    }

    /**
     * Refuses a model that was closed: its parameters (on a GPU, device memory) are gone, and a
     * call would read freed memory instead of failing.
     */
    protected final void checkOpen() {
        if (params.isClosed()) {
            throw new IllegalStateException("this " + cfg.type() + " model was closed; create or restore it again to use it");
        }
    }

    /** What {@code sample} checks first: the model is open and the noise key is given. */
    protected final void checkSampling(dev.elbo4j.rng.RngKey key) {
        checkOpen();
        if (key == null) {
            throw new IllegalArgumentException("key must not be null: the samples' noise comes from it, e.g. new RngKey(seed, Streams.SAMPLE, 0)");
        }
    }

    /**
     * Checks a batch a caller passes in, {@code name} (x, z, y) holding one example of {@code cols}
     * values ({@code what}) per row in the model's precision, and that the model is open.
     */
    protected final void checkBatch(String name, Tensor t, int cols, String what) {
        checkOpen();
        HostArrays.checkBatch(this, name, t, cols, what);
    }

    /** Frees the parameters; families with more device memory free it too. */
    @Override
    public void close() {
        params.close();
    }
}
