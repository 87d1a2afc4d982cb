package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.interop.DeviceBuffer;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.runtime.cudaStream_t;

/**
 * JCuda handles for {@link dev.elbo4j.interop.ElboKernels}: a {@link jcuda.driver.CUdeviceptr}
 * (or any device {@link Pointer}, including one made with {@code withByteOffset}) as a
 * {@link DeviceBuffer}, a {@link CUstream} or {@link cudaStream_t} as the {@code long} stream
 * handle. Only the numbers are taken: the JCuda objects stay the caller's, and so do the memory
 * and the stream they name.
 */
public final class JCudaInterop {
    private JCudaInterop() {
    }

    /** A device pointer of unknown size (its native pointer plus its byte offset). */
    public static DeviceBuffer buffer(Pointer devicePointer) {
        return DeviceBuffer.of(address(devicePointer));
    }

    /** A device pointer and the bytes it holds, so the calls can check sizes. */
    public static DeviceBuffer buffer(Pointer devicePointer, long bytes) {
        return DeviceBuffer.of(address(devicePointer), bytes);
    }

    /** The {@code CUstream} handle; a null or fresh {@code CUstream} is 0, the legacy default stream. */
    public static long stream(CUstream stream) {
        return JCudaHandles.address(stream);
    }

    /** The {@code cudaStream_t} handle (the runtime API's streams are the driver's). */
    public static long stream(cudaStream_t stream) {
        return JCudaHandles.address(stream);
    }

    private static long address(Pointer p) {
        if (p == null) throw new IllegalArgumentException("null JCuda pointer");
        return JCudaHandles.address(p);
    }
}
