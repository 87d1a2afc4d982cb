package dev.elbo4j.backend.cuda;

/**
 * A 64-bit counter in device memory: the step of an RNG stream or of Adam that a replayed
 * {@link CudaGraph} must see change. Kernels bound to it ({@link CudaBackend#bindRngStep},
 * {@link CudaBackend#bindAdamStep}) read it through their {@code step_ptr} argument instead of the
 * step they were launched (or captured) with; {@link #add(long)} enqueues the increment, so it can be
 * captured as the last node of a step.
 */
public final class DeviceCounter implements AutoCloseable {
    private final CudaBackend backend;
    private final DeviceTensor cell;

    DeviceCounter(CudaBackend backend, DeviceTensor cell) {
        this.backend = backend;
        this.cell = cell;
    }

    /** The device address of the counter. */
    public long address() {
        return cell.address();
    }

    /** Enqueues counter += delta on the backend's stream (capturable). */
    public void add(long delta) {
        backend.addToCounter(this, delta);
    }

    /** Waits for pending work and reads the counter. */
    public long get() {
        return backend.readCounter(this);
    }

    /** Sets the counter (ordered after pending work). */
    public void set(long value) {
        backend.writeCounter(this, value);
    }

    DeviceTensor cell() {
        return cell;
    }

    /** Unbinds the counter from the kernels bound to it and frees its cell. */
    @Override
    public void close() {
        backend.unbind(this);
        cell.close();
    }
}
