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

    /** Bytes of device memory held by live tensors and the backend's own buffers. */
    public long allocatedBytes() {
        long b = 0;
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

    // ---- linear.cu --------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, Tensor a, Tensor b, double beta, Tensor c) {
        DeviceTensor da = f32(a, "A"), db = f32(b, "B"), dc = f32(c, "C");
        int m = transA ? da.cols() : da.rows();
        int k = transA ? da.rows() : da.cols();
        int kb = transB ? db.cols() : db.rows();
        int n = transB ? db.rows() : db.cols();
        if (k != kb || dc.rows() != m || dc.cols() != n) {
            throw new IllegalArgumentException("gemm shapes do not agree: op(A) " + m + "x" + k + ", op(B) " + kb + "x" + n
                    + ", C " + dc.shape());
        }
        if (dc.overlaps(da) || dc.overlaps(db)) throw new IllegalArgumentException("gemm: C must not overlap A or B");
        prepare();
        if (m == 0 || n == 0) return;
        // Leading dimensions are the row strides as stored; max(1, .) keeps cuBLAS's checks happy for k = 0.
        blas.sgemm(transA, transB, m, n, k, (float) alpha, da.address(), Math.max(1, da.cols()), db.address(),
                Math.max(1, db.cols()), (float) beta, dc.address(), Math.max(1, n));
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor bias, Activation act, Tensor y) {
        if (!ltOn || !lt.forward(this, x, w, bias, act, y, tf32)) Backend.super.linearForward(x, w, bias, act, y);
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW, Tensor dBias,
                               Tensor dx) {
        if (!ltOn || !lt.backward(this, x, w, y, dy, act, dW, dBias, dx, tf32)) {
            Backend.super.linearBackward(x, w, y, dy, act, dW, dBias, dx);
        }
    }

    static int activationCode(Activation act) {
        return switch (act) {
            case IDENTITY -> 0;
            case RELU -> 1;
            case TANH -> 2;
            case SIGMOID -> 3;
        };
    }

    @Override
    public void biasActivation(Tensor y, Tensor bias, Activation act) {
        DeviceTensor dy = f32(y, "y");
        DeviceTensor db = bias == null ? null : f32(bias, "bias");
        int rows = dy.rows(), cols = dy.cols();
        if (db != null && db.size() != cols) throw new IllegalArgumentException("bias of " + db.size() + " for rows of " + cols);
        prepare();
        if (dy.size() == 0 || (act == Activation.IDENTITY && db == null)) return;
        long work = cols % 4 == 0 ? dy.size() / 4 : dy.size();
        args.clear().ptr(dy.address()).ptr(db == null ? 0 : db.address()).i32(rows).i32(cols).i32(activationCode(act));
        launch(Kernels.BIAS_ACT, Kernels.blocks(work, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.BIAS_ACT)));
    }

    @Override
    public void biasActivationBackward(Tensor y, Tensor dy, Activation act, Tensor dBias) {
        DeviceTensor vy = f32(y, "y"), g = f32(dy, "dy");
        DeviceTensor db = dBias == null ? null : f32(dBias, "dBias");
        int rows = vy.rows(), cols = vy.cols();
        if (g.size() != vy.size() || (db != null && db.size() != cols)) {
            throw new IllegalArgumentException("bias/activation backward: y " + vy.shape() + ", dy " + g.shape()
                    + (db == null ? "" : ", dBias " + db.shape()));
        }
        prepare();
        if (db == null) {
            if (act == Activation.IDENTITY || vy.size() == 0) return;
            args.clear().ptr(vy.address()).ptr(g.address()).i64(vy.size()).i32(activationCode(act));
            launch(Kernels.ACT_BACKWARD, Kernels.blocks(Kernels.ceilDiv(vy.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.ACT_BACKWARD)));
            return;
        }
        if (cols == 0) return;
        long partial = columnPartials(rows, cols);
        args.clear().ptr(vy.address()).ptr(g.address()).ptr(partial).ptr(db.address()).i32(rows).i32(cols)
                .i32(Kernels.columnChunkRows(rows)).i32(activationCode(act));
        launchColumns(Kernels.BIAS_ACT_BACKWARD, rows, cols, partial, db.address(), 1.0);
    }

    // ---- latent.cu --------------------------------------------------------------------------------

    @Override
    public void latentForward(Tensor stats, RngKey key, Tensor eps, Tensor z, Tensor kl, Tensor logRatio) {
        DeviceTensor s = f32(stats, "stats"), e = f32(eps, "eps"), zz = f32(z, "z");
        DeviceTensor k = kl == null ? null : f32(kl, "kl");
        DeviceTensor lr = logRatio == null ? null : f32(logRatio, "logRatio");
        checkLatentShapes(s, e, zz);
        int b = s.rows(), zd = s.cols() / 2, rows = zz.rows();
        if (k != null && k.size() != b) throw new IllegalArgumentException("kl needs " + b + " elements, has " + k.shape());
        if (lr != null && lr.size() != rows) {
            throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + lr.shape());
        }
        prepare();
        int group = Kernels.latentGroup(zd);
        int rowsPerBlock = Kernels.BLOCK_LATENT / group;
        args.clear().ptr(s.address()).ptr(e.address()).ptr(zz.address()).ptr(k == null ? 0 : k.address())
                .ptr(lr == null ? 0 : lr.address()).i32(b).i32(zd).i32(rows).i32(group);
        key(key);
        launch(Kernels.LATENT_FORWARD, Kernels.blocks(rows, rowsPerBlock, wave.get(Kernels.LATENT_FORWARD)));
    }

    @Override
    public void latentBackward(Tensor stats, Tensor eps, Tensor dz, double klWeight, Tensor dStats) {
        DeviceTensor s = f32(stats, "stats"), e = f32(eps, "eps"), g = f32(dz, "dz"), ds = f32(dStats, "dStats");
        checkLatentShapes(s, e, g);
        if (ds.size() != s.size()) {
            throw new IllegalArgumentException("dStats " + ds.shape() + " must match stats " + s.shape());
        }
        prepare();
        int b = s.rows(), zd = s.cols() / 2, samples = g.rows() / b;
        args.clear().ptr(s.address()).ptr(e.address()).ptr(g.address()).ptr(ds.address()).i32(b).i32(zd).i32(samples)
                .f64(klWeight).ptr(klWeightAt);
        launch(Kernels.LATENT_BACKWARD, Kernels.blocks((long) b * zd, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.LATENT_BACKWARD)));
    }

    private static void checkLatentShapes(DeviceTensor stats, DeviceTensor eps, DeviceTensor z) {
        int b = stats.rows(), zd = stats.cols() / 2;
        if (stats.cols() % 2 != 0 || b == 0 || zd == 0) {
            throw new IllegalArgumentException("stats must be B x 2Z, got " + stats.shape());
        }
        if (z.cols() != zd || eps.cols() != zd || z.rows() != eps.rows() || z.rows() % b != 0 || z.rows() == 0) {
            throw new IllegalArgumentException("latent shapes: stats " + stats.shape() + " needs eps and z of (L*" + b
                    + ") x " + zd + ", got eps " + eps.shape() + ", z " + z.shape());
        }
    }

    @Override
    public void normal(RngKey key, Tensor z) {
        DeviceTensor d = f32(z, "z");
        prepare();
        if (d.size() == 0) return;
        args.clear().ptr(d.address()).i64(d.size());
        key(key);
        launch(Kernels.NORMAL_F32, Kernels.blocks(Kernels.ceilDiv(d.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.NORMAL_F32)));
    }

    /** Uniform floats of elements 0 .. out.size of the key (Philox.uniforms), into an F32 tensor. */
    public void uniform(RngKey key, Tensor out) {
        DeviceTensor d = f32(out, "out");
        prepare();
        if (d.size() == 0) return;
        args.clear().ptr(d.address()).i64(d.size());
        key(key);
        launch(Kernels.UNIFORM_F32, Kernels.blocks(Kernels.ceilDiv(d.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.UNIFORM_F32)));
    }

    /**
     * The raw Philox words of blocks {@code firstBlock ..} of the key into an I32 tensor of 4 x blocks
     * elements (the generator parity test compares them with {@code Philox.block}).
     */
    public void philoxWords(RngKey key, long firstBlock, Tensor out) {
        DeviceTensor d = dev(out, "out");
        if (d.dtype() != DType.I32 || d.size() % 4 != 0) {
            throw new IllegalArgumentException("philoxWords needs an I32 tensor of 4 x blocks elements, got " + d);
        }
        if (firstBlock < 0) throw new IllegalArgumentException("negative first block " + firstBlock);
        prepare();
        long blocks = d.size() / 4;
        if (blocks == 0) return;
        args.clear().ptr(d.address()).i64(firstBlock).i64(blocks);
        key(key);
        launch(Kernels.PHILOX_U32, Kernels.blocks(blocks, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.PHILOX_U32)));
    }

    private void key(RngKey key) {
        DeviceCounter bound = rngSteps[key.stream()];
        args.i32(key.key0()).i32(key.key1()).i32(key.stream()).i64(key.step()).ptr(bound == null ? 0 : bound.address());
    }

    // ---- likelihood.cu ----------------------------------------------------------------------------

    @Override
    public void likelihood(Likelihood lik, Tensor out, Tensor x, Tensor logVar, double gradScale, Tensor rowLoss,
                           Tensor dOut, Tensor dLogVar) {
        DeviceTensor o = f32(out, "out"), xx = f32(x, "x"), rl = f32(rowLoss, "rowLoss");
        DeviceTensor g = dOut == null ? null : f32(dOut, "dOut");
        int rows = o.rows(), d = o.cols(), b = xx.rows();
        if (xx.cols() != d || b == 0 || rows % b != 0) {
            throw new IllegalArgumentException("likelihood: out " + o.shape() + " must be (L*B) x D for x " + xx.shape());
        }
        if (rl.size() != rows || (g != null && g.size() != o.size())) {
            throw new IllegalArgumentException("likelihood: rowLoss " + rl.shape() + " / dOut "
                    + (g == null ? "-" : g.shape()) + " do not fit out " + o.shape());
        }
        boolean learned = lik.learnsVariance();
        DeviceTensor lv = learned && logVar != null ? f32(logVar, "logVar") : null;
        DeviceTensor dlv = learned && dLogVar != null ? f32(dLogVar, "dLogVar") : null;
        if (learned && (lv == null || lv.size() != d || (g != null && (dlv == null || dlv.size() != d)))) {
            throw new IllegalArgumentException("learned-variance Gaussian needs logVar and dLogVar of " + d + " elements");
        }
        prepare();
        if (rows == 0) return;
        int rowsPerBlock = Kernels.rowsPerBlock(rows);
        int blocks = (int) Kernels.ceilDiv(rows, rowsPerBlock);
        switch (lik.kind()) {
            case BERNOULLI -> {
                args.clear().ptr(o.address()).ptr(xx.address()).ptr(rl.address()).ptr(g == null ? 0 : g.address())
                        .i32(rows).i32(b).i32(d).i32(rowsPerBlock).f32((float) gradScale);
                launch(Kernels.BERNOULLI, blocks);
            }
            case GAUSSIAN_FIXED, GAUSSIAN_LEARNED -> {
                double fixedLv = learned ? 0 : lik.fixedLogVar();
                boolean columns = learned && g != null;
                long partial = 0;
                int shared = 0;
                if (columns) {
                    partial = columnScratch((long) blocks * d * 8);
                    if ((long) d * 8 <= gaussianMaxDynamicShared) shared = d * 8;
                }
                args.clear().ptr(o.address()).ptr(xx.address()).ptr(lv == null ? 0 : lv.address()).ptr(rl.address())
                        .ptr(g == null ? 0 : g.address()).ptr(partial).i32(rows).i32(b).i32(d).i32(rowsPerBlock)
                        .i32(shared > 0 ? 1 : 0).f64(fixedLv).f32((float) Math.exp(-fixedLv)).f32((float) gradScale);
                launch(Kernels.GAUSSIAN, blocks, 1, Kernels.BLOCK_ROW, 1, shared);
                if (columns) {
                    args.clear().ptr(partial).ptr(dlv.address()).i32(blocks).i32(d).f64(gradScale);
                    launch(Kernels.GAUSSIAN_DLOGVAR, Kernels.blocks(Kernels.ceilDiv(d, Kernels.COLS_TILE_X), 1,
                            wave.get(Kernels.GAUSSIAN_DLOGVAR)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
                }
            }
        }
    }

    /** The chunk partials of a row-chunked column sum over rows x cols (kernels/columns.cuh); 0 for one chunk. */
    private long columnPartials(int rows, int cols) {
        int chunks = Kernels.columnChunks(rows);
        return chunks > 1 ? columnScratch((long) chunks * cols * Double.BYTES) : 0;
    }

    /**
     * Launches pass 1 of a row-chunked column sum (its arguments already in {@code args}) over one
     * wave of (column tile, chunk) items, then, for several chunks, the fixed-order second pass:
     * {@code out[c] = scale * sum of the chunk partials}.
     */
    private void launchColumns(KernelSpec pass1, int rows, int cols, long partial, long out, double scale) {
        int chunks = Kernels.columnChunks(rows);
        long tiles = Kernels.ceilDiv(cols, Kernels.COLS_TILE_X);
        launch(pass1, Kernels.blocks(tiles * chunks, 1, wave.get(pass1)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        if (chunks > 1) {
            args.clear().ptr(partial).ptr(out).i32(chunks).i32(cols).f64(scale);
            launch(Kernels.COLUMN_SUM, Kernels.blocks(tiles, 1, wave.get(Kernels.COLUMN_SUM)), 1,
                    Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        }
    }

    /**
     * Column partials (learned variance, row-chunked sums): grow-only, so the steady state allocates
     * nothing. A smaller buffer it outgrows is kept until the backend closes, not freed: a graph
     * captured over it (a replayed training step) still writes there.
     */
    private long columnScratch(long bytes) {
        if (columnScratch == null || columnScratch.bytes < bytes) {
            columnScratch = allocate(Math.max(bytes, 2 * (columnScratch == null ? 32L << 10 : columnScratch.bytes)));
        }
        return columnScratch.address;
    }

    @Override
    public void likelihoodMean(Likelihood lik, Tensor out, Tensor mean) {
        DeviceTensor o = f32(out, "out"), m = f32(mean, "mean");
        if (m.size() != o.size()) throw new IllegalArgumentException("mean " + m.shape() + " must match out " + o.shape());
        prepare();
        if (o.size() == 0) return;
        if (lik.kind() == Likelihood.Kind.BERNOULLI) {
            args.clear().ptr(o.address()).ptr(m.address()).i64(o.size());
            launch(Kernels.SIGMOID, Kernels.blocks(Kernels.ceilDiv(o.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.SIGMOID)));
        } else if (o.address() != m.address()) {
            driver.copyDeviceToDevice(m.address(), o.address(), o.bytes(), stream);
        }
    }

    // ---- optim.cu ---------------------------------------------------------------------------------

    @Override
    public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, long step) {
        DeviceTensor p = f32(param, "param"), g = f32(grad, "grad"), mm = f32(m, "m"), vv = f32(v, "v");
        int n = p.size();
        if (g.size() != n || mm.size() != n || vv.size() != n) {
            throw new IllegalArgumentException("adam: param " + p.shape() + ", grad " + g.shape() + ", m " + mm.shape()
                    + ", v " + vv.shape() + " must have the same size");
        }
        if (step < 1) throw new IllegalArgumentException("adam step counts from 1, got " + step);
        prepare();
        if (n == 0) return;
        // The constants exactly as CpuOptim folds them (double, then rounded to float).
        double bc1 = 1 - Math.pow(cfg.beta1(), step);
        double bc2 = 1 - Math.pow(cfg.beta2(), step);
        float b1 = (float) cfg.beta1(), b2 = (float) cfg.beta2();
        args.clear().ptr(p.address()).ptr(g.address()).ptr(mm.address()).ptr(vv.address()).i64(n)
                .f32(b1).f32(b2).f32(1 - b1).f32(1 - b2).f32((float) cfg.eps()).f32((float) (1 - cfg.lr() * cfg.weightDecay()))
                .f32((float) (cfg.lr() / bc1)).f32((float) (1 / Math.sqrt(bc2)))
                .ptr(adamStep == null ? 0 : adamStep.address()).f64(cfg.lr()).f64(cfg.beta1()).f64(cfg.beta2());
        launch(Kernels.ADAM, Kernels.blocks(Kernels.ceilDiv(n, 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.ADAM)));
    }

    // ---- data.cu ----------------------------------------------------------------------------------

    @Override
    public void gather(Tensor dataset, Tensor index, int from, Binarization mode, RngKey key, Tensor out) {
        DeviceTensor data = dev(dataset, "dataset"), idx = dev(index, "index");
        if (data.dtype() != DType.U8 || idx.dtype() != DType.I32) {
            throw new IllegalArgumentException("gather needs a U8 data set and an I32 index, got " + data.dtype() + ", "
                    + idx.dtype());
        }
        DeviceTensor o = f32(out, "out");
        int n = data.rows(), d = data.cols(), rows = o.rows();
        if (o.cols() != d || from < 0 || (long) from + rows > idx.size()) {
            throw new IllegalArgumentException("gather: data " + data.shape() + ", index " + idx.shape() + " from " + from
                    + " into " + o.shape());
        }
        prepare();
        if (o.size() == 0) return;
        int modeCode = switch (mode) {
            case NONE -> 0;
            case DYNAMIC -> 1;
            case FIXED -> 2;
        };
        long work = d % 4 == 0 ? (long) rows * (d / 4) : o.size();
        args.clear().ptr(data.address()).ptr(idx.address()).ptr(o.address()).ptr(control.address + CTL_GATHER_ERROR)
                .i32(from).i32(rows).i32(n).i32(d).i32(modeCode);
        key(key);
        launch(Kernels.GATHER, Kernels.blocks(work, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.GATHER)));
        gathersPending = true;
        gathersLaunched++;
        lastGatherExamples = n;
    }

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
     * exist. If it throws, the capture is abandoned and the exception rethrown.
     */
    public CudaGraph capture(Runnable body) {
        prepare();
        driver.beginCapture(stream);
        long graph;
        long gathersBefore = gathersLaunched;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            try {
                driver.destroyGraph(driver.endCapture(stream));
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
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
        DeviceTensor c = ownTensor(cell, "KL weight");
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

    /** The backend's one argument list, cleared, after checking the backend is open and current. */
    KernelArgs beginLaunch() {
        prepare();
        return args.clear();
    }

    /** Launches {@code k} on {@code grid} blocks with the arguments of {@link #beginLaunch}. */
    void launchPrepared(KernelSpec k, int grid) {
        launch(k, grid);
    }

    /** Enqueues out[0] = sum of x (double) at device address {@code out}. */
    void sumInto(DeviceTensor x, long out) {
        prepare();
        reduce(x, 0, out, false);
    }

    DeviceTensor ownF32(Tensor t, String what) {
        return f32(t, what);
    }

    DeviceTensor ownTensor(Tensor t, String what) {
        return dev(t, what);
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
    private void launch(KernelSpec k, int grid) {
        launch(k, grid, 1, k.threads(), 1, 0);
    }

    private void launch(KernelSpec k, int gridX, int gridY, int blockX, int blockY, int sharedBytes) {
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

    private DeviceTensor dev(Tensor t, String what) {
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

    // ---- autoencoder.cu: denoising and sparse autoencoders (issue 6) ----

    /** {@link Backend#corrupt} with {@code elbo4j_corrupt_f32}: one thread per Philox block of four elements. */
    @Override
    public void corrupt(dev.elbo4j.backend.Corruption kind, double level, RngKey key, Tensor x, Tensor out) {
        DeviceTensor dx = f32(x, "x"), o = f32(out, "out");
        if (dx.size() != o.size() || dx.rows() != o.rows()) {
            throw new IllegalArgumentException("corrupt: out " + o.shape() + " must match x " + dx.shape());
        }
        if (o.overlaps(dx) && o.address() != dx.address()) {
            throw new IllegalArgumentException("corrupt: out overlaps x without being x");
        }
        kind.checkLevel(level);
        prepare();
        long n = dx.size();
        if (n == 0) return;
        args.clear().ptr(dx.address()).ptr(o.address()).i64(n).i32(kind.ordinal()).f64(level);
        key(key);
        launch(Kernels.CORRUPT, Kernels.blocks(Kernels.ceilDiv(n, 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.CORRUPT)));
    }

    /** {@link Backend#sparsityForward} with {@code elbo4j_sparsity_forward_f32}: one thread per code unit. */
    @Override
    public void sparsityForward(Tensor code, double rho, Tensor rhoHat, Tensor kl) {
        DeviceTensor c = f32(code, "code"), q = f32(rhoHat, "rhoHat"), k = f32(kl, "kl");
        int b = c.rows(), z = c.cols();
        if (!(rho > 0 && rho < 1)) throw new IllegalArgumentException("sparsity target rho must be in (0, 1), got " + rho);
        if (b == 0 || q.size() != z || k.size() != z) {
            throw new IllegalArgumentException("sparsity: code " + c.shape() + " needs rhoHat and kl of " + z
                    + " elements, got " + q.shape() + ", " + k.shape());
        }
        if (q.overlaps(c) || k.overlaps(c) || q.overlaps(k)) throw new IllegalArgumentException("sparsity: outputs overlap");
        prepare();
        if (z == 0) return;
        long partial = columnPartials(b, z);
        int chunks = Kernels.columnChunks(b);
        long tiles = Kernels.ceilDiv(z, Kernels.COLS_TILE_X);
        args.clear().ptr(c.address()).ptr(partial).ptr(q.address()).ptr(k.address()).i32(b).i32(z)
                .i32(Kernels.columnChunkRows(b)).f64(rho);
        launch(Kernels.SPARSITY_FORWARD, Kernels.blocks(tiles * chunks, 1, wave.get(Kernels.SPARSITY_FORWARD)), 1,
                Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        if (chunks > 1) {
            args.clear().ptr(partial).ptr(q.address()).ptr(k.address()).i32(chunks).i32(z).i32(b).f64(rho);
            launch(Kernels.SPARSITY_FINISH, Kernels.blocks(tiles, 1, wave.get(Kernels.SPARSITY_FINISH)), 1,
                    Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        }
    }

    /** {@link Backend#sparsityBackward} with {@code elbo4j_sparsity_backward_f32}: one thread per element of dCode. */
    @Override
    public void sparsityBackward(Tensor rhoHat, double rho, double scale, Tensor dCode) {
        DeviceTensor q = f32(rhoHat, "rhoHat"), g = f32(dCode, "dCode");
        int b = g.rows(), z = g.cols();
        if (!(rho > 0 && rho < 1)) throw new IllegalArgumentException("sparsity target rho must be in (0, 1), got " + rho);
        if (q.size() != z) {
            throw new IllegalArgumentException("sparsity backward: rhoHat " + q.shape() + " must have " + z
                    + " elements for dCode " + g.shape());
        }
        if (q.overlaps(g)) throw new IllegalArgumentException("sparsity backward: rhoHat overlaps dCode");
        prepare();
        long n = g.size();
        if (n == 0) return;
        args.clear().ptr(q.address()).ptr(g.address()).i32(b).i32(z).f64(rho).f64(scale);
        launch(Kernels.SPARSITY_BACKWARD, Kernels.blocks(n, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.SPARSITY_BACKWARD)));
    }

    // ---- iwae.cu: importance-weighted objective (issue 6) ----

    @Override
    public void iwaeWeights(Tensor rowLoss, Tensor logRatio, Tensor weights, Tensor loss) {
        DeviceTensor rl = f32(rowLoss, "rowLoss"), lr = f32(logRatio, "logRatio"), w = f32(weights, "weights"),
                l = f32(loss, "loss");
        int b = l.size(), rows = rl.size();
        if (b == 0 || rows == 0 || rows % b != 0 || lr.size() != rows || w.size() != rows) {
            throw new IllegalArgumentException("iwaeWeights: rowLoss " + rl.shape() + ", logRatio " + lr.shape()
                    + " and weights " + w.shape() + " must have L*B elements for loss " + l.shape());
        }
        if (w.overlaps(rl) || w.overlaps(lr) || l.overlaps(rl) || l.overlaps(lr) || l.overlaps(w)) {
            throw new IllegalArgumentException("iwaeWeights: weights and loss must not overlap the inputs or each other");
        }
        prepare();
        args.clear().ptr(rl.address()).ptr(lr.address()).ptr(w.address()).ptr(l.address()).i32(b).i32(rows / b);
        launch(Kernels.IWAE_WEIGHTS, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.IWAE_WEIGHTS)));
    }

    @Override
    public void iwaeScaleRows(Tensor weights, double scale, Tensor dOut, Tensor logVar, Tensor dLogVar) {
        DeviceTensor w = f32(weights, "weights"), g = f32(dOut, "dOut");
        DeviceTensor lv = logVar == null ? null : f32(logVar, "logVar"), dlv = dLogVar == null ? null : f32(dLogVar, "dLogVar");
        int rows = g.rows(), d = g.cols();
        if (w.size() != rows) {
            throw new IllegalArgumentException("iwaeScaleRows: weights " + w.shape() + " need one element per row of dOut "
                    + g.shape());
        }
        if ((lv == null) != (dlv == null) || (lv != null && (lv.size() != d || dlv.size() != d))) {
            throw new IllegalArgumentException("iwaeScaleRows: logVar and dLogVar must both be null or both have " + d
                    + " elements (dOut " + g.shape() + ")");
        }
        if (g.overlaps(w) || (dlv != null && (dlv.overlaps(g) || dlv.overlaps(w) || dlv.overlaps(lv)))) {
            throw new IllegalArgumentException("iwaeScaleRows: dOut and dLogVar must not overlap the other arguments");
        }
        prepare();
        if (g.size() == 0) return;
        if (lv != null) {
            long partial = columnPartials(rows, d);
            args.clear().ptr(w.address()).ptr(g.address()).ptr(lv.address()).ptr(partial).ptr(dlv.address()).i32(rows).i32(d)
                    .i32(Kernels.columnChunkRows(rows)).f64(scale);
            launchColumns(Kernels.IWAE_DLOGVAR, rows, d, partial, dlv.address(), scale);
        }
        args.clear().ptr(w.address()).ptr(g.address()).i64(g.size()).i32(d).f64(scale);
        launch(Kernels.IWAE_SCALE_ROWS, Kernels.blocks(g.size(), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.IWAE_SCALE_ROWS)));
    }

    @Override
    public void iwaeLatentBackward(Tensor stats, Tensor eps, Tensor z, Tensor dz, Tensor weights, double scale, Tensor dStats) {
        DeviceTensor s = f32(stats, "stats"), e = f32(eps, "eps"), zz = f32(z, "z"), g = f32(dz, "dz"),
                w = f32(weights, "weights"), ds = f32(dStats, "dStats");
        checkLatentShapes(s, e, g);
        if (zz.rows() != g.rows() || zz.cols() != g.cols() || w.size() != g.rows()) {
            throw new IllegalArgumentException("iwaeLatentBackward: z " + zz.shape() + " and weights " + w.shape()
                    + " must match dz " + g.shape() + " (and its rows)");
        }
        if (ds.size() != s.size()) {
            throw new IllegalArgumentException("iwaeLatentBackward: dStats " + ds.shape() + " must match stats " + s.shape());
        }
        if (ds.overlaps(s) || ds.overlaps(e) || ds.overlaps(zz) || ds.overlaps(g) || ds.overlaps(w)) {
            throw new IllegalArgumentException("iwaeLatentBackward: dStats must not overlap the inputs");
        }
        prepare();
        int b = s.rows(), zd = s.cols() / 2, samples = g.rows() / b;
        args.clear().ptr(s.address()).ptr(e.address()).ptr(zz.address()).ptr(g.address()).ptr(w.address()).ptr(ds.address())
                .i32(b).i32(zd).i32(samples).f64(scale);
        launch(Kernels.IWAE_LATENT_BACKWARD, Kernels.blocks((long) b * zd, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.IWAE_LATENT_BACKWARD)));
    }

    // ---- classify.cu: conditional and semi-supervised models (issue 6) ----

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor target, double gradScale, Tensor loss, Tensor dLogits) {
        DeviceTensor l = f32(logits, "logits"), t = f32(target, "target"), lo = f32(loss, "loss");
        DeviceTensor g = dLogits == null ? null : f32(dLogits, "dLogits");
        int b = l.rows(), c = l.cols();
        if (l.shape().rank() != 2 || b == 0 || c == 0 || !t.shape().equals(l.shape()) || lo.size() != b
                || (g != null && !g.shape().equals(l.shape()))) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits " + l.shape() + " needs target of the same shape, loss of "
                    + b + (g == null ? "" : " and dLogits of the same shape") + ", got target " + t.shape() + ", loss " + lo.shape()
                    + (g == null ? "" : ", dLogits " + g.shape()));
        }
        prepare();
        args.clear().ptr(l.address()).ptr(t.address()).ptr(lo.address()).ptr(g == null ? 0 : g.address()).i32(b).i32(c)
                .f64(gradScale);
        launch(Kernels.SOFTMAX_XENT, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.SOFTMAX_XENT)));
    }

    @Override
    public void unlabelledBound(Tensor logits, Tensor rec, Tensor kl, double klWeight, double offset, double gradScale,
                                Tensor u, Tensor weights, Tensor dLogits) {
        DeviceTensor l = f32(logits, "logits"), r = f32(rec, "rec"), k = f32(kl, "kl"), uu = f32(u, "u"), w = f32(weights, "weights");
        DeviceTensor g = dLogits == null ? null : f32(dLogits, "dLogits");
        int b = l.rows(), c = l.cols(), n = b * c;
        if (l.shape().rank() != 2 || b == 0 || c == 0 || r.size() != n || k.size() != n || uu.size() != b || w.size() != n
                || (g != null && !g.shape().equals(l.shape()))) {
            throw new IllegalArgumentException("unlabelledBound: logits " + l.shape() + " needs rec, kl and weights of " + n
                    + " elements and u of " + b + ", got rec " + r.shape() + ", kl " + k.shape() + ", weights " + w.shape()
                    + ", u " + uu.shape() + (g == null ? "" : ", dLogits " + g.shape()));
        }
        prepare();
        args.clear().ptr(l.address()).ptr(r.address()).ptr(k.address()).ptr(uu.address()).ptr(w.address())
                .ptr(g == null ? 0 : g.address()).i32(b).i32(c).f64(klWeight).f64(offset).f64(gradScale).ptr(klWeightAt);
        launch(Kernels.UNLABELLED_BOUND, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.UNLABELLED_BOUND)));
    }

    @Override
    public void scaleRows(Tensor x, Tensor w, double scale) {
        DeviceTensor xx = f32(x, "x"), ww = f32(w, "w");
        if (xx.shape().rank() != 2 || ww.size() != xx.rows()) {
            throw new IllegalArgumentException("scaleRows: x " + xx.shape() + " needs one weight per row, got w " + ww.shape());
        }
        prepare();
        if (xx.size() == 0) return;
        args.clear().ptr(xx.address()).ptr(ww.address()).i32(xx.rows()).i32(xx.cols()).f64(scale);
        launch(Kernels.SCALE_ROWS, Kernels.blocks(xx.size(), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.SCALE_ROWS)));
    }

    @Override
    public void latentBackwardRows(Tensor stats, Tensor eps, Tensor dz, Tensor klWeights, double klWeight, int klRows,
                                   Tensor dStats) {
        DeviceTensor s = f32(stats, "stats"), e = f32(eps, "eps"), g = f32(dz, "dz"), w = f32(klWeights, "klWeights");
        DeviceTensor ds = f32(dStats, "dStats");
        int r = s.rows(), zd = s.cols() / 2;
        if (s.shape().rank() != 2 || s.cols() % 2 != 0 || r == 0 || zd == 0 || e.rows() != r || e.cols() != zd
                || !g.shape().equals(e.shape()) || w.size() != r || !ds.shape().equals(s.shape())) {
            throw new IllegalArgumentException("latentBackwardRows: stats " + s.shape() + " (R x 2Z) needs eps and dz of R x Z, "
                    + "klWeights of R and dStats of R x 2Z, got eps " + e.shape() + ", dz " + g.shape() + ", klWeights "
                    + w.shape() + ", dStats " + ds.shape());
        }
        if (klRows < 1) throw new IllegalArgumentException("latentBackwardRows: klRows must be >= 1, got " + klRows);
        prepare();
        args.clear().ptr(s.address()).ptr(e.address()).ptr(g.address()).ptr(w.address()).ptr(ds.address()).i32(r).i32(zd)
                .f64(klWeight).i32(klRows).ptr(klWeightAt);
        launch(Kernels.LATENT_BACKWARD_ROWS, Kernels.blocks((long) r * zd, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.LATENT_BACKWARD_ROWS)));
    }

    // ---- rbm.cu: RBMs, Gibbs sampling, AIS (issue 7) ----

    @Override
    public void rbmGibbsHalf(Tensor act, Tensor bias, double beta, Tensor base, RngKey key, Tensor prob, Tensor sample) {
        DeviceTensor a = f32(act, "act"), b = f32(bias, "bias");
        DeviceTensor ba = base == null ? null : f32(base, "base");
        DeviceTensor p = prob == null ? null : f32(prob, "prob"), s = sample == null ? null : f32(sample, "sample");
        int rows = a.rows(), cols = a.cols();
        if (b.size() != cols || (ba != null && ba.size() != cols)) {
            throw new IllegalArgumentException("rbmGibbsHalf: bias " + b.shape() + (ba == null ? "" : " / base " + ba.shape())
                    + " must have " + cols + " elements for act " + a.shape());
        }
        if ((p != null && p.size() != a.size()) || (s != null && s.size() != a.size())) {
            throw new IllegalArgumentException("rbmGibbsHalf: prob / sample must match act " + a.shape());
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmGibbsHalf: beta must be finite, got " + beta);
        if (s != null && key == null) throw new IllegalArgumentException("rbmGibbsHalf: a sample needs a key");
        prepare();
        if (a.size() == 0) return;
        args.clear().ptr(a.address()).ptr(b.address()).ptr(ba == null ? 0 : ba.address()).ptr(p == null ? 0 : p.address())
                .ptr(s == null ? 0 : s.address()).i32(rows).i32(cols).f64(beta);
        key(key == null ? new RngKey(0, 0, 0) : key);
        launch(Kernels.RBM_GIBBS, Kernels.blocks(Kernels.ceilDiv(a.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.RBM_GIBBS)));
    }

    @Override
    public void rbmFreeEnergy(Tensor v, Tensor hAct, Tensor visBias, Tensor hidBias, double beta, Tensor base, Tensor out) {
        DeviceTensor vv = f32(v, "v"), h = f32(hAct, "hAct"), vb = f32(visBias, "visBias"), hb = f32(hidBias, "hidBias");
        DeviceTensor ba = base == null ? null : f32(base, "base"), o = f32(out, "out");
        int rows = vv.rows(), vis = vv.cols(), hid = h.cols();
        if (h.rows() != rows || vb.size() != vis || hb.size() != hid || (ba != null && ba.size() != vis) || o.size() != rows) {
            throw new IllegalArgumentException("rbmFreeEnergy: v " + vv.shape() + ", hAct " + h.shape() + ", visBias "
                    + vb.shape() + ", hidBias " + hb.shape() + (ba == null ? "" : ", base " + ba.shape())
                    + ", out " + o.shape() + " do not fit (R x V, R x H, V, H, V, R)");
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmFreeEnergy: beta must be finite, got " + beta);
        prepare();
        if (rows == 0) return;
        args.clear().ptr(vv.address()).ptr(h.address()).ptr(vb.address()).ptr(hb.address()).ptr(ba == null ? 0 : ba.address())
                .ptr(o.address()).i32(rows).i32(vis).i32(hid).f64(beta);
        launch(Kernels.RBM_FREE_ENERGY, Math.min(rows, 65_535));
    }

    // ---- flow.cu: planar and NICE flows (issue 7) ----

    @Override
    public void planarForward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor zK, Tensor logDet, Tensor kl, Tensor logRatio) {
        DeviceTensor z = f32(z0, "z0"), uu = f32(u, "u"), ww = f32(w, "w"), bb = f32(b, "b"), zk = f32(zK, "zK");
        DeviceTensor ld = f32(logDet, "logDet"), k = kl == null ? null : f32(kl, "kl");
        DeviceTensor lr = logRatio == null ? null : f32(logRatio, "logRatio");
        checkPlanarShapes(z, uu, ww, bb, zk);
        int rows = z.rows(), zd = z.cols(), steps = bb.size();
        if (ld.size() != rows) throw new IllegalArgumentException("logDet needs " + rows + " elements, has " + ld.shape());
        if (k != null && (k.size() == 0 || rows % k.size() != 0)) {
            throw new IllegalArgumentException("kl must have B elements with R = L*B = " + rows + ", has " + k.shape());
        }
        if (lr != null && lr.size() != rows) throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + lr.shape());
        prepare();
        args.clear().ptr(z.address()).ptr(uu.address()).ptr(ww.address()).ptr(bb.address()).ptr(zk.address())
                .ptr(ld.address()).ptr(lr == null ? 0 : lr.address()).i32(rows).i32(zd).i32(steps);
        launch(Kernels.PLANAR_FORWARD, Kernels.blocks(rows, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.PLANAR_FORWARD)));
        if (k != null) {
            int batch = k.size();
            args.clear().ptr(z.address()).ptr(zk.address()).ptr(ld.address()).ptr(k.address()).i32(batch).i32(zd)
                    .i32(rows / batch);
            launch(Kernels.PLANAR_KL, Kernels.blocks(batch, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.PLANAR_KL)));
        }
    }

    @Override
    public void planarBackward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor dzK, double weight,
                               Tensor dz0, Tensor dU, Tensor dW, Tensor dB, Tensor scratch) {
        DeviceTensor z = f32(z0, "z0"), uu = f32(u, "u"), ww = f32(w, "w"), bb = f32(b, "b"), g = f32(dzK, "dzK");
        DeviceTensor dz = f32(dz0, "dz0"), du = f32(dU, "dU"), dw = f32(dW, "dW"), db = f32(dB, "dB");
        DeviceTensor sc = f32(scratch, "scratch");
        checkPlanarShapes(z, uu, ww, bb, g);
        checkPlanarShapes(z, uu, ww, bb, dz);
        int rows = z.rows(), zd = z.cols(), steps = bb.size();
        if (du.size() != uu.size() || dw.size() != ww.size() || db.size() != bb.size()) {
            throw new IllegalArgumentException("dU, dW, dB must match u " + uu.shape() + ", w " + ww.shape() + ", b " + bb.shape());
        }
        long per = (long) steps * (2L * zd + 2);
        if (sc.size() < rows * per) {
            throw new IllegalArgumentException("scratch needs R x K(2Z+2) = " + rows + " x " + per + " elements, has " + sc.shape());
        }
        long shared = (2L * zd + 2) * Double.BYTES;
        if (shared > Kernels.MAX_STATIC_SHARED_BYTES) {
            throw new IllegalArgumentException("planar flow latent dimension " + zd + " is too large for the reduction's shared memory");
        }
        prepare();
        args.clear().ptr(z.address()).ptr(uu.address()).ptr(ww.address()).ptr(bb.address()).ptr(g.address())
                .ptr(dz.address()).ptr(sc.address()).i32(rows).i32(zd).i32(steps).f64(weight).ptr(klWeightAt);
        launch(Kernels.PLANAR_BACKWARD, Kernels.blocks(rows, Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.PLANAR_BACKWARD)));
        // The scratch's column sums (rows x per, per fits an int: the scratch is one tensor), chunk
        // partials always, then one block per step adds the chunks and applies the chain rule.
        int chunks = Kernels.columnChunks(rows);
        long partial = columnScratch(chunks * per * Double.BYTES);
        args.clear().ptr(sc.address()).ptr(partial).i32(rows).i32((int) per).i32(Kernels.columnChunkRows(rows));
        launch(Kernels.PLANAR_PARTIALS, Kernels.blocks(Kernels.ceilDiv(per, Kernels.COLS_TILE_X) * chunks, 1,
                wave.get(Kernels.PLANAR_PARTIALS)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        args.clear().ptr(uu.address()).ptr(ww.address()).ptr(partial).ptr(du.address()).ptr(dw.address())
                .ptr(db.address()).i32(chunks).i32(zd).i32(steps);
        launch(Kernels.PLANAR_REDUCE, steps, 1, Kernels.BLOCK_ROW, 1, (int) shared);
    }

    private static void checkPlanarShapes(DeviceTensor z0, DeviceTensor u, DeviceTensor w, DeviceTensor b, DeviceTensor zK) {
        int zd = z0.cols(), steps = b.size();
        if (z0.rows() == 0 || zd == 0) throw new IllegalArgumentException("z0 must be R x Z with R, Z >= 1, got " + z0.shape());
        if (steps == 0) throw new IllegalArgumentException("planar flow needs K >= 1 steps, b has " + b.shape());
        if (u.size() != (long) steps * zd || u.cols() != zd) {
            throw new IllegalArgumentException("u must be K x Z = " + steps + " x " + zd + ", got " + u.shape());
        }
        if (w.size() != (long) steps * zd || w.cols() != zd) {
            throw new IllegalArgumentException("w must be K x Z = " + steps + " x " + zd + ", got " + w.shape());
        }
        if (zK.rows() != z0.rows() || zK.cols() != zd) {
            throw new IllegalArgumentException("zK must match z0 " + z0.shape() + ", got " + zK.shape());
        }
    }

    @Override
    public void niceSplit(Tensor x, RngKey key, Tensor a, Tensor b) {
        DeviceTensor xx = f32(x, "x"), aa = f32(a, "a"), bb = f32(b, "b");
        int n = xx.rows(), d = xx.cols(), ca = (d + 1) / 2, cb = d / 2;
        if (aa.rows() != n || aa.cols() != ca || bb.rows() != n || bb.cols() != cb) {
            throw new IllegalArgumentException("niceSplit of x " + xx.shape() + " needs a " + n + " x " + ca + " and b " + n + " x " + cb
                    + ", got a " + aa.shape() + ", b " + bb.shape());
        }
        prepare();
        if (xx.size() == 0) return;
        args.clear().ptr(xx.address()).ptr(aa.address()).ptr(bb.address()).i32(n).i32(d).i32(key == null ? 0 : 1);
        key(key == null ? new RngKey(0, 0, 0) : key);
        launch(Kernels.NICE_SPLIT, Kernels.blocks(xx.size(), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.NICE_SPLIT)));
    }

    @Override
    public void niceAdd(Tensor y, Tensor shift, double sign) {
        DeviceTensor yy = f32(y, "y"), sh = f32(shift, "shift");
        if (yy.size() != sh.size()) throw new IllegalArgumentException("niceAdd: y " + yy.shape() + " and shift " + sh.shape() + " differ in size");
        prepare();
        if (yy.size() == 0) return;
        args.clear().ptr(yy.address()).ptr(sh.address()).i64(yy.size()).f64(sign);
        launch(Kernels.NICE_ADD, Kernels.blocks(yy.size(), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.NICE_ADD)));
    }

    @Override
    public void nicePrior(Tensor h, Tensor s, boolean logistic, boolean accumulate, double gradScale,
                          Tensor rowLogP, Tensor dh, Tensor ds) {
        DeviceTensor hh = f32(h, "h"), ss = f32(s, "s"), lp = f32(rowLogP, "rowLogP");
        DeviceTensor g = dh == null ? null : f32(dh, "dh"), gs = ds == null ? null : f32(ds, "ds");
        int n = hh.rows(), c = hh.cols();
        if (ss.size() != c) throw new IllegalArgumentException("nicePrior: s needs " + c + " elements for h " + hh.shape() + ", has " + ss.shape());
        if (lp.size() != n) throw new IllegalArgumentException("nicePrior: rowLogP needs " + n + " elements, has " + lp.shape());
        if (g != null && (g.size() != hh.size() || gs == null || gs.size() != c)) {
            throw new IllegalArgumentException("nicePrior: dh must match h " + hh.shape() + " and ds have " + c + " elements");
        }
        prepare();
        if (n == 0) return;
        args.clear().ptr(hh.address()).ptr(ss.address()).ptr(lp.address()).ptr(g == null ? 0 : g.address())
                .i32(n).i32(c).i32(logistic ? 1 : 0).i32(accumulate ? 1 : 0).f64(gradScale);
        launch(Kernels.NICE_PRIOR_ROWS, Kernels.blocks(n, Kernels.BLOCK_ELEMENTWISE / 32, wave.get(Kernels.NICE_PRIOR_ROWS))); // a warp per row
        if (g != null && c > 0) {
            long partial = columnPartials(n, c);
            args.clear().ptr(hh.address()).ptr(ss.address()).ptr(partial).ptr(gs.address()).i32(n).i32(c)
                    .i32(Kernels.columnChunkRows(n)).i32(logistic ? 1 : 0).f64(gradScale);
            launchColumns(Kernels.NICE_PRIOR_DS, n, c, partial, gs.address(), -gradScale);
        }
    }

    @Override
    public void nicePriorSample(RngKey key, Tensor s, boolean logistic, Tensor h) {
        DeviceTensor ss = f32(s, "s"), hh = f32(h, "h");
        int n = hh.rows(), c = hh.cols();
        if (ss.size() != c) throw new IllegalArgumentException("nicePriorSample: s needs " + c + " elements for h " + hh.shape() + ", has " + ss.shape());
        prepare();
        if (hh.size() == 0) return;
        args.clear().ptr(ss.address()).ptr(hh.address()).i32(n).i32(c).i32(logistic ? 1 : 0);
        key(key);
        launch(Kernels.NICE_PRIOR_SAMPLE, Kernels.blocks(Kernels.ceilDiv(hh.size(), 4), Kernels.BLOCK_ELEMENTWISE, wave.get(Kernels.NICE_PRIOR_SAMPLE)));
    }

    // ---- conv.cu: the launchers are in CudaConv ----

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

    /** For CudaConv: the column-sum scratch ({@link #columnScratch}), at least {@code bytes}. */
    long convScratch(long bytes) {
        return columnScratch(bytes);
    }

    /** For CudaConv: {@code grid} blocks of 32 x 8 threads (a column-sum kernel) with the arguments of {@link #beginLaunch}. */
    void launchTilesPrepared(KernelSpec k, int grid) {
        launch(k, grid, 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
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
