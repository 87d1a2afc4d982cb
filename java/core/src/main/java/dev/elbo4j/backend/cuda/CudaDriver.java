package dev.elbo4j.backend.cuda;

/**
 * The slice of the CUDA driver API the backend uses, as a port: the FFM binding
 * ({@code dev.elbo4j.backend.cuda.ffm.FfmCudaDriver}) implements it over {@code libcuda.so.1}, tests
 * implement it in memory. Handles (contexts, streams, modules, functions, events, graphs) and device
 * pointers are {@code long}s; 0 is the null handle (and the legacy default stream, which elbo4j
 * never uses).
 *
 * <p>Every method checks the call's {@code CUresult} and throws {@link CudaException} naming the
 * call and the code. Calls that take a stream are asynchronous with respect to the host unless the
 * method says otherwise. The driver API needs a current context on the calling thread for
 * everything past {@link #device(int)}: see {@link #setCurrentContext(long)}.
 */
public interface CudaDriver extends AutoCloseable {

    /** Where the binding came from, for messages: the library path and the binding's name. */
    String describe();

    // ---- initialisation and devices ---------------------------------------------------------------

    /** {@code cuInit(0)}; must come first. */
    void init();

    /** {@code cuDriverGetVersion}: 13000 for CUDA 13.0. */
    int driverVersion();

    /** {@code cuDeviceGetCount}. */
    int deviceCount();

    /** Name, memory, compute capability and SM count of device {@code ordinal}. */
    CudaDeviceInfo device(int ordinal);

    /** {@code cuDevicePrimaryCtxRetain}: the device's primary context (shared with the runtime API). */
    long retainPrimaryContext(int ordinal);

    /** {@code cuDevicePrimaryCtxRelease_v2}. */
    void releasePrimaryContext(int ordinal);

    /** {@code cuCtxSetCurrent}: binds the context to the calling thread. */
    void setCurrentContext(long context);

    // ---- memory -----------------------------------------------------------------------------------

    /** {@code cuMemAlloc_v2}: {@code bytes > 0}; the result is 256-byte aligned. */
    long malloc(long bytes);

    /** {@code cuMemFree_v2} (synchronises the device). */
    void free(long devicePtr);

    /** Copies {@code count} elements of {@code src} from {@code offset} to device address {@code dst}, ordered on {@code stream}. The array may be reused when the call returns. */
    void copyToDevice(long dst, float[] src, int offset, int count, long stream);

    /** As {@link #copyToDevice(long, float[], int, int, long)}, for double[]. */
    void copyToDevice(long dst, double[] src, int offset, int count, long stream);

    /** As {@link #copyToDevice(long, float[], int, int, long)}, for int[]. */
    void copyToDevice(long dst, int[] src, int offset, int count, long stream);

    /** As {@link #copyToDevice(long, float[], int, int, long)}, for byte[]. */
    void copyToDevice(long dst, byte[] src, int offset, int count, long stream);

    /** Copies {@code count} elements from device address {@code src} into {@code dst}; returns when they are there (waits for the work before it on {@code stream}). */
    void copyToHost(float[] dst, int offset, int count, long src, long stream);

    /** As {@link #copyToHost(float[], int, int, long, long)}, for double[]. */
    void copyToHost(double[] dst, int offset, int count, long src, long stream);

    /** As {@link #copyToHost(float[], int, int, long, long)}, for int[]. */
    void copyToHost(int[] dst, int offset, int count, long src, long stream);

    /** As {@link #copyToHost(float[], int, int, long, long)}, for byte[]. */
    void copyToHost(byte[] dst, int offset, int count, long src, long stream);

    /** {@code cuMemHostAlloc} (flags 0): {@code bytes > 0} of page-locked host memory; returns its address. */
    long hostAlloc(long bytes);

    /** {@code cuMemFreeHost}. */
    void freeHost(long hostPtr);

    /**
     * {@code cuMemcpyDtoHAsync_v2} of {@code bytes} from device address {@code src} into pinned
     * memory at {@code hostPtr} (from {@link #hostAlloc}), ordered on {@code stream}: returns at
     * once; the bytes are there when an event recorded on the stream after it has completed.
     */
    void copyToHostAsync(long hostPtr, long src, long bytes, long stream);

    /** Reads {@code count} ints of pinned memory at {@code hostPtr} into {@code dst} from {@code offset} (no driver call). */
    void readHost(long hostPtr, int[] dst, int offset, int count);

    /** {@code cuMemcpyDtoDAsync_v2}. */
    void copyDeviceToDevice(long dst, long src, long bytes, long stream);

    /** {@code cuMemsetD8Async}: {@code count} bytes. */
    void memsetD8(long dst, byte value, long count, long stream);

    /** {@code cuMemsetD32Async}: {@code count} 32-bit words. */
    void memsetD32(long dst, int value, long count, long stream);

    // ---- modules and launches ---------------------------------------------------------------------

    /** {@code cuModuleLoadData} from a fatbin, cubin or PTX image. */
    long loadModule(byte[] image);

    /** {@code cuModuleUnload}. */
    void unloadModule(long module);

    /** {@code cuModuleGetFunction}. */
    long function(long module, String name);

    /**
     * {@code cuLaunchKernel} with {@code args} packed as {@code kernelParams}; the arguments are
     * copied before the call returns, so {@code args} may be reused at once.
     */
    void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                int sharedBytes, long stream, KernelArgs args);

    /** {@code CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK}: the largest block the function can launch. */
    int FUNC_MAX_THREADS_PER_BLOCK = 0;
    /** {@code CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES}: the function's static shared memory per block. */
    int FUNC_SHARED_SIZE_BYTES = 1;
    /** {@code CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES}: local memory (stack) per thread. */
    int FUNC_LOCAL_SIZE_BYTES = 3;
    /** {@code CU_FUNC_ATTRIBUTE_NUM_REGS}: registers per thread. */
    int FUNC_NUM_REGS = 4;
    /** {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}: the dynamic shared memory a launch may ask for. */
    int FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    /** {@code cuFuncGetAttribute}: one of the {@code FUNC_*} attributes of a function. */
    int functionAttribute(long function, int attribute);

    /** {@code cuFuncSetAttribute}, e.g. {@link #FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES} to opt in above 48 KiB. */
    void setFunctionAttribute(long function, int attribute, int value);

    /**
     * {@code cuOccupancyMaxActiveBlocksPerMultiprocessor}: how many blocks of {@code blockSize}
     * threads with {@code dynamicSharedBytes} of dynamic shared memory fit on one SM at once.
     */
    int maxActiveBlocksPerMultiprocessor(long function, int blockSize, long dynamicSharedBytes);

    // ---- streams and events -----------------------------------------------------------------------

    /** {@code cuStreamCreate(CU_STREAM_NON_BLOCKING)}: does not synchronise with the legacy stream 0. */
    long createStream();

    /** {@code cuStreamDestroy_v2}. */
    void destroyStream(long stream);

    /** {@code cuStreamSynchronize}. */
    void synchronize(long stream);

    /** {@code cuEventCreate(CU_EVENT_DEFAULT)}: a timing event. */
    long createEvent();

    /** {@code cuEventRecord}. */
    void recordEvent(long event, long stream);

    /**
     * {@code cuStreamWaitEvent(stream, event, 0)}: work enqueued on {@code stream} afterwards waits
     * for the work before the event's last record. Under stream capture this forks and joins: a
     * stream waiting on an event recorded in a capturing stream joins that capture, and the stream
     * that began it must wait on the others' last work before {@link #endCapture}.
     */
    void waitEvent(long stream, long event);

    /** {@code cuEventSynchronize}. */
    void synchronizeEvent(long event);

    /** {@code cuEventElapsedTime(_v2)}: milliseconds between two completed events. */
    float elapsedMillis(long start, long end);

    /** {@code cuEventDestroy_v2}. */
    void destroyEvent(long event);

    // ---- CUDA graphs ------------------------------------------------------------------------------

    /** {@code cuStreamBeginCapture_v2(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)}. */
    void beginCapture(long stream);

    /** {@code cuStreamEndCapture}: the captured graph. */
    long endCapture(long stream);

    /** {@code cuGraphInstantiateWithFlags(0)}: an executable graph. */
    long instantiateGraph(long graph);

    /** {@code cuGraphLaunch}. */
    void launchGraph(long graphExec, long stream);

    /** {@code cuGraphExecDestroy}. */
    void destroyGraphExec(long graphExec);

    /** {@code cuGraphDestroy}. */
    void destroyGraph(long graph);

    /** Releases the binding's host resources (not device objects: destroy those first). */
    @Override
    void close();
}
