package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaDeviceInfo;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.CudaErrors;
import dev.elbo4j.backend.cuda.CudaException;
import dev.elbo4j.backend.cuda.KernelArgs;
import dev.elbo4j.backend.cuda.LibrarySearch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link CudaDriver} over {@code libcuda.so.1} through the FFM API.
 *
 * <p>Types: {@code CUresult} and {@code CUdevice} are {@code int}; {@code CUdeviceptr} and
 * {@code size_t} are 64-bit; the opaque handles ({@code CUcontext}, {@code CUstream},
 * {@code CUmodule}, {@code CUfunction}, {@code CUevent}, {@code CUgraph}, {@code CUgraphExec}) are
 * pointers, passed as {@code JAVA_LONG}: on the LP64 platforms CUDA supports a pointer and a 64-bit
 * integer travel in the same register, and a {@code long} needs no {@link MemorySegment} per call.
 * Versioned entry points are bound by their exported names ({@code cuMemAlloc_v2}, ...), as the
 * macros of {@code cuda.h} would.
 *
 * <p>Memory: one shared arena per driver, closed by {@link #close()}, holds the out-parameter
 * scratch, the launch-argument block and a 4 MiB staging buffer through which host arrays are copied
 * (chunk by chunk; the asynchronous copies from pageable memory return once the driver has taken
 * the data, so the buffer is immediately reusable). The methods that use them are synchronized.
 */
public final class FfmCudaDriver implements CudaDriver {
    private static final int CU_STREAM_NON_BLOCKING = 1;
    private static final int CU_EVENT_DEFAULT = 0;
    private static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    private static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    private static final long STAGING_BYTES = 4L << 20;
    private static final int NAME_BYTES = 256;

    private static final FunctionDescriptor I_I = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final FunctionDescriptor I_A = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor I_L = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
    private static final FunctionDescriptor I_AI = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final FunctionDescriptor I_AL = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
    private static final FunctionDescriptor I_LL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG);

    private final String path;
    private final Arena arena;
    private final MemorySegment scratch;      // out-parameters
    private final MemorySegment argValues;    // one 8-byte slot per kernel argument
    private final MemorySegment argPointers;  // void*[]: slot addresses, filled once
    private MemorySegment staging;            // allocated on the first host copy
    private boolean closed;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceTotalMem, cuDeviceGetAttribute, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuMemAlloc, cuMemFree, cuMemHostAlloc, cuMemFreeHost, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync,
            cuMemsetD8Async, cuMemsetD32Async, cuModuleLoadData, cuModuleUnload, cuModuleGetFunction,
            cuLaunchKernel, cuFuncGetAttribute, cuFuncSetAttribute, cuOccupancyMaxActiveBlocksPerMultiprocessor,
            cuStreamCreate, cuStreamDestroy, cuStreamSynchronize, cuEventCreate, cuEventRecord, cuStreamWaitEvent,
            cuEventSynchronize, cuEventElapsedTime, cuEventDestroy, cuStreamBeginCapture, cuStreamEndCapture,
            cuGraphInstantiateWithFlags, cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy;
    private final MethodHandle cuGetErrorName;  // null if not exported

    private FfmCudaDriver(Native.Library lib) {
        this.path = lib.path();
        cuInit = lib.bind("cuInit", I_I);
        cuDriverGetVersion = lib.bind("cuDriverGetVersion", I_A);
        cuDeviceGetCount = lib.bind("cuDeviceGetCount", I_A);
        cuDeviceGet = lib.bind("cuDeviceGet", I_AI);
        cuDeviceGetName = lib.bind("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = lib.bind("cuDeviceTotalMem_v2", I_AI);
        cuDeviceGetAttribute = lib.bind("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDevicePrimaryCtxRetain = lib.bind("cuDevicePrimaryCtxRetain", I_AI);
        cuDevicePrimaryCtxRelease = lib.bind("cuDevicePrimaryCtxRelease_v2", I_I);
        cuCtxSetCurrent = lib.bind("cuCtxSetCurrent", I_L);
        cuMemAlloc = lib.bind("cuMemAlloc_v2", I_AL);
        cuMemFree = lib.bind("cuMemFree_v2", I_L);
        cuMemHostAlloc = lib.bind("cuMemHostAlloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        cuMemFreeHost = lib.bind("cuMemFreeHost", I_L);
        cuMemcpyHtoDAsync = lib.bind("cuMemcpyHtoDAsync_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoHAsync = lib.bind("cuMemcpyDtoHAsync_v2",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoDAsync = lib.bind("cuMemcpyDtoDAsync_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemsetD8Async = lib.bind("cuMemsetD8Async",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, JAVA_LONG));
        cuMemsetD32Async = lib.bind("cuMemsetD32Async",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
        cuModuleLoadData = lib.bind("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleUnload = lib.bind("cuModuleUnload", I_L);
        cuModuleGetFunction = lib.bind("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        cuLaunchKernel = lib.bind("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        cuFuncGetAttribute = lib.bind("cuFuncGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
        cuFuncSetAttribute = lib.bind("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT));
        cuOccupancyMaxActiveBlocksPerMultiprocessor = lib.bind("cuOccupancyMaxActiveBlocksPerMultiprocessor",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG));
        cuStreamCreate = lib.bind("cuStreamCreate", I_AI);
        cuStreamDestroy = lib.bind("cuStreamDestroy_v2", I_L);
        cuStreamSynchronize = lib.bind("cuStreamSynchronize", I_L);
        cuEventCreate = lib.bind("cuEventCreate", I_AI);
        cuEventRecord = lib.bind("cuEventRecord", I_LL);
        cuStreamWaitEvent = lib.bind("cuStreamWaitEvent", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        cuEventSynchronize = lib.bind("cuEventSynchronize", I_L);
        MethodHandle elapsed = lib.bindFirst(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG),
                "cuEventElapsedTime_v2", "cuEventElapsedTime");  // _v2 from CUDA 12.8 on
        if (elapsed == null) throw new IllegalArgumentException(path + " exports neither cuEventElapsedTime_v2 nor cuEventElapsedTime");
        cuEventElapsedTime = elapsed;
        cuEventDestroy = lib.bind("cuEventDestroy_v2", I_L);
        cuStreamBeginCapture = lib.bind("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        cuStreamEndCapture = lib.bind("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        cuGraphInstantiateWithFlags = lib.bind("cuGraphInstantiateWithFlags",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuGraphLaunch = lib.bind("cuGraphLaunch", I_LL);
        cuGraphExecDestroy = lib.bind("cuGraphExecDestroy", I_L);
        cuGraphDestroy = lib.bind("cuGraphDestroy", I_L);
        cuGetErrorName = lib.bindFirst(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorName");

        // Every symbol is bound: only now take native memory, so a library that fails leaks nothing.
        arena = Arena.ofShared();
        scratch = arena.allocate(MemoryLayout.sequenceLayout(4, JAVA_LONG));
        argValues = arena.allocate(8L * KernelArgs.MAX_ARGS, 8);
        argPointers = arena.allocate(MemoryLayout.sequenceLayout(KernelArgs.MAX_ARGS, ADDRESS));
        for (int i = 0; i < KernelArgs.MAX_ARGS; i++) {
            argPointers.setAtIndex(ADDRESS, i, argValues.asSlice(8L * i, 8));
        }
    }

    /** Loads {@code libcuda.so.1} per {@link LibrarySearch#cudaDriver()}; empty with the reason on failure. */
    public static Optional<CudaDriver> load(LibrarySearch search, List<String> reasons) {
        return Native.<CudaDriver>load(search, FfmCudaDriver::new, reasons);
    }

    @Override
    public String describe() {
        return "libcuda via FFM (" + path + ")";
    }

    // ---- error handling ---------------------------------------------------------------------------

    private void check(int rc, String call) {
        if (rc != 0) throw new CudaException(call, rc, errorName(rc));
    }

    /** The static table first (works with any driver state), then the driver's cuGetErrorName. */
    String errorName(int rc) {
        if (CudaErrors.knowsResult(rc) || cuGetErrorName == null) return CudaErrors.resultName(rc);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            if ((int) cuGetErrorName.invokeExact(rc, out) == 0) {
                String s = Native.cString(out.get(ADDRESS, 0));
                if (s != null) return s;
            }
        } catch (Throwable t) {
            // fall through to the table's placeholder
        }
        return CudaErrors.resultName(rc);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private void open() {
        if (closed) throw new IllegalStateException("the CUDA driver binding is closed");
    }

    // ---- initialisation and devices ---------------------------------------------------------------

    @Override
    public void init() {
        open();
        try {
            check((int) cuInit.invokeExact(0), "cuInit");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized int driverVersion() {
        open();
        try {
            check((int) cuDriverGetVersion.invokeExact(scratch), "cuDriverGetVersion");
            return scratch.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized int deviceCount() {
        open();
        try {
            check((int) cuDeviceGetCount.invokeExact(scratch), "cuDeviceGetCount");
            return scratch.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private int deviceHandle(int ordinal) throws Throwable {
        check((int) cuDeviceGet.invokeExact(scratch, ordinal), "cuDeviceGet");
        return scratch.get(JAVA_INT, 0);
    }

    private int attribute(int attr, int dev) throws Throwable {
        check((int) cuDeviceGetAttribute.invokeExact(scratch, attr, dev), "cuDeviceGetAttribute");
        return scratch.get(JAVA_INT, 0);
    }

    @Override
    public synchronized CudaDeviceInfo device(int ordinal) {
        open();
        try (Arena a = Arena.ofConfined()) {
            int dev = deviceHandle(ordinal);
            MemorySegment name = a.allocate(NAME_BYTES);
            check((int) cuDeviceGetName.invokeExact(name, NAME_BYTES, dev), "cuDeviceGetName");
            check((int) cuDeviceTotalMem.invokeExact(scratch, dev), "cuDeviceTotalMem_v2");
            long total = scratch.get(JAVA_LONG, 0);
            int major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            int minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            int sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
            return new CudaDeviceInfo(ordinal, name.getString(0), total, major, minor, sms);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized long retainPrimaryContext(int ordinal) {
        open();
        try {
            int dev = deviceHandle(ordinal);
            check((int) cuDevicePrimaryCtxRetain.invokeExact(scratch, dev), "cuDevicePrimaryCtxRetain");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void releasePrimaryContext(int ordinal) {
        open();
        try {
            int dev = deviceHandle(ordinal);
            check((int) cuDevicePrimaryCtxRelease.invokeExact(dev), "cuDevicePrimaryCtxRelease_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void setCurrentContext(long context) {
        open();
        try {
            check((int) cuCtxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- memory -----------------------------------------------------------------------------------

    @Override
    public synchronized long malloc(long bytes) {
        open();
        if (bytes <= 0) throw new IllegalArgumentException("cuMemAlloc_v2 of " + bytes + " bytes");
        try {
            check((int) cuMemAlloc.invokeExact(scratch, bytes), "cuMemAlloc_v2");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void free(long devicePtr) {
        open();
        try {
            check((int) cuMemFree.invokeExact(devicePtr), "cuMemFree_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long hostAlloc(long bytes) {
        open();
        if (bytes <= 0) throw new IllegalArgumentException("cuMemHostAlloc of " + bytes + " bytes");
        try {
            check((int) cuMemHostAlloc.invokeExact(scratch, bytes, 0), "cuMemHostAlloc");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void freeHost(long hostPtr) {
        open();
        try {
            check((int) cuMemFreeHost.invokeExact(hostPtr), "cuMemFreeHost");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void copyToHostAsync(long hostPtr, long src, long bytes, long stream) {
        open();
        try {
            check((int) cuMemcpyDtoHAsync.invokeExact(MemorySegment.ofAddress(hostPtr), src, bytes, stream), "cuMemcpyDtoHAsync_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void readHost(long hostPtr, int[] dst, int offset, int count) {
        java.util.Objects.checkFromIndexSize(offset, count, dst.length);
        MemorySegment.copy(MemorySegment.ofAddress(hostPtr).reinterpret(4L * count), JAVA_INT, 0, dst, offset, count);
    }

    private MemorySegment staging() {
        if (staging == null) staging = arena.allocate(STAGING_BYTES, 16);
        return staging;
    }

    /** Copies {@code count} elements of a heap array through the staging buffer, chunk by chunk. */
    private synchronized void toDevice(long dst, Object array, ValueLayout layout, int offset, int count, long stream) {
        open();
        MemorySegment stage = staging();
        int per = (int) (STAGING_BYTES / layout.byteSize());
        try {
            for (int done = 0; done < count; done += per) {
                int n = Math.min(per, count - done);
                long bytes = n * layout.byteSize();
                copyIn(array, layout, offset + done, stage, n);
                check((int) cuMemcpyHtoDAsync.invokeExact(dst + done * layout.byteSize(), stage, bytes, stream),
                        "cuMemcpyHtoDAsync_v2");
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private synchronized void toHost(Object array, ValueLayout layout, int offset, int count, long src, long stream) {
        open();
        MemorySegment stage = staging();
        int per = (int) (STAGING_BYTES / layout.byteSize());
        try {
            for (int done = 0; done < count; done += per) {
                int n = Math.min(per, count - done);
                long bytes = n * layout.byteSize();
                check((int) cuMemcpyDtoHAsync.invokeExact(stage, src + done * layout.byteSize(), bytes, stream),
                        "cuMemcpyDtoHAsync_v2");
                // Pageable destination: the call returns when the copy is done; the synchronisation makes
                // that explicit (and surfaces errors of earlier asynchronous work here).
                check((int) cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize");
                copyOut(stage, layout, array, offset + done, n);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static void copyIn(Object array, ValueLayout layout, int from, MemorySegment stage, int n) {
        switch (array) {
            case float[] f -> MemorySegment.copy(f, from, stage, JAVA_FLOAT, 0, n);
            case double[] d -> MemorySegment.copy(d, from, stage, JAVA_DOUBLE, 0, n);
            case int[] i -> MemorySegment.copy(i, from, stage, JAVA_INT, 0, n);
            case byte[] b -> MemorySegment.copy(b, from, stage, JAVA_BYTE, 0, n);
            default -> throw new IllegalArgumentException("unsupported array " + array.getClass() + " for " + layout);
        }
    }

    private static void copyOut(MemorySegment stage, ValueLayout layout, Object array, int to, int n) {
        switch (array) {
            case float[] f -> MemorySegment.copy(stage, JAVA_FLOAT, 0, f, to, n);
            case double[] d -> MemorySegment.copy(stage, JAVA_DOUBLE, 0, d, to, n);
            case int[] i -> MemorySegment.copy(stage, JAVA_INT, 0, i, to, n);
            case byte[] b -> MemorySegment.copy(stage, JAVA_BYTE, 0, b, to, n);
            default -> throw new IllegalArgumentException("unsupported array " + array.getClass() + " for " + layout);
        }
    }

    private static void checkRange(int length, int offset, int count) {
        java.util.Objects.checkFromIndexSize(offset, count, length);
    }

    @Override
    public void copyToDevice(long dst, float[] src, int offset, int count, long stream) {
        checkRange(src.length, offset, count);
        toDevice(dst, src, JAVA_FLOAT, offset, count, stream);
    }

    @Override
    public void copyToDevice(long dst, double[] src, int offset, int count, long stream) {
        checkRange(src.length, offset, count);
        toDevice(dst, src, JAVA_DOUBLE, offset, count, stream);
    }

    @Override
    public void copyToDevice(long dst, int[] src, int offset, int count, long stream) {
        checkRange(src.length, offset, count);
        toDevice(dst, src, JAVA_INT, offset, count, stream);
    }

    @Override
    public void copyToDevice(long dst, byte[] src, int offset, int count, long stream) {
        checkRange(src.length, offset, count);
        toDevice(dst, src, JAVA_BYTE, offset, count, stream);
    }

    @Override
    public void copyToHost(float[] dst, int offset, int count, long src, long stream) {
        checkRange(dst.length, offset, count);
        toHost(dst, JAVA_FLOAT, offset, count, src, stream);
    }

    @Override
    public void copyToHost(double[] dst, int offset, int count, long src, long stream) {
        checkRange(dst.length, offset, count);
        toHost(dst, JAVA_DOUBLE, offset, count, src, stream);
    }

    @Override
    public void copyToHost(int[] dst, int offset, int count, long src, long stream) {
        checkRange(dst.length, offset, count);
        toHost(dst, JAVA_INT, offset, count, src, stream);
    }

    @Override
    public void copyToHost(byte[] dst, int offset, int count, long src, long stream) {
        checkRange(dst.length, offset, count);
        toHost(dst, JAVA_BYTE, offset, count, src, stream);
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes, long stream) {
        open();
        try {
            check((int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyDtoDAsync_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void memsetD8(long dst, byte value, long count, long stream) {
        open();
        try {
            check((int) cuMemsetD8Async.invokeExact(dst, value, count, stream), "cuMemsetD8Async");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void memsetD32(long dst, int value, long count, long stream) {
        open();
        try {
            check((int) cuMemsetD32Async.invokeExact(dst, value, count, stream), "cuMemsetD32Async");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- modules and launches ---------------------------------------------------------------------

    @Override
    public synchronized long loadModule(byte[] image) {
        open();
        // The driver parses the image during the call; the confined copy is freed on return.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length, 16);
            MemorySegment.copy(image, 0, img, JAVA_BYTE, 0, image.length);
            check((int) cuModuleLoadData.invokeExact(scratch, img), "cuModuleLoadData");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void unloadModule(long module) {
        open();
        try {
            check((int) cuModuleUnload.invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized long function(long module, String name) {
        open();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cName = a.allocateFrom(name);
            int rc = (int) cuModuleGetFunction.invokeExact(scratch, module, cName);
            if (rc != 0) throw new CudaException("cuModuleGetFunction(" + name + ")", rc, errorName(rc));
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                                    int sharedBytes, long stream, KernelArgs args) {
        open();
        int n = args.count();
        for (int i = 0; i < n; i++) {
            long at = 8L * i;
            switch (args.kind(i)) {
                case I32, F32 -> argValues.set(JAVA_INT, at, (int) args.bits(i));
                case I64, F64, PTR -> argValues.set(JAVA_LONG, at, args.bits(i));
            }
        }
        MemorySegment params = n == 0 ? MemorySegment.NULL : argPointers;  // a local: invokeExact needs the exact static type
        try {
            check((int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                    stream, params, MemorySegment.NULL), "cuLaunchKernel");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized int functionAttribute(long function, int attribute) {
        open();
        try {
            check((int) cuFuncGetAttribute.invokeExact(scratch, attribute, function), "cuFuncGetAttribute");
            return scratch.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void setFunctionAttribute(long function, int attribute, int value) {
        open();
        try {
            check((int) cuFuncSetAttribute.invokeExact(function, attribute, value), "cuFuncSetAttribute");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized int maxActiveBlocksPerMultiprocessor(long function, int blockSize, long dynamicSharedBytes) {
        open();
        try {
            check((int) cuOccupancyMaxActiveBlocksPerMultiprocessor.invokeExact(scratch, function, blockSize,
                    dynamicSharedBytes), "cuOccupancyMaxActiveBlocksPerMultiprocessor");
            return scratch.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- streams and events -----------------------------------------------------------------------

    @Override
    public synchronized long createStream() {
        open();
        try {
            check((int) cuStreamCreate.invokeExact(scratch, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void destroyStream(long stream) {
        open();
        try {
            check((int) cuStreamDestroy.invokeExact(stream), "cuStreamDestroy_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void synchronize(long stream) {
        open();
        try {
            check((int) cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized long createEvent() {
        open();
        try {
            check((int) cuEventCreate.invokeExact(scratch, CU_EVENT_DEFAULT), "cuEventCreate");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void recordEvent(long event, long stream) {
        open();
        try {
            check((int) cuEventRecord.invokeExact(event, stream), "cuEventRecord");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void waitEvent(long stream, long event) {
        open();
        try {
            check((int) cuStreamWaitEvent.invokeExact(stream, event, 0), "cuStreamWaitEvent");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void synchronizeEvent(long event) {
        open();
        try {
            check((int) cuEventSynchronize.invokeExact(event), "cuEventSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized float elapsedMillis(long start, long end) {
        open();
        try {
            check((int) cuEventElapsedTime.invokeExact(scratch, start, end), "cuEventElapsedTime");
            return scratch.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void destroyEvent(long event) {
        open();
        try {
            check((int) cuEventDestroy.invokeExact(event), "cuEventDestroy_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- CUDA graphs ------------------------------------------------------------------------------

    @Override
    public void beginCapture(long stream) {
        open();
        try {
            check((int) cuStreamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                    "cuStreamBeginCapture_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized long endCapture(long stream) {
        open();
        try {
            check((int) cuStreamEndCapture.invokeExact(stream, scratch), "cuStreamEndCapture");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized long instantiateGraph(long graph) {
        open();
        try {
            check((int) cuGraphInstantiateWithFlags.invokeExact(scratch, graph, 0L), "cuGraphInstantiateWithFlags");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void launchGraph(long graphExec, long stream) {
        open();
        try {
            check((int) cuGraphLaunch.invokeExact(graphExec, stream), "cuGraphLaunch");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void destroyGraphExec(long graphExec) {
        open();
        try {
            check((int) cuGraphExecDestroy.invokeExact(graphExec), "cuGraphExecDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void destroyGraph(long graph) {
        open();
        try {
            check((int) cuGraphDestroy.invokeExact(graph), "cuGraphDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Frees the binding's host memory; idempotent. (The library itself stays loaded.) */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        arena.close();
    }
}
