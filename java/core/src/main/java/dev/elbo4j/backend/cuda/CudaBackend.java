package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The GPU backend: every tensor in device memory, the fused kernels of {@code kernels/*.cu} for
 * everything but the GEMMs, cuBLAS for those, all work on one non-blocking stream. Written against
 * the {@link CudaDriver} and {@link CudaBlas} ports; {@link #open(CudaBinding, int)} wires a binding
 * (normally {@code dev.elbo4j.backend.cuda.ffm.FfmBinding}, through
 * {@link dev.elbo4j.backend.Backends#select(String)}).
 *
 * <p><b>Layout.</b> As {@code CpuBackend} hands each op to a {@code Cpu<Name>} class, this class hands
 * each kernel op to the launchers of its {@code kernels/<name>.cu}: {@code CudaLinear},
 * {@code CudaLatent}, {@code CudaRandom}, {@code CudaLikelihood}, {@code CudaOptim}, {@code CudaData},
 * {@code CudaAutoencoder}, {@code CudaIwae}, {@code CudaClassify}, {@code CudaRbm}, {@code CudaFlow},
 * {@code CudaConv} (and {@code CudaColumns}, the column sums several share). It keeps what they share:
 * context, stream, module, the argument list and launch, the RNG step bindings, the column scratch,
 * the gather error word; and memory, reductions, graphs and counters.
 *
 * <p><b>Precision.</b> Computation is F32 only: an F64 tensor may be allocated, copied, filled,
 * summed and read back (the loss accumulator of {@link #accumulate} is F64), but any compute
 * operation on one throws {@link UnsupportedOperationException}. Every reduction runs in a fixed
 * order, so the same inputs give the same bits on every run on the same GPU.
 *
 * <p><b>Asynchrony.</b> Operations enqueue work and return; {@link #download}, {@link #sum},
 * {@link #synchronize()} and the host-array {@code write}s wait. Host arguments are checked before
 * anything is enqueued (shapes, dtypes, ownership, overlap), so a bad call throws and leaves the
 * device untouched. A gather index outside the data set cannot throw on the device: the kernel
 * poisons the row with NaN and the next synchronising call throws {@link IndexOutOfBoundsException}
 * for the first bad row of the batch, the index the CPU backend throws for (whatever the block order).
 *
 * <p><b>Threads.</b> Like a CUDA stream, a backend is used by one thread at a time (the calls
 * reuse one argument buffer); it makes its context current on whichever thread calls it.
 *
 * <p><b>Graphs.</b> {@link #capture(Runnable)} records the enqueued work into a {@link CudaGraph};
 * bind a {@link DeviceCounter} to the RNG streams ({@link #bindRngStep}) and to Adam
 * ({@link #bindAdamStep}) so replays draw fresh noise and use the right bias correction.
 */
public final class CudaBackend implements Backend {
    /** System property: "true" enables TF32 tensor-core GEMMs (off by default: FP32, as the CPU). */
    public static final String TF32_PROPERTY = "elbo4j.tf32";
    /** cuBLAS workspace handed over with cublasSetWorkspace: NVIDIA's recommendation for Hopper. */
    static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;
    /** Oldest compute capability the fatbin runs on (SASS sm_80 is the lowest target). */
    static final int MIN_COMPUTE_MAJOR = 8;

    // Layout of the control block, one allocation made at start-up: the reduction's per-block
    // partial sums, the result slot of sum(), the reduction's ticket counter and the gather error word
    // (64 bits, 8-byte aligned for its atomicMin: first bad row << 32 | its index; all ones when clean).
    private static final long CTL_PARTIALS = 0;
    private static final long CTL_SUM = CTL_PARTIALS + 8L * Kernels.REDUCE_MAX_BLOCKS;
    private static final long CTL_COUNTER = CTL_SUM + 8;
    private static final long CTL_GATHER_ERROR = CTL_COUNTER + 8;
    private static final long CTL_BYTES = CTL_GATHER_ERROR + 8;

    private final CudaDriver driver;
    private final CudaDeviceInfo device;
    private final int ordinal;
    private final String description;
    private final long context;
    private final long stream;
    private final long module;
    private final Map<KernelSpec, Long> functions = new IdentityHashMap<>();
    private final CudaBlas blas;
    private final CudaBlas.Library blasLibrary;
    private CudaBlasLt.Library ltLibrary;
    /** The dense layers' weight-gradient branch under capture (SideStream.java): made by the first capture. */
    private SideStream side;
    private boolean capturing;
    private final KernelArgs args = new KernelArgs();
    private final Set<DeviceTensor.Allocation> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private final DeviceTensor.Allocation control;
    private final DeviceTensor.Allocation blasWorkspace;
    /** Per kernel: blocks of its own size resident on the whole device at once (one wave), from the driver's occupancy. */
    private final Map<KernelSpec, Integer> wave = new IdentityHashMap<>();
    /** Dynamic shared memory a launch of the Gaussian kernel may ask for: 48 KiB less its static shared memory. */
    private final int gaussianMaxDynamicShared;
    private final DeviceCounter[] rngSteps = new DeviceCounter[256];
    private DeviceCounter adamStep;
    /** The fused-epilogue dense layers (CublasLt.java): null without cuBLASLt; used when {@code ltOn}. */
    private CublasLt lt;
    private boolean ltOn;
    private String ltMissing = "not loaded";
    /** Where latentBackward and planarBackward read the KL weight of the summed loss (0: their argument). */
    private long klWeightAt;
    private DeviceTensor.Allocation columnScratch;
    private Thread contextThread;
    private boolean gathersPending;
    private long gathersLaunched;
    private int lastGatherExamples;
    private boolean tf32;
    private boolean closed;
    private final int[] gatherError = new int[2];
    private final int[] twoInts = new int[2];
    private final double[] oneDouble = new double[1];

    /**
     * Opens device {@code ordinal} through {@code binding}. Collects every reason the GPU path
     * cannot run (no kernels in this build, no driver library, cuInit failure, no or too old a
     * device, no cuBLAS) and throws them together.
     *
     * @throws BackendUnavailableException listing every reason
     */
    public static CudaBackend open(CudaBinding binding, int ordinal) {
        List<String> reasons = new ArrayList<>();
        Optional<byte[]> image = KernelImage.find(reasons);
        return open(binding, ordinal, image, KernelImage.overridden() ? 0 : DriverVersion.KERNELS_NEED, reasons);
    }

    /**
     * {@link #open(CudaBinding, int)} with the kernels found and the driver version they need
     * (0: no minimum); the driver's version also decides which cuBLAS is loaded.
     */
    static CudaBackend open(CudaBinding binding, int ordinal, Optional<byte[]> image, int driverNeeded,
                            List<String> reasons) {
        Optional<CudaDriver> driver = Optional.empty();
        Optional<CudaBlas.Library> blas = Optional.empty();
        try {
            driver = binding.loadDriver(reasons);
            int version = driver.isPresent() ? driverVersion(driver.get(), driverNeeded, reasons) : 0;
            blas = binding.loadBlas(reasons, version);
            if (driver.isPresent() && version >= driverNeeded) probe(driver.get(), ordinal, reasons);
            if (reasons.isEmpty()) {
                CudaBackend be = new CudaBackend(driver.orElseThrow(), blas.orElseThrow(), image.orElseThrow(), ordinal,
                        binding.name());
                List<String> ltReasons = new ArrayList<>();
                be.attachCublasLt(binding.loadBlasLt(ltReasons, version), ltReasons);
                return be;
            }
        } catch (CudaException e) {
            boolean badImage = e.code() == 209 || e.code() == 218 || e.code() == 222;  // no binary / invalid or newer PTX
            reasons.add(e.getMessage() + (badImage ? " (the fatbin holds SASS for sm_80, sm_86, sm_89, sm_90 and PTX for"
                    + " compute_90, built by nvcc 13: the driver may be too old for it)" : ""));
        } catch (RuntimeException | LinkageError e) {
            reasons.add("the " + binding.name() + " binding failed: " + e);
        }
        driver.ifPresent(CudaDriver::close);
        throw new BackendUnavailableException("cuda", reasons);
    }

    /**
     * {@code cuDriverGetVersion} (it needs no {@code cuInit}); a driver older than {@code needed}
     * is a reason naming both versions. Returns the version, 0 when it cannot be read.
     */
    private static int driverVersion(CudaDriver d, int needed, List<String> reasons) {
        int version;
        try {
            version = d.driverVersion();
        } catch (CudaException e) {
            reasons.add(e.getMessage());
            return 0;
        }
        if (version < needed) reasons.add(DriverVersion.tooOld(version, needed, d.describe()));
        return version;
    }

    /** cuInit, the device count and the device's compute capability, as reasons. */
    private static void probe(CudaDriver d, int ordinal, List<String> reasons) {
        try {
            d.init();
        } catch (CudaException e) {
            reasons.add(e.getMessage() + (e.code() == 100 ? " (no NVIDIA GPU visible to this process)" : ""));
            return;
        }
        int count = d.deviceCount();
        if (count == 0) {
            reasons.add("the CUDA driver reports no device");
        } else if (ordinal < 0 || ordinal >= count) {
            reasons.add("no CUDA device " + ordinal + " (the driver reports " + count + ")");
        } else {
            CudaDeviceInfo info = d.device(ordinal);
            if (info.computeMajor() < MIN_COMPUTE_MAJOR) {
                reasons.add(info.name() + " has compute capability " + info.computeMajor() + "." + info.computeMinor()
                        + "; the kernels need " + MIN_COMPUTE_MAJOR + ".0 (sm_80) or newer");
            }
        }
    }

    /**
     * A backend over the given ports (the binding-independent part of {@link #open}); tests use it
     * with fake libraries. On failure everything created so far is released.
     */
    CudaBackend(CudaDriver driver, CudaBlas.Library blasLibrary, byte[] image, int ordinal, String bindingName) {
        this.driver = driver;
        this.ordinal = ordinal;
        this.blasLibrary = blasLibrary;
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            driver.init();
            int driverVersion = driver.driverVersion();
            this.device = driver.device(ordinal);
            this.context = driver.retainPrimaryContext(ordinal);
            undo.push(() -> driver.releasePrimaryContext(ordinal));
            driver.setCurrentContext(context);
            this.contextThread = Thread.currentThread();
            this.stream = driver.createStream();
            undo.push(() -> driver.destroyStream(stream));
            this.module = driver.loadModule(image);
            undo.push(() -> driver.unloadModule(module));
            for (KernelSpec k : Kernels.ALL) functions.put(k, driver.function(module, k.name()));
            int sms = Math.max(1, device.multiprocessors());
            for (KernelSpec k : Kernels.ALL) {
                int resident = driver.maxActiveBlocksPerMultiprocessor(functions.get(k), k.threads(), 0);
                wave.put(k, Math.max(1, resident) * sms);
            }
            this.gaussianMaxDynamicShared = driver.functionAttribute(functions.get(Kernels.GAUSSIAN),
                    CudaDriver.FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES);
            this.blas = blasLibrary.create(stream);
            undo.push(blas::close);
            this.control = allocate(CTL_BYTES);
            undo.push(() -> driver.free(control.address));
            driver.memsetD8(control.address, (byte) 0, CTL_BYTES, stream);
            driver.memsetD32(control.address + CTL_GATHER_ERROR, -1, 2, stream);
            DeviceTensor.Allocation ws = allocate(CUBLAS_WORKSPACE_BYTES);
            undo.push(() -> driver.free(ws.address));
            if (blas.setWorkspace(ws.address, ws.bytes)) {
                this.blasWorkspace = ws;
            } else {
                undo.pop();
                driver.free(ws.address);
                live.remove(ws);
                this.blasWorkspace = null;
            }
            this.tf32 = Boolean.getBoolean(TF32_PROPERTY);
            blas.setTf32(tf32);
            driver.synchronize(stream);
            this.description = "cuda (" + device + ", driver " + driverVersion / 1000 + "." + driverVersion % 1000 / 10
                    + ", " + blas.describe() + ", " + bindingName + ")";
        } catch (RuntimeException | Error e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            driver.close();
            throw e;
        }
    }

    // ---- identity ---------------------------------------------------------------------------------

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return description + (tf32 ? ", TF32 GEMMs" : "") + (ltOn ? ", dense layers on " + lt.describe() : "");
    }

    /** The GPU this backend runs on. */
    public CudaDeviceInfo device() {
        return device;
    }

    /** Device ordinal. */
    public int ordinal() {
        return ordinal;
    }

    /** Switches cuBLAS between FP32 (false, the default) and TF32 tensor-core math (true). */
    public void setTf32(boolean enabled) {
        prepare();
        blas.setTf32(enabled);
        if (side != null) side.setTf32(enabled);
        tf32 = enabled;
    }

    /**
     * Binds cuBLASLt to this backend's stream and workspace (optional: without it the dense layers
     * use the hand-written kernels) and selects it when {@link CublasLt#PROPERTY} or {@link CublasLt#ENV} asks.
     */
    void attachCublasLt(Optional<CudaBlasLt.Library> library, List<String> reasons) {
        if (library.isEmpty()) {
            ltMissing = String.join("; ", reasons);
            return;
        }
        prepare();
        try {
            lt = new CublasLt(library.get().create(stream, blasWorkspace == null ? 0 : blasWorkspace.address,
                    blasWorkspace == null ? 0 : blasWorkspace.bytes));
        } catch (CudaException e) {
            ltMissing = e.getMessage();
            return;
        }
        ltLibrary = library.get();
        ltOn = CublasLt.requested();
    }

    /**
     * Runs the dense layers ({@link #linearForward}, {@link #linearBackward}) on cuBLASLt with fused
     * bias/ReLU/bias-gradient epilogues (true) or on cuBLAS and the hand-written kernels (false, the default).
     *
     * @throws IllegalStateException when true is asked and cuBLASLt did not load (the reason is in the message)
     */
    public void setCublasLt(boolean enabled) {
        if (enabled && lt == null) throw new IllegalStateException("cuBLASLt is not available: " + ltMissing);
        ltOn = enabled;
    }

    /** Whether the dense layers run on cuBLASLt ({@link #setCublasLt}). */
    public boolean cublasLt() {
        return ltOn;
    }

    /** Dense-layer calls that the cuBLASLt path handed to the hand-written one because its heuristic had no algorithm. */
    public long cublasLtFallbacks() {
        return lt == null ? 0 : lt.fallbacks();
    }

    /**
     * dx GEMMs enqueued with {@code DRELU_BGRAD}: the ReLU derivative and bias gradient of the layer
     * below done in the epilogue ({@link #linearBackwardReluInput}).
     */
    public long cublasLtFusedDerivatives() {
        return lt == null ? 0 : lt.fusedDerivatives();
    }

    /**
     * Bytes of device memory held by live tensors and the backend's own buffers, the side stream's
     * cuBLAS workspace ({@link #capture}) included.
     */
    public long allocatedBytes() {
        long b = closed || side == null ? 0 : side.workspaceBytes();
        for (DeviceTensor.Allocation a : live) b += a.bytes;
        return b;
    }

    // ---- memory -----------------------------------------------------------------------------------

    private DeviceTensor.Allocation allocate(long bytes) {
        long address = bytes == 0 ? 0 : driver.malloc(bytes);
        DeviceTensor.Allocation a = new DeviceTensor.Allocation(this, address, bytes);
        live.add(a);
        return a;
    }

    /** Called by {@link DeviceTensor.Allocation#free()}: returns the memory to the driver. */
    void release(DeviceTensor.Allocation a) {
        if (closed || !live.remove(a)) return;
        if (a.address != 0) {
            ensureContext();
            driver.free(a.address);
        }
    }

    private DeviceTensor newTensor(DType dtype, Shape shape) {
        prepare();
        return new DeviceTensor(allocate((long) shape.size() * dtype.bytes()), dtype, shape, 0, true);
    }

    @Override
    public Tensor alloc(DType dtype, Shape shape) {
        DeviceTensor t = newTensor(dtype, shape);
        if (t.bytes() > 0) driver.memsetD8(t.address(), (byte) 0, t.bytes(), stream);
        return t;
    }

    @Override
    public Tensor upload(float[] host, Shape shape) {
        checkSize(host.length, shape);
        DeviceTensor t = newTensor(DType.F32, shape);
        if (host.length > 0) driver.copyToDevice(t.address(), host, 0, host.length, stream);
        return t;
    }

    @Override
    public Tensor upload(double[] host, Shape shape) {
        checkSize(host.length, shape);
        DeviceTensor t = newTensor(DType.F64, shape);
        if (host.length > 0) driver.copyToDevice(t.address(), host, 0, host.length, stream);
        return t;
    }

    @Override
    public Tensor upload(byte[] host, Shape shape) {
        checkSize(host.length, shape);
        DeviceTensor t = newTensor(DType.U8, shape);
        if (host.length > 0) driver.copyToDevice(t.address(), host, 0, host.length, stream);
        return t;
    }

    @Override
    public Tensor upload(int[] host, Shape shape) {
        checkSize(host.length, shape);
        DeviceTensor t = newTensor(DType.I32, shape);
        if (host.length > 0) driver.copyToDevice(t.address(), host, 0, host.length, stream);
        return t;
    }

    private static void checkSize(int n, Shape shape) {
        if (n != shape.size()) throw new IllegalArgumentException(n + " host elements for shape " + shape);
    }

    @Override
    public void write(Tensor dst, float[] host) {
        DeviceTensor d = dev(dst, "dst");
        checkSize(host.length, d.shape());
        prepare();
        if (host.length == 0) return;
        switch (d.dtype()) {
            case F32 -> driver.copyToDevice(d.address(), host, 0, host.length, stream);
            case F64 -> {
                double[] w = new double[host.length];
                for (int i = 0; i < w.length; i++) w[i] = host[i];
                driver.copyToDevice(d.address(), w, 0, w.length, stream);
            }
            default -> throw new IllegalArgumentException("write(float[]) needs an F32 or F64 tensor, got " + d.dtype());
        }
    }

    @Override
    public void write(Tensor dst, int[] host) {
        DeviceTensor d = dev(dst, "dst");
        checkSize(host.length, d.shape());
        if (d.dtype() != DType.I32) throw new IllegalArgumentException("write(int[]) needs an I32 tensor, got " + d.dtype());
        prepare();
        if (host.length > 0) driver.copyToDevice(d.address(), host, 0, host.length, stream);
    }

    @Override
    public void write(Tensor dst, double[] host) {
        DeviceTensor d = dev(dst, "dst");
        checkSize(host.length, d.shape());
        prepare();
        if (host.length == 0) return;
        switch (d.dtype()) {
            case F64 -> driver.copyToDevice(d.address(), host, 0, host.length, stream);
            case F32 -> {
                float[] w = new float[host.length];
                for (int i = 0; i < w.length; i++) w[i] = (float) host[i];
                driver.copyToDevice(d.address(), w, 0, w.length, stream);
            }
            default -> throw new IllegalArgumentException("write(double[]) needs an F32 or F64 tensor, got " + d.dtype());
        }
    }

    @Override
    public double[] download(Tensor t) {
        DeviceTensor d = dev(t, "tensor");
        prepare();
        int n = d.size();
        double[] out = new double[n];
        if (n > 0) {
            switch (d.dtype()) {
                case F32 -> {
                    float[] f = new float[n];
                    driver.copyToHost(f, 0, n, d.address(), stream);
                    for (int i = 0; i < n; i++) out[i] = f[i];
                }
                case F64 -> driver.copyToHost(out, 0, n, d.address(), stream);
                case I32 -> {
                    int[] v = new int[n];
                    driver.copyToHost(v, 0, n, d.address(), stream);
                    for (int i = 0; i < n; i++) out[i] = v[i];
                }
                case U8 -> {
                    byte[] v = new byte[n];
                    driver.copyToHost(v, 0, n, d.address(), stream);
                    for (int i = 0; i < n; i++) out[i] = v[i] & 0xff;
                }
            }
        }
        checkGatherErrors();
        return out;
    }

    /** The F32 tensor's values as floats, without the widening of {@link #download} (waits). */
    public float[] downloadFloats(Tensor t) {
        DeviceTensor d = f32(t, "tensor");
        prepare();
        float[] f = new float[d.size()];
        if (f.length > 0) driver.copyToHost(f, 0, f.length, d.address(), stream);
        checkGatherErrors();
        return f;
    }

    /** The I32 tensor's values (waits); for the raw Philox words of {@link #philoxWords}. */
    public int[] downloadInts(Tensor t) {
        DeviceTensor d = dev(t, "tensor");
        if (d.dtype() != DType.I32) throw new IllegalArgumentException("downloadInts needs an I32 tensor, got " + d.dtype());
        prepare();
        int[] v = new int[d.size()];
        if (v.length > 0) driver.copyToHost(v, 0, v.length, d.address(), stream);
        checkGatherErrors();
        return v;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        DeviceTensor s = dev(src, "src"), d = dev(dst, "dst");
        if (s.dtype() != d.dtype() || s.size() != d.size()) throw new IllegalArgumentException("copy " + s + " to " + d);
        prepare();
        if (s.bytes() > 0 && s.address() != d.address()) driver.copyDeviceToDevice(d.address(), s.address(), s.bytes(), stream);
    }

    @Override
    public void fill(Tensor t, double value) {
        DeviceTensor d = dev(t, "tensor");
        prepare();
        long n = d.size();
        if (n == 0) return;
        switch (d.dtype()) {
            case F32 -> driver.memsetD32(d.address(), Float.floatToRawIntBits((float) value), n, stream);
            case I32 -> driver.memsetD32(d.address(), (int) value, n, stream);
            case U8 -> driver.memsetD8(d.address(), (byte) (int) value, n, stream);
            case F64 -> {
                long bits = Double.doubleToRawLongBits(value);
                if (bits == 0) {
                    driver.memsetD8(d.address(), (byte) 0, d.bytes(), stream);
                } else {
                    args.clear().ptr(d.address()).i64(n).i64(bits);
                    launch(Kernels.FILL_U64, Kernels.blocks(Kernels.ceilDiv(n, 2), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.FILL_U64)));
                }
            }
        }
    }

    @Override
    public double sum(Tensor t) {
        DeviceTensor d = dev(t, "tensor");
        prepare();
        reduce(d, 0, control.address + CTL_SUM, false);
        driver.copyToHost(oneDouble, 0, 1, control.address + CTL_SUM, stream);
        checkGatherErrors();
        return oneDouble[0];
    }

    @Override
    public void accumulate(Tensor x, double scale, Tensor acc) {
        DeviceTensor d = dev(x, "x"), a = dev(acc, "acc");
        if (a.dtype() != DType.F64 || a.size() != 1) {
            throw new IllegalArgumentException("accumulator must be a 1-element F64 tensor, got " + a);
        }
        if (d.overlaps(a)) throw new IllegalArgumentException("accumulate: x and acc overlap");
        prepare();
        reduce(d, scale, a.address(), true);
    }

    private void reduce(DeviceTensor x, double scale, long out, boolean accumulate) {
        KernelSpec k = switch (x.dtype()) {
            case F32 -> Kernels.SUM_F32;
            case F64 -> Kernels.SUM_F64;
            case I32 -> Kernels.SUM_I32;
            case U8 -> Kernels.SUM_U8;
        };
        long n = x.size();
        args.clear().ptr(x.address()).i64(n).ptr(control.address + CTL_PARTIALS).ptr(control.address + CTL_COUNTER)
                .ptr(out).f64(scale).i32(accumulate ? 1 : 0);
        launch(k, Kernels.reduceBlocks(n));
    }

    // ---- linear.cu: CudaLinear --------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, Tensor a, Tensor b, double beta, Tensor c) {
        CudaLinear.gemm(this, transA, transB, alpha, a, b, beta, c);
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor bias, Activation act, Tensor y) {
        if (!ltOn || !lt.forward(this, x, w, bias, act, y, tf32)) Backend.super.linearForward(x, w, bias, act, y);
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW, Tensor dBias,
                               Tensor dx) {
        // Under capture, dW (with dBias on cuBLASLt) on the side stream beside dx: disjoint outputs,
        // the same GEMMs, so the same bits as the eager single-stream order.
        SideStream fork = capturing && side != null && dx != null ? side : null;
        if (ltOn && lt.backward(this, x, w, y, dy, act, dW, dBias, dx, tf32, fork)) return;
        if (fork == null) {
            Backend.super.linearBackward(x, w, y, dy, act, dW, dBias, dx);
            return;
        }
        biasActivationBackward(y, dy, act, dBias);
        fork.fork(stream);
        CudaLinear.gemm(this, fork.blas(), true, false, 1, dy, x, 0, dW);
        gemm(false, false, 1, dy, w, 0, dx);
        fork.join(stream);
    }

    @Override
    public int reluMaskRowBytes(int cols) {
        return ltOn ? CublasLt.maskRowBytes(cols) : 0;
    }

    @Override
    public boolean linearForwardMasked(Tensor x, Tensor w, Tensor bias, Activation act, Tensor y, Tensor mask) {
        if (ltOn && act == Activation.RELU && mask != null && lt.forward(this, x, w, bias, act, y, tf32, mask)) return true;
        linearForward(x, w, bias, act, y);
        return false;
    }

    @Override
    public void linearBackwardReluInput(Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW, Tensor dBias,
                                        Tensor dx, Tensor xMask, Tensor xBiasGrad) {
        SideStream fork = capturing && side != null ? side : null;
        if (ltOn && lt.backwardReluInput(this, x, w, y, dy, act, dW, dBias, dx, xMask, xBiasGrad, tf32, fork)) return;
        Backend.super.linearBackwardReluInput(x, w, y, dy, act, dW, dBias, dx, xMask, xBiasGrad);
    }

    @Override
    public void biasActivation(Tensor y, Tensor bias, Activation act) {
        CudaLinear.biasActivation(this, y, bias, act);
    }

    @Override
    public void biasActivationBackward(Tensor y, Tensor dy, Activation act, Tensor dBias) {
        CudaLinear.biasActivationBackward(this, y, dy, act, dBias);
    }

    // ---- latent.cu: CudaLatent; random.cu: CudaRandom ---------------------------------------------

    @Override
    public void latentForward(Tensor stats, RngKey key, Tensor eps, Tensor z, Tensor kl, Tensor logRatio) {
        CudaLatent.latentForward(this, stats, key, eps, z, kl, logRatio);
    }

    @Override
    public void latentBackward(Tensor stats, Tensor eps, Tensor dz, double klWeight, Tensor dStats) {
        CudaLatent.latentBackward(this, stats, eps, dz, klWeight, dStats);
    }

    @Override
    public void normal(RngKey key, Tensor z) {
        CudaRandom.normal(this, key, z);
    }

    /** Uniform floats of elements 0 .. out.size of the key (Philox.uniforms), into an F32 tensor. */
    public void uniform(RngKey key, Tensor out) {
        CudaRandom.uniform(this, key, out);
    }

    /**
     * The raw Philox words of blocks {@code firstBlock ..} of the key into an I32 tensor of 4 x blocks
     * elements (the generator parity test compares them with {@code Philox.block}).
     */
    public void philoxWords(RngKey key, long firstBlock, Tensor out) {
        CudaRandom.philoxWords(this, key, firstBlock, out);
    }

    // ---- likelihood.cu: CudaLikelihood ------------------------------------------------------------

    @Override
    public void likelihood(Likelihood lik, Tensor out, Tensor x, Tensor logVar, double gradScale, Tensor rowLoss,
                           Tensor dOut, Tensor dLogVar) {
        CudaLikelihood.likelihood(this, lik, out, x, logVar, gradScale, rowLoss, dOut, dLogVar);
    }

    @Override
    public void likelihoodMean(Likelihood lik, Tensor out, Tensor mean) {
        CudaLikelihood.likelihoodMean(this, lik, out, mean);
    }

    // ---- optim.cu: CudaOptim ----------------------------------------------------------------------

    @Override
    public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, long step) {
        CudaOptim.adam(this, param, grad, m, v, cfg, step);
    }

    // ---- data.cu: CudaData ------------------------------------------------------------------------

    @Override
    public void gather(Tensor dataset, Tensor index, int from, Binarization mode, RngKey key, Tensor out) {
        CudaData.gather(this, dataset, index, from, mode, key, out);
    }

    // ---- autoencoder.cu: CudaAutoencoder ----------------------------------------------------------

    @Override
    public void corrupt(dev.elbo4j.backend.Corruption kind, double level, RngKey key, Tensor x, Tensor out) {
        CudaAutoencoder.corrupt(this, kind, level, key, x, out);
    }

    @Override
    public void sparsityForward(Tensor code, double rho, Tensor rhoHat, Tensor kl) {
        CudaAutoencoder.sparsityForward(this, code, rho, rhoHat, kl);
    }

    @Override
    public void sparsityBackward(Tensor rhoHat, double rho, double scale, Tensor dCode) {
        CudaAutoencoder.sparsityBackward(this, rhoHat, rho, scale, dCode);
    }

    // ---- iwae.cu: CudaIwae ------------------------------------------------------------------------

    @Override
    public void iwaeWeights(Tensor rowLoss, Tensor logRatio, Tensor weights, Tensor loss) {
        CudaIwae.iwaeWeights(this, rowLoss, logRatio, weights, loss);
    }

    @Override
    public void iwaeScaleRows(Tensor weights, double scale, Tensor dOut, Tensor logVar, Tensor dLogVar) {
        CudaIwae.iwaeScaleRows(this, weights, scale, dOut, logVar, dLogVar);
    }

    @Override
    public void iwaeLatentBackward(Tensor stats, Tensor eps, Tensor z, Tensor dz, Tensor weights, double scale, Tensor dStats) {
        CudaIwae.iwaeLatentBackward(this, stats, eps, z, dz, weights, scale, dStats);
    }

    // ---- classify.cu: CudaClassify ----------------------------------------------------------------

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor target, double gradScale, Tensor loss, Tensor dLogits) {
        CudaClassify.softmaxCrossEntropy(this, logits, target, gradScale, loss, dLogits);
    }

    @Override
    public void unlabelledBound(Tensor logits, Tensor rec, Tensor kl, double klWeight, double offset, double gradScale,
                                Tensor u, Tensor weights, Tensor dLogits) {
        CudaClassify.unlabelledBound(this, logits, rec, kl, klWeight, offset, gradScale, u, weights, dLogits);
    }

    @Override
    public void scaleRows(Tensor x, Tensor w, double scale) {
        CudaClassify.scaleRows(this, x, w, scale);
    }

    @Override
    public void latentBackwardRows(Tensor stats, Tensor eps, Tensor dz, Tensor klWeights, double klWeight, int klRows,
                                   Tensor dStats) {
        CudaClassify.latentBackwardRows(this, stats, eps, dz, klWeights, klWeight, klRows, dStats);
    }

    // ---- fvbm.cu: CudaFvbm ---------------------------------------------------------------------------

    @Override
    public void fvbmStep(Tensor x, Tensor bias, Tensor weight, Tensor scratch, Tensor rowLoss, Tensor dBias, Tensor dWeight) {
        CudaFvbm.step(this, x, bias, weight, scratch, rowLoss, dBias, dWeight);
    }

    // ---- rbm.cu: CudaRbm --------------------------------------------------------------------------

    @Override
    public void rbmGibbsHalf(Tensor act, Tensor bias, double beta, Tensor base, RngKey key, Tensor prob, Tensor sample) {
        CudaRbm.rbmGibbsHalf(this, act, bias, beta, base, key, prob, sample);
    }

    @Override
    public void rbmFreeEnergy(Tensor v, Tensor hAct, Tensor visBias, Tensor hidBias, double beta, Tensor base, Tensor out) {
        CudaRbm.rbmFreeEnergy(this, v, hAct, visBias, hidBias, beta, base, out);
    }

    // ---- flow.cu: CudaFlow ------------------------------------------------------------------------

    @Override
    public void planarForward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor zK, Tensor logDet, Tensor kl, Tensor logRatio) {
        CudaFlow.planarForward(this, z0, u, w, b, zK, logDet, kl, logRatio);
    }

    @Override
    public void planarBackward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor dzK, double weight,
                               Tensor dz0, Tensor dU, Tensor dW, Tensor dB, Tensor scratch) {
        CudaFlow.planarBackward(this, z0, u, w, b, dzK, weight, dz0, dU, dW, dB, scratch);
    }

    @Override
    public void niceSplit(Tensor x, RngKey key, Tensor a, Tensor b) {
        CudaFlow.niceSplit(this, x, key, a, b);
    }

    @Override
    public void niceAdd(Tensor y, Tensor shift, double sign) {
        CudaFlow.niceAdd(this, y, shift, sign);
    }

    @Override
    public void nicePrior(Tensor h, Tensor s, boolean logistic, boolean accumulate, double gradScale,
                          Tensor rowLogP, Tensor dh, Tensor ds) {
        CudaFlow.nicePrior(this, h, s, logistic, accumulate, gradScale, rowLogP, dh, ds);
    }

    @Override
    public void nicePriorSample(RngKey key, Tensor s, boolean logistic, Tensor h) {
        CudaFlow.nicePriorSample(this, key, s, logistic, h);
    }

    // ---- conv.cu: CudaConv ------------------------------------------------------------------------

    @Override
    public void im2col(Tensor x, dev.elbo4j.backend.ConvGeometry g, Tensor cols) {
        CudaConv.im2col(this, x, g, cols);
    }

    @Override
    public void col2im(Tensor cols, dev.elbo4j.backend.ConvGeometry g, Tensor dx) {
        CudaConv.col2im(this, cols, g, dx);
    }

    @Override
    public void toChannelsFirst(Tensor rows, int pixels, Tensor images) {
        CudaConv.toChannelsFirst(this, rows, pixels, images);
    }

    @Override
    public void toChannelsLast(Tensor images, int pixels, Tensor rows) {
        CudaConv.toChannelsLast(this, images, pixels, rows);
    }

    @Override
    public void channelBiasActivation(Tensor y, Tensor bias, int channels, Activation act) {
        CudaConv.channelBiasActivation(this, y, bias, channels, act);
    }

    @Override
    public void channelBiasActivationBackward(Tensor y, Tensor dy, int channels, Activation act, Tensor dBias) {
        CudaConv.channelBiasActivationBackward(this, y, dy, channels, act, dBias);
    }

    // ---- the gathers' error word ------------------------------------------------------------------

    /** Reads (and clears) the gather kernel's error word; throws for an index outside the data set. */
    private void checkGatherErrors() {
        if (!gathersPending) return;
        driver.copyToHost(gatherError, 0, 2, control.address + CTL_GATHER_ERROR, stream);
        gatherErrorRead(gatherError[0], gatherError[1]);
    }

    /**
     * Enqueues a copy of the gathers' 64-bit error word to device address {@code dst} (8-byte
     * aligned), for a reader that brings it back with its own copy ({@link PinnedReader}) and hands
     * its two halves to {@link #gatherErrorRead}.
     */
    void copyGatherError(long dst) {
        prepare();
        driver.copyDeviceToDevice(dst, control.address + CTL_GATHER_ERROR, 8, stream);
    }

    /**
     * Takes the gathers' error word read after the work so far (little-endian halves: the index,
     * the row; row -1 when clean): clears the pending check; throws for a bad index.
     */
    void gatherErrorRead(int index, int row) {
        gathersPending = false;
        if (row != -1) {
            driver.memsetD32(control.address + CTL_GATHER_ERROR, -1, 2, stream);
            throw new IndexOutOfBoundsException("gather: index " + index + " outside data set of " + lastGatherExamples
                    + " (row " + row + ", the first bad row of the gather, found by the device; its row was filled with NaN)");
        }
    }

    // ---- synchronisation, timing, graphs ----------------------------------------------------------

    /** Waits for all enqueued work; reports a bad gather index found since the last check. */
    @Override
    public void synchronize() {
        prepare();
        driver.synchronize(stream);
        checkGatherErrors();
    }

    /** Runs {@code work} between two events on the stream and returns the device time in milliseconds (waits). */
    public float time(Runnable work) {
        prepare();
        long start = driver.createEvent(), end = 0;
        try {
            end = driver.createEvent();
            driver.recordEvent(start, stream);
            work.run();
            driver.recordEvent(end, stream);
            driver.synchronizeEvent(end);
            return driver.elapsedMillis(start, end);
        } finally {
            driver.destroyEvent(start);
            if (end != 0) driver.destroyEvent(end);
        }
    }

    /**
     * Captures the work {@code body} enqueues into a graph (nothing runs now). The body must not
     * read back to the host (download, sum) or allocate: run it once eagerly first so scratch buffers
     * exist. If it throws, the capture is abandoned and the exception rethrown. The first capture
     * creates the second stream, cuBLAS handle and workspace that {@link #linearBackward} forks its
     * weight gradient onto while capturing ({@link SideStream}).
     */
    public CudaGraph capture(Runnable body) {
        prepare();
        if (side == null) {
            side = new SideStream(driver, blasLibrary, lt == null ? null : ltLibrary,
                    blasWorkspace == null ? 0 : blasWorkspace.bytes, tf32);
        }
        driver.beginCapture(stream);
        long graph;
        long gathersBefore = gathersLaunched;
        capturing = true;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            capturing = false;
            try {
                driver.destroyGraph(driver.endCapture(stream));
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        capturing = false;
        graph = driver.endCapture(stream);
        try {
            return new CudaGraph(this, graph, driver.instantiateGraph(graph), gathersLaunched != gathersBefore);
        } catch (RuntimeException e) {
            driver.destroyGraph(graph);
            throw e;
        }
    }

    /** Replays a graph; one that gathers leaves its error word to be checked at the next read. */
    void launchGraph(long exec, boolean gathers) {
        prepare();
        driver.launchGraph(exec, stream);
        if (gathers) gathersPending = true;
    }

    void destroyGraph(long graph, long exec) {
        if (closed) return;
        ensureContext();
        driver.destroyGraphExec(exec);
        driver.destroyGraph(graph);
    }

    /** A device-resident 64-bit counter starting at {@code initial}. */
    public DeviceCounter counter(long initial) {
        DeviceCounter c = new DeviceCounter(this, newTensor(DType.I32, Shape.of(2)));
        writeCounter(c, initial);
        return c;
    }

    /**
     * From now on, kernels drawing from RNG stream {@code rngStream} read their step from
     * {@code counter} (null: from the RngKey again).
     */
    public void bindRngStep(int rngStream, DeviceCounter counter) {
        if (rngStream < 0 || rngStream > 255) throw new IllegalArgumentException("stream must be in [0, 255], got " + rngStream);
        if (counter != null) own(counter);
        rngSteps[rngStream] = counter;
    }

    /**
     * From now on, {@link #latentBackward}, {@link #planarBackward}, {@link #unlabelledBound} and
     * {@link #latentBackwardRows} ignore their weight argument and read the KL weight of the
     * batch's summed loss from {@code cell} (one F64) on the device, dividing it by their rows as a
     * mean loss's caller divides it (stats' B, z0's rows; the unlabelled bound's per-row weight
     * undivided; latentBackwardRows by its klRows): a KL warm-up weight that a replayed graph must
     * not freeze. Null: from the argument again.
     */
    public void bindKlWeight(Tensor cell) {
        if (cell == null) {
            klWeightAt = 0;
            return;
        }
        DeviceTensor c = dev(cell, "KL weight");
        if (c.dtype() != DType.F64 || c.size() != 1) throw new IllegalArgumentException("the KL weight cell must be one F64, got " + c.dtype() + " " + c.shape());
        klWeightAt = c.address();
    }

    /**
     * From now on, {@link #adam} takes its step (counting from 1) from {@code counter} and folds the
     * bias corrections on the device (null: from its argument again).
     */
    public void bindAdamStep(DeviceCounter counter) {
        if (counter != null) own(counter);
        adamStep = counter;
    }

    private void own(DeviceCounter c) {
        if (c.cell().backend() != this) throw new IllegalArgumentException("counter belongs to another backend");
    }

    void unbind(DeviceCounter c) {
        for (int i = 0; i < rngSteps.length; i++) if (rngSteps[i] == c) rngSteps[i] = null;
        if (adamStep == c) adamStep = null;
    }

    void addToCounter(DeviceCounter c, long delta) {
        prepare();
        args.clear().ptr(c.address()).i64(delta);
        launch(Kernels.COUNTER_ADD_U64, 1);
    }

    long readCounter(DeviceCounter c) {
        prepare();
        driver.copyToHost(twoInts, 0, 2, c.address(), stream);
        return (twoInts[0] & 0xffffffffL) | ((long) twoInts[1] << 32);
    }

    void writeCounter(DeviceCounter c, long value) {
        prepare();
        twoInts[0] = (int) value;
        twoInts[1] = (int) (value >>> 32);
        driver.copyToDevice(c.address(), twoInts, 0, 2, stream);
    }

    // ---- for the device-resident step (StepGuard) -------------------------------------------------

    /** Enqueues out[0] = sum of x (double) at device address {@code out}. */
    void sumInto(DeviceTensor x, long out) {
        prepare();
        reduce(x, 0, out, false);
    }

    // ---- for the launchers (the Cuda* class of each kernels/*.cu) ---------------------------------

    /** The backend's one argument list, as it is (the launchers clear it after their checks). */
    KernelArgs args() {
        return args;
    }

    /** Appends the RNG arguments of {@code key}: its words, stream and step, and the step counter bound to its stream (0: none). */
    void key(RngKey key) {
        DeviceCounter bound = rngSteps[key.stream()];
        args.i32(key.key0()).i32(key.key1()).i32(key.stream()).i64(key.step()).ptr(bound == null ? 0 : bound.address());
    }

    /**
     * Column partials (learned variance, row-chunked sums): grow-only, so the steady state allocates
     * nothing. A smaller buffer it outgrows is kept until the backend closes, not freed: a graph
     * captured over it (a replayed training step) still writes there.
     */
    long columnScratch(long bytes) {
        if (columnScratch == null || columnScratch.bytes < bytes) {
            columnScratch = allocate(Math.max(bytes, 2 * (columnScratch == null ? 32L << 10 : columnScratch.bytes)));
        }
        return columnScratch.address;
    }

    /** Dynamic shared memory a launch of the Gaussian kernel may ask for: 48 KiB less its static shared memory. */
    int gaussianMaxDynamicShared() {
        return gaussianMaxDynamicShared;
    }

    /** Where latentBackward and planarBackward read the KL weight of the summed loss (0: their argument; {@link #bindKlWeight}). */
    long klWeightAt() {
        return klWeightAt;
    }

    /** The counter Adam reads its step from (null: its argument; {@link #bindAdamStep}). */
    DeviceCounter adamStep() {
        return adamStep;
    }

    /** cuBLAS on this backend's stream. */
    CudaBlas blas() {
        return blas;
    }

    /** Device address of the gathers' 64-bit error word. */
    long gatherErrorAddress() {
        return control.address + CTL_GATHER_ERROR;
    }

    /** Records a gather launch over a data set of {@code examples} rows: its error word is checked at the next read. */
    void gatherLaunched(int examples) {
        gathersPending = true;
        gathersLaunched++;
        lastGatherExamples = examples;
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    /** The backend's stream (for a reader that orders its own copies on it). */
    long stream() {
        return stream;
    }

    /** True once {@link #close()} ran (its context, and the pinned memory made in it, are gone). */
    boolean isClosed() {
        return closed;
    }

    /** The driver with this backend's context current (PinnedReader), and a kernel's function handle (tests that launch past the backend's checks). */
    CudaDriver driver() {
        prepare();
        return driver;
    }

    long function(KernelSpec k) {
        return functions.get(k);
    }

    /** Blocks of {@code k} that fill the device once at its occupancy (what the grid-stride launches use). */
    int wave(KernelSpec k) {
        return wave.get(k);
    }

    /** A 1-D launch of {@code grid} blocks of the kernel's threads. */
    void launch(KernelSpec k, int grid) {
        launch(k, grid, 1, k.threads(), 1, 0);
    }

    void launch(KernelSpec k, int gridX, int gridY, int blockX, int blockY, int sharedBytes) {
        if (blockX * blockY != k.threads()) {
            throw new IllegalStateException(k.name() + " is built for " + k.threads() + " threads per block, not "
                    + blockX + " x " + blockY);
        }
        k.check(args);
        driver.launch(functions.get(k), gridX, gridY, 1, blockX, blockY, 1, sharedBytes, stream, args);
    }

    /** Checks the backend is open and its context current on this thread. */
    void prepare() {
        if (closed) throw new IllegalStateException("the CUDA backend is closed");
        ensureContext();
    }

    private void ensureContext() {
        Thread t = Thread.currentThread();
        if (t != contextThread) {
            driver.setCurrentContext(context);
            contextThread = t;
        }
    }

    DeviceTensor dev(Tensor t, String what) {
        if (t == null) throw new IllegalArgumentException(what + " is null");
        if (t instanceof DeviceTensor d && d.backend() == this) return d;
        throw new IllegalArgumentException("tensor " + what + " " + t + " does not belong to this CUDA backend");
    }

    DeviceTensor f32(Tensor t, String what) {
        DeviceTensor d = dev(t, what);
        if (d.dtype() == DType.F32) return d;
        if (d.dtype() == DType.F64) {
            throw new UnsupportedOperationException("the CUDA backend computes in F32 only; " + what
                    + " is F64 (F64 models run on the CPU backend)");
        }
        throw new IllegalArgumentException(what + " must be F32, got " + d.dtype());
    }

    /** Frees every device object of this backend and releases the context; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        RuntimeException failure = null;
        try {
            ensureContext();
            driver.synchronize(stream);
        } catch (RuntimeException e) {
            failure = e;
        }
        closed = true;
        for (DeviceTensor.Allocation a : new ArrayList<>(live)) {
            a.markFreed();
            if (a.address != 0) {
                try {
                    driver.free(a.address);
                } catch (RuntimeException e) {
                    if (failure == null) failure = e; else failure.addSuppressed(e);
                }
            }
        }
        live.clear();
        List<Runnable> steps = List.of(() -> {
            if (side != null) side.close();
        }, () -> {
            if (lt != null) lt.close();
        }, blas::close, () -> driver.unloadModule(module), () -> driver.destroyStream(stream),
                () -> driver.releasePrimaryContext(ordinal), driver::close);
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (failure == null) failure = e; else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }
}
