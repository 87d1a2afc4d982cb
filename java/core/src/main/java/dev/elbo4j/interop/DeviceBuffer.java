package dev.elbo4j.interop;

import java.lang.foreign.MemorySegment;

/**
 * A caller-owned device buffer: its device address and, when known, its size in bytes
 * ({@link #UNKNOWN_SIZE} otherwise). elbo4j never allocates, frees or keeps a buffer: it only
 * reads and writes it inside the kernels it enqueues. A known size lets {@link ElboKernels} check
 * that the buffer holds the elements a call needs; an unknown one (a raw pointer) is trusted.
 *
 * @param address the device address (a {@code CUdeviceptr}, {@code tensor.data_ptr()}, ...); 0 is null
 * @param bytes   the buffer's size in bytes, or {@link #UNKNOWN_SIZE}
 */
public record DeviceBuffer(long address, long bytes) {
    /** The size of a buffer made from a bare address. */
    public static final long UNKNOWN_SIZE = -1;

    /**
     * Checks the size: non-negative, or {@link #UNKNOWN_SIZE}.
     *
     * @throws IllegalArgumentException for any other negative size
     */
    public DeviceBuffer {
        if (bytes < 0 && bytes != UNKNOWN_SIZE) throw new IllegalArgumentException("negative buffer size " + bytes);
    }

    /** A raw device address of unknown size. */
    public static DeviceBuffer of(long address) {
        return new DeviceBuffer(address, UNKNOWN_SIZE);
    }

    /** A raw device address and its size in bytes. */
    public static DeviceBuffer of(long address, long bytes) {
        return new DeviceBuffer(address, bytes);
    }

    /**
     * A native {@link MemorySegment} whose address is a device address (for example one made with
     * {@code MemorySegment.ofAddress(devicePtr).reinterpret(bytes)}, or one of CUDA managed
     * memory): its address and byte size. Only the two numbers are read; elbo4j never dereferences
     * the segment on the host.
     *
     * @throws IllegalArgumentException for a heap segment, which has no device address
     */
    public static DeviceBuffer of(MemorySegment segment) {
        if (segment == null) throw new IllegalArgumentException("null MemorySegment");
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a heap MemorySegment has no device address; pass a native segment"
                    + " whose address is device memory");
        }
        return new DeviceBuffer(segment.address(), segment.byteSize());
    }

    /** Whether the size is known. */
    public boolean sized() {
        return bytes != UNKNOWN_SIZE;
    }

    /** The buffer advanced by {@code byteOffset} (the size shrinks accordingly when known). */
    public DeviceBuffer plus(long byteOffset) {
        if (byteOffset < 0 || (sized() && byteOffset > bytes)) {
            throw new IllegalArgumentException("offset " + byteOffset + " outside a buffer of " + bytes + " bytes");
        }
        return new DeviceBuffer(address + byteOffset, sized() ? bytes - byteOffset : UNKNOWN_SIZE);
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(address) + (sized() ? " (" + bytes + " bytes)" : "");
    }
}
