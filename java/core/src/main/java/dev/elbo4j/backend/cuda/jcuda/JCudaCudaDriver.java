package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.cuda.CudaDeviceInfo;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.CudaErrors;
import dev.elbo4j.backend.cuda.KernelArgs;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * {@link CudaDriver} on JCuda's {@link JCudaDriver} (every returned {@code CUresult} is checked here and thrown as a {@link dev.elbo4j.backend.cuda.CudaException} naming the call).
 * Handles travel as {@code long}s, as the port says, and are wrapped into JCuda's handle objects
 * per call ({@link JCudaHandles}). Host copies go through a 4 MiB direct staging buffer with an
 * asynchronous copy on the caller's stream and a stream synchronisation, so a Java array may be
 * reused when a copy returns and copies are ordered with the kernels on that stream. Kernel
 * arguments are packed per launch from {@link KernelArgs}: 4-byte kinds as an {@code int[1]},
 * 8-byte kinds as a {@code long[1]}; JCuda copies them into native memory for the call.
 */
final class JCudaCudaDriver implements CudaDriver {
    private static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    private static final int CU_STREAM_NON_BLOCKING = 1;
    private static final int CU_EVENT_DEFAULT = 0;
    private static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    private static final int STAGING_BYTES = 4 << 20;

    private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES).order(ByteOrder.nativeOrder());
    private final Pointer stagingPointer = Pointer.to(staging);
    private final int[] intOut = new int[1];
    private final long[] longOut = new long[1];
    private boolean closed;

    private JCudaCudaDriver() {
    }

    /** The driver through JCuda, or empty with the reason (JCuda's natives or libcuda.so.1 missing). */
    static Optional<CudaDriver> load(List<String> reasons) {
        Optional<String> problem = JCudaNatives.driver();
        if (problem.isPresent()) {
            reasons.add(problem.get());
            return Optional.empty();
        }
        return Optional.of(new JCudaCudaDriver());
    }

    private static void check(int rc, String call) {
        if (rc != 0) throw CudaErrors.driverError(call, rc);
    }

    private void open() {
        if (closed) throw new IllegalStateException("the JCuda driver binding is closed");
    }

    private static CUdeviceptr ptr(long address) {
        return JCudaHandles.wrap(new CUdeviceptr(), address);
    }

    private static CUstream stream(long stream) {
        return JCudaHandles.wrap(new CUstream(), stream);
    }

    @Override
    public String describe() {
        return "libcuda via JCuda 12.6.0";
    }

    // ---- initialisation and devices ---------------------------------------------------------------

    @Override
    public void init() {
        open();
        check(JCudaDriver.cuInit(0), "cuInit");
    }

    @Override
    public synchronized int driverVersion() {
        open();
        check(JCudaDriver.cuDriverGetVersion(intOut), "cuDriverGetVersion");
        return intOut[0];
    }

    @Override
    public synchronized int deviceCount() {
        open();
        check(JCudaDriver.cuDeviceGetCount(intOut), "cuDeviceGetCount");
        return intOut[0];
    }

    private CUdevice deviceHandle(int ordinal) {
        CUdevice dev = new CUdevice();
        check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet");
        return dev;
    }

    private int attribute(int attr, CUdevice dev) {
        check(JCudaDriver.cuDeviceGetAttribute(intOut, attr, dev), "cuDeviceGetAttribute");
        return intOut[0];
    }

    @Override
    public synchronized CudaDeviceInfo device(int ordinal) {
        open();
        CUdevice dev = deviceHandle(ordinal);
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        check(JCudaDriver.cuDeviceTotalMem(longOut, dev), "cuDeviceTotalMem_v2");
        long total = longOut[0];
        int major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        int minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        int sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
        return new CudaDeviceInfo(ordinal, new String(name, 0, len, StandardCharsets.UTF_8), total, major, minor, sms);
    }

    @Override
    public synchronized long retainPrimaryContext(int ordinal) {
        open();
        CUcontext ctx = new CUcontext();
        check(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, deviceHandle(ordinal)), "cuDevicePrimaryCtxRetain");
        return JCudaHandles.address(ctx);
    }

    @Override
    public synchronized void releasePrimaryContext(int ordinal) {
        open();
        check(JCudaDriver.cuDevicePrimaryCtxRelease(deviceHandle(ordinal)), "cuDevicePrimaryCtxRelease_v2");
    }

    @Override
    public void setCurrentContext(long context) {
        open();
        check(JCudaDriver.cuCtxSetCurrent(JCudaHandles.wrap(new CUcontext(), context)), "cuCtxSetCurrent");
    }

    // ---- memory -----------------------------------------------------------------------------------

    @Override
    public long malloc(long bytes) {
        open();
        CUdeviceptr p = new CUdeviceptr();
        check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc_v2");
        return JCudaHandles.address(p);
    }

    @Override
    public void free(long devicePtr) {
        open();
        check(JCudaDriver.cuMemFree(ptr(devicePtr)), "cuMemFree_v2");
    }

    /** Pinned allocations by address: JCuda reads a pinned block only through the Pointer cuMemHostAlloc filled. */
    private final java.util.Map<Long, Pointer> pinned = new java.util.concurrent.ConcurrentHashMap<>();

    private Pointer pinned(long hostPtr) {
        Pointer p = pinned.get(hostPtr);
        if (p == null) throw new IllegalArgumentException("0x" + Long.toHexString(hostPtr) + " is not pinned memory of this binding");
        return p;
    }

    @Override
    public long hostAlloc(long bytes) {
        open();
        if (bytes <= 0) throw new IllegalArgumentException("cuMemHostAlloc of " + bytes + " bytes");
        Pointer p = new Pointer();
        check(JCudaDriver.cuMemHostAlloc(p, bytes, 0), "cuMemHostAlloc");
        long address = JCudaHandles.address(p);
        pinned.put(address, p);
        return address;
    }

    @Override
    public void freeHost(long hostPtr) {
        open();
        check(JCudaDriver.cuMemFreeHost(pinned(hostPtr)), "cuMemFreeHost");
        pinned.remove(hostPtr);
    }

    @Override
    public void copyToHostAsync(long hostPtr, long src, long bytes, long stream) {
        open();
        check(JCudaDriver.cuMemcpyDtoHAsync(pinned(hostPtr), ptr(src), bytes, stream(stream)), "cuMemcpyDtoHAsync_v2");
    }

    @Override
    public void readHost(long hostPtr, int[] dst, int offset, int count) {
        range(dst.length, offset, count);
        pinned(hostPtr).getByteBuffer(0, 4L * count).order(ByteOrder.nativeOrder()).asIntBuffer().get(dst, offset, count);
    }

    /** Copies {@code bytes} from the staging buffer to {@code dst} on {@code stream} and waits. */
    private void stagedToDevice(long dst, long bytes, long stream) {
        check(JCudaDriver.cuMemcpyHtoDAsync(ptr(dst), stagingPointer, bytes, stream(stream)), "cuMemcpyHtoDAsync_v2");
        check(JCudaDriver.cuStreamSynchronize(stream(stream)), "cuStreamSynchronize");
    }

    /** Copies {@code bytes} from {@code src} into the staging buffer, ordered on {@code stream}, and waits. */
    private void deviceToStaged(long src, long bytes, long stream) {
        check(JCudaDriver.cuMemcpyDtoHAsync(stagingPointer, ptr(src), bytes, stream(stream)), "cuMemcpyDtoHAsync_v2");
        check(JCudaDriver.cuStreamSynchronize(stream(stream)), "cuStreamSynchronize");
    }

    private static void range(int length, int offset, int count) {
        java.util.Objects.checkFromIndexSize(offset, count, length);
    }

    @Override
    public synchronized void copyToDevice(long dst, float[] src, int offset, int count, long stream) {
        open();
        range(src.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            staging.clear();
            staging.asFloatBuffer().put(src, offset + done, n);
            stagedToDevice(dst + 4L * done, 4L * n, stream);
            done += n;
        }
    }

    @Override
    public synchronized void copyToDevice(long dst, double[] src, int offset, int count, long stream) {
        open();
        range(src.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 8);
            staging.clear();
            staging.asDoubleBuffer().put(src, offset + done, n);
            stagedToDevice(dst + 8L * done, 8L * n, stream);
            done += n;
        }
    }

    @Override
    public synchronized void copyToDevice(long dst, int[] src, int offset, int count, long stream) {
        open();
        range(src.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            staging.clear();
            staging.asIntBuffer().put(src, offset + done, n);
            stagedToDevice(dst + 4L * done, 4L * n, stream);
            done += n;
        }
    }

    @Override
    public synchronized void copyToDevice(long dst, byte[] src, int offset, int count, long stream) {
        open();
        range(src.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES);
            staging.clear();
            staging.put(src, offset + done, n);
            stagedToDevice(dst + done, n, stream);
            done += n;
        }
    }

    @Override
    public synchronized void copyToHost(float[] dst, int offset, int count, long src, long stream) {
        open();
        range(dst.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            deviceToStaged(src + 4L * done, 4L * n, stream);
            staging.clear();
            staging.asFloatBuffer().get(dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public synchronized void copyToHost(double[] dst, int offset, int count, long src, long stream) {
        open();
        range(dst.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 8);
            deviceToStaged(src + 8L * done, 8L * n, stream);
            staging.clear();
            staging.asDoubleBuffer().get(dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public synchronized void copyToHost(int[] dst, int offset, int count, long src, long stream) {
        open();
        range(dst.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            deviceToStaged(src + 4L * done, 4L * n, stream);
            staging.clear();
            staging.asIntBuffer().get(dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public synchronized void copyToHost(byte[] dst, int offset, int count, long src, long stream) {
        open();
        range(dst.length, offset, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, STAGING_BYTES);
            deviceToStaged(src + done, n, stream);
            staging.clear();
            staging.get(dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes, long stream) {
        open();
        check(JCudaDriver.cuMemcpyDtoDAsync(ptr(dst), ptr(src), bytes, stream(stream)), "cuMemcpyDtoDAsync_v2");
    }

    @Override
    public void memsetD8(long dst, byte value, long count, long stream) {
        open();
        check(JCudaDriver.cuMemsetD8Async(ptr(dst), value, count, stream(stream)), "cuMemsetD8Async");
    }

    @Override
    public void memsetD32(long dst, int value, long count, long stream) {
        open();
        check(JCudaDriver.cuMemsetD32Async(ptr(dst), value, count, stream(stream)), "cuMemsetD32Async");
    }

    // ---- modules and launches ---------------------------------------------------------------------

    @Override
    public long loadModule(byte[] image) {
        open();
        CUmodule m = new CUmodule();
        check(JCudaDriver.cuModuleLoadData(m, image), "cuModuleLoadData");
        return JCudaHandles.address(m);
    }

    @Override
    public void unloadModule(long module) {
        open();
        check(JCudaDriver.cuModuleUnload(JCudaHandles.wrap(new CUmodule(), module)), "cuModuleUnload");
    }

    @Override
    public long function(long module, String name) {
        open();
        CUfunction f = new CUfunction();
        check(JCudaDriver.cuModuleGetFunction(f, JCudaHandles.wrap(new CUmodule(), module), name),
                "cuModuleGetFunction(" + name + ")");
        return JCudaHandles.address(f);
    }

    /**
     * {@code kernelParams}: one pointer per argument to a Java array JCuda copies into native
     * memory. Like the FFM binding's argument block the array always has {@link KernelArgs#MAX_ARGS}
     * slots, the unused ones pointing at a zero, so nothing reading the array (the driver, or a
     * test's fake driver that records every slot) ever reads past its end.
     */
    static Pointer kernelParams(KernelArgs args) {
        Pointer[] params = new Pointer[KernelArgs.MAX_ARGS];
        for (int i = 0; i < params.length; i++) {
            if (i >= args.count()) {
                params[i] = Pointer.to(new long[1]);
            } else if (args.kind(i).bytes() == 4) {
                params[i] = Pointer.to(new int[] {(int) args.bits(i)});
            } else {
                params[i] = Pointer.to(new long[] {args.bits(i)});
            }
        }
        return Pointer.to(params);
    }

    @Override
    public void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, long stream, KernelArgs args) {
        open();
        check(JCudaDriver.cuLaunchKernel(JCudaHandles.wrap(new CUfunction(), function), gridX, gridY, gridZ,
                blockX, blockY, blockZ, sharedBytes, stream(stream), kernelParams(args), null), "cuLaunchKernel");
    }

    @Override
    public int functionAttribute(long function, int attribute) {
        open();
        int[] out = new int[1];
        check(JCudaDriver.cuFuncGetAttribute(out, attribute, JCudaHandles.wrap(new CUfunction(), function)),
                "cuFuncGetAttribute");
        return out[0];
    }

    @Override
    public void setFunctionAttribute(long function, int attribute, int value) {
        open();
        check(JCudaDriver.cuFuncSetAttribute(JCudaHandles.wrap(new CUfunction(), function), attribute, value),
                "cuFuncSetAttribute");
    }

    @Override
    public int maxActiveBlocksPerMultiprocessor(long function, int blockSize, long dynamicSharedBytes) {
        open();
        int[] out = new int[1];
        check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(out, JCudaHandles.wrap(new CUfunction(), function),
                blockSize, dynamicSharedBytes), "cuOccupancyMaxActiveBlocksPerMultiprocessor");
        return out[0];
    }

    // ---- streams and events -----------------------------------------------------------------------

    @Override
    public long createStream() {
        open();
        CUstream s = new CUstream();
        check(JCudaDriver.cuStreamCreate(s, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        return JCudaHandles.address(s);
    }

    @Override
    public void destroyStream(long stream) {
        open();
        check(JCudaDriver.cuStreamDestroy(stream(stream)), "cuStreamDestroy_v2");
    }

    @Override
    public void synchronize(long stream) {
        open();
        check(JCudaDriver.cuStreamSynchronize(stream(stream)), "cuStreamSynchronize");
    }

    @Override
    public long createEvent() {
        open();
        CUevent e = new CUevent();
        check(JCudaDriver.cuEventCreate(e, CU_EVENT_DEFAULT), "cuEventCreate");
        return JCudaHandles.address(e);
    }

    @Override
    public void recordEvent(long event, long stream) {
        open();
        check(JCudaDriver.cuEventRecord(JCudaHandles.wrap(new CUevent(), event), stream(stream)), "cuEventRecord");
    }

    @Override
    public void waitEvent(long stream, long event) {
        open();
        check(JCudaDriver.cuStreamWaitEvent(stream(stream), JCudaHandles.wrap(new CUevent(), event), 0), "cuStreamWaitEvent");
    }

    @Override
    public void synchronizeEvent(long event) {
        open();
        check(JCudaDriver.cuEventSynchronize(JCudaHandles.wrap(new CUevent(), event)), "cuEventSynchronize");
    }

    @Override
    public float elapsedMillis(long start, long end) {
        open();
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, JCudaHandles.wrap(new CUevent(), start),
                JCudaHandles.wrap(new CUevent(), end)), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void destroyEvent(long event) {
        open();
        check(JCudaDriver.cuEventDestroy(JCudaHandles.wrap(new CUevent(), event)), "cuEventDestroy_v2");
    }

    // ---- CUDA graphs ------------------------------------------------------------------------------

    @Override
    public void beginCapture(long stream) {
        open();
        check(JCudaDriver.cuStreamBeginCapture(stream(stream), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture_v2");
    }

    @Override
    public long endCapture(long stream) {
        open();
        CUgraph g = new CUgraph();
        check(JCudaDriver.cuStreamEndCapture(stream(stream), g), "cuStreamEndCapture");
        return JCudaHandles.address(g);
    }

    @Override
    public long instantiateGraph(long graph) {
        open();
        CUgraphExec exec = new CUgraphExec();
        check(JCudaDriver.cuGraphInstantiate(exec, JCudaHandles.wrap(new CUgraph(), graph), 0L),
                "cuGraphInstantiateWithFlags");
        return JCudaHandles.address(exec);
    }

    @Override
    public void launchGraph(long graphExec, long stream) {
        open();
        check(JCudaDriver.cuGraphLaunch(JCudaHandles.wrap(new CUgraphExec(), graphExec), stream(stream)), "cuGraphLaunch");
    }

    @Override
    public void destroyGraphExec(long graphExec) {
        open();
        check(JCudaDriver.cuGraphExecDestroy(JCudaHandles.wrap(new CUgraphExec(), graphExec)), "cuGraphExecDestroy");
    }

    @Override
    public void destroyGraph(long graph) {
        open();
        check(JCudaDriver.cuGraphDestroy(JCudaHandles.wrap(new CUgraph(), graph)), "cuGraphDestroy");
    }

    @Override
    public void close() {
        closed = true;
    }
}
