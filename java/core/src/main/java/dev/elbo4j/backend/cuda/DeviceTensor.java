package dev.elbo4j.backend.cuda;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A tensor in device memory: a window of {@code shape.size()} elements starting {@code offset}
 * elements into one allocation of a {@link CudaBackend}. A view shares the allocation and closing it
 * does nothing; closing the owning tensor frees the allocation (and makes its views unusable).
 * Closing the backend frees every allocation still live.
 */
public final class DeviceTensor extends Tensor {
    private final Allocation memory;
    private final long offset;
    private final boolean owner;

    DeviceTensor(Allocation memory, DType dtype, Shape shape, long offset, boolean owner) {
        super(dtype, shape);
        this.memory = memory;
        this.offset = offset;
        this.owner = owner;
    }

    /** The device address of element 0 (0 for an empty tensor). */
    public long address() {
        memory.checkLive();
        return memory.address == 0 ? 0 : memory.address + offset * dtype().bytes();
    }

    /** Bytes this tensor spans. */
    public long bytes() {
        return (long) size() * dtype().bytes();
    }

    /** Element offset of this view into its allocation. */
    public long offset() {
        return offset;
    }

    /** Whether this tensor is a view (closing it frees nothing). */
    public boolean isView() {
        return !owner;
    }

    /** The backend that owns the memory. */
    public CudaBackend backend() {
        return memory.backend;
    }

    Allocation allocation() {
        return memory;
    }

    /** Whether the byte ranges of two tensors intersect (same allocation, overlapping windows). */
    boolean overlaps(DeviceTensor o) {
        if (memory != o.memory || bytes() == 0 || o.bytes() == 0) return false;
        long a0 = offset * dtype().bytes(), a1 = a0 + bytes();
        long b0 = o.offset * o.dtype().bytes(), b1 = b0 + o.bytes();
        return a0 < b1 && b0 < a1;
    }

    @Override
    public Tensor view(int offset, Shape shape) {
        checkView(offset, shape);
        return new DeviceTensor(memory, dtype(), shape, this.offset + offset, false);
    }

    /** Frees the allocation if this tensor owns it; a view's close does nothing. */
    @Override
    public void close() {
        if (owner) memory.free();
    }

    /** For messages: dtype, shape, and the offset of a view. */
    @Override
    public String toString() {
        return "DeviceTensor(" + dtype() + " " + shape() + (owner ? "" : " view@" + offset) + ")";
    }

    /** One cuMemAlloc of a backend; address 0 for an empty one. */
    static final class Allocation {
        final CudaBackend backend;
        final long address;
        final long bytes;
        private boolean freed;

        Allocation(CudaBackend backend, long address, long bytes) {
            this.backend = backend;
            this.address = address;
            this.bytes = bytes;
        }

        void checkLive() {
            if (freed) throw new IllegalStateException("device tensor used after its memory was freed (tensor or backend closed)");
        }

        boolean freed() {
            return freed;
        }

        /** Frees once; later calls do nothing. */
        void free() {
            if (freed) return;
            freed = true;
            backend.release(this);
        }

        /** Marks freed without a driver call (the backend freed it itself while closing). */
        void markFreed() {
            freed = true;
        }
    }
}
