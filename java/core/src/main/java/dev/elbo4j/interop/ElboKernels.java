package dev.elbo4j.interop;

import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.cuda.CudaBinding;
import dev.elbo4j.backend.cuda.CudaDeviceInfo;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.CudaException;
import dev.elbo4j.backend.cuda.KernelArgs;
import dev.elbo4j.backend.cuda.KernelImage;
import dev.elbo4j.backend.cuda.KernelSpec;
import dev.elbo4j.backend.cuda.Kernels;
import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import dev.elbo4j.rng.RngKey;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * elbo4j's fused ELBO kernels on device memory and a stream the caller owns: the latent
 * reparameterisation with its KL and log ratio (forward and backward) and the Bernoulli and
 * fixed-variance Gaussian negative log-likelihoods with their gradients. The semantics are those of
 * the same-named {@link dev.elbo4j.backend.Backend} operations, with the same kernels and launch
 * configurations as {@link dev.elbo4j.backend.cuda.CudaBackend}, so results are bit-identical to
 * the backend's on the same GPU.
 *
 * <p><b>Contract</b> ({@code docs/INTEROP.md}): buffers are row-major, contiguous float32, 4-byte
 * aligned (16 for vector loads), in memory the device's primary context can access (PyTorch, CuPy
 * and the CUDA runtime API use that context). Each call checks its arguments on the host, makes the
 * primary context current on the calling thread, enqueues its kernels on {@code stream} (a
 * {@code CUstream} / {@code cudaStream_t}; 0 is the legacy default stream) and returns without
 * waiting: results are there when the stream reaches that point. elbo4j never allocates, frees,
 * synchronises or destroys the caller's buffers or stream. The kernels allocate nothing either.
 *
 * <p>Calls are serialised on this object (they share one argument list); {@link #close()} unloads
 * the module and releases the primary context retained by {@link #open}.
 */
public final class ElboKernels implements AutoCloseable {
    private static final List<KernelSpec> USED = List.of(Kernels.LATENT_FORWARD, Kernels.LATENT_BACKWARD,
            Kernels.BERNOULLI, Kernels.GAUSSIAN);

    private final CudaDriver driver;
    private final int ordinal;
    private final CudaDeviceInfo device;
    private final long context;
    private final long module;
    private final int maxBlocks;
    private final Map<KernelSpec, Long> functions = new IdentityHashMap<>();
    private final KernelArgs args = new KernelArgs();
    private boolean closed;

    /** Device {@code ordinal} through the FFM binding. */
    public static ElboKernels open(int ordinal) {
        return open(new FfmBinding(), ordinal);
    }

    /**
     * Device {@code ordinal} through {@code binding} (FFM, or {@code dev.elbo4j.backend.cuda.jcuda.JCudaBinding}
     * for a JCuda program). Needs no cuBLAS.
     *
     * @throws BackendUnavailableException listing every reason (no kernels in this build, no driver,
     *                                     no or too old a device)
     */
    public static ElboKernels open(CudaBinding binding, int ordinal) {
        List<String> reasons = new ArrayList<>();
        Optional<byte[]> image = KernelImage.find(reasons);
        Optional<CudaDriver> driver = Optional.empty();
        try {
            driver = binding.loadDriver(reasons);
            if (driver.isPresent()) {
                CudaDriver d = driver.get();
                d.init();
                int count = d.deviceCount();
                if (ordinal < 0 || ordinal >= count) {
                    reasons.add("no CUDA device " + ordinal + " (the driver reports " + count + ")");
                } else if (d.device(ordinal).computeMajor() < 8) {
                    reasons.add(d.device(ordinal) + ": the kernels need compute capability 8.0 (sm_80) or newer");
                }
            }
            if (reasons.isEmpty()) return new ElboKernels(driver.orElseThrow(), ordinal, image.orElseThrow());
        } catch (CudaException e) {
            reasons.add(e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            reasons.add("the " + binding.name() + " binding failed: " + e);
        }
        driver.ifPresent(CudaDriver::close);
        throw new BackendUnavailableException("cuda interop", reasons);
    }

    /** Over a loaded driver (tests pass their own): retains the primary context, loads the module. */
    ElboKernels(CudaDriver driver, int ordinal, byte[] image) {
        this.driver = driver;
        this.ordinal = ordinal;
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            driver.init();
            this.device = driver.device(ordinal);
            this.context = driver.retainPrimaryContext(ordinal);
            undo.push(() -> driver.releasePrimaryContext(ordinal));
            driver.setCurrentContext(context);
            this.module = driver.loadModule(image);
            undo.push(() -> driver.unloadModule(module));
            for (KernelSpec k : USED) functions.put(k, driver.function(module, k.name()));
            this.maxBlocks = Math.max(1, device.multiprocessors()) * 8;  // as CudaBackend: one wave
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

    /** The device the kernels run on. */
    public CudaDeviceInfo device() {
        return device;
    }

    // ---- latent.cu --------------------------------------------------------------------------------

    /**
     * Reparameterised sampling, KL and log ratio ({@code Backend.latentForward}). With R = samples x
     * batch: {@code stats} B x 2Z (means, then log-variances), {@code eps} and {@code z} R x Z
     * (written; row l B + b is sample l of input b), {@code kl} B and {@code logRatio} R (written;
     * each may be null to skip it). The noise is the normal stream of {@code key}, element
     * (l B + b) Z + k, the same numbers the CPU backend draws.
     */
    public synchronized void latentForward(DeviceBuffer stats, DeviceBuffer eps, DeviceBuffer z, DeviceBuffer kl,
                                           DeviceBuffer logRatio, int batch, int latent, int samples, RngKey key,
                                           long stream) {
        long rows = (long) samples * batch;
        String r = samples + "*" + batch;
        new InteropChecks("latentForward").positive("batch", batch).positive("latent", latent).positive("samples", samples)
                .fitsInt("rows (samples x batch)", rows).fitsInt("2 x latent", 2L * latent)
                .input("stats", stats, 2L * batch * latent, batch + " x " + 2L * latent)
                .output("eps", eps, rows * latent, r + " x " + latent)
                .output("z", z, rows * latent, r + " x " + latent)
                .optionalOutput("kl", kl, batch, String.valueOf(batch))
                .optionalOutput("logRatio", logRatio, rows, r).check();
        if (key == null) throw new IllegalArgumentException("latentForward: key is null");
        prepare();
        int group = Kernels.latentGroup(latent);
        args.clear().ptr(stats.address()).ptr(eps.address()).ptr(z.address()).ptr(addressOrNull(kl))
                .ptr(addressOrNull(logRatio)).i32(batch).i32(latent).i32((int) rows).i32(group)
                .i32(key.key0()).i32(key.key1()).i32(key.stream()).i64(key.step()).ptr(0);
        launch(Kernels.LATENT_FORWARD, Kernels.blocks(rows, Kernels.BLOCK_LATENT / group, maxBlocks), 0, stream);
    }

    /**
     * Backward of {@link #latentForward} for the loss sum(dz . z) + klWeight sum(kl)
     * ({@code Backend.latentBackward}): {@code dStats} B x 2Z is overwritten from {@code stats}
     * B x 2Z, {@code eps} and {@code dz} R x Z.
     */
    public synchronized void latentBackward(DeviceBuffer stats, DeviceBuffer eps, DeviceBuffer dz, double klWeight,
                                            DeviceBuffer dStats, int batch, int latent, int samples, long stream) {
        long rows = (long) samples * batch;
        String r = samples + "*" + batch;
        new InteropChecks("latentBackward").positive("batch", batch).positive("latent", latent).positive("samples", samples)
                .fitsInt("rows (samples x batch)", rows).fitsInt("2 x latent", 2L * latent)
                .input("stats", stats, 2L * batch * latent, batch + " x " + 2L * latent)
                .input("eps", eps, rows * latent, r + " x " + latent)
                .input("dz", dz, rows * latent, r + " x " + latent)
                .output("dStats", dStats, 2L * batch * latent, batch + " x " + 2L * latent).check();
        finite("latentBackward", "klWeight", klWeight);
        prepare();
        args.clear().ptr(stats.address()).ptr(eps.address()).ptr(dz.address()).ptr(dStats.address())
                .i32(batch).i32(latent).i32(samples).f64(klWeight).ptr(0);
        launch(Kernels.LATENT_BACKWARD, Kernels.blocks((long) batch * latent, Kernels.BLOCK_ELEMENTWISE, maxBlocks), 0,
                stream);
    }

    // ---- likelihood.cu ----------------------------------------------------------------------------

    /**
     * Bernoulli negative log-likelihood with logits ({@code Backend.likelihood}, BERNOULLI):
     * {@code logits} R x D, {@code x} B x D (row r is compared with row r mod B), {@code rowLoss} R
     * (written: the sum over D of softplus(l) - x l), {@code dLogits} R x D (written:
     * gradScale (sigmoid(l) - x); null for no gradient).
     */
    public synchronized void bernoulli(DeviceBuffer logits, DeviceBuffer x, DeviceBuffer rowLoss, DeviceBuffer dLogits,
                                       int batch, int samples, int dim, float gradScale, long stream) {
        int rows = likelihoodChecks("bernoulli", "logits", logits, x, rowLoss, dLogits, batch, samples, dim);
        finite("bernoulli", "gradScale", gradScale);
        prepare();
        int rowsPerBlock = Kernels.rowsPerBlock(rows);
        args.clear().ptr(logits.address()).ptr(x.address()).ptr(rowLoss.address()).ptr(addressOrNull(dLogits))
                .i32(rows).i32(batch).i32(dim).i32(rowsPerBlock).f32(gradScale);
        launch(Kernels.BERNOULLI, (int) Kernels.ceilDiv(rows, rowsPerBlock), 0, stream);
    }

    /**
     * Gaussian negative log-likelihood with a fixed variance exp(logVar) ({@code Backend.likelihood},
     * GAUSSIAN_FIXED): {@code mean} R x D, {@code x} B x D, {@code rowLoss} R (written),
     * {@code dMean} R x D (written: gradScale (mean - x) / exp(logVar); null for no gradient).
     */
    public synchronized void gaussian(DeviceBuffer mean, DeviceBuffer x, DeviceBuffer rowLoss, DeviceBuffer dMean,
                                      int batch, int samples, int dim, double logVar, float gradScale, long stream) {
        int rows = likelihoodChecks("gaussian", "mean", mean, x, rowLoss, dMean, batch, samples, dim);
        finite("gaussian", "logVar", logVar);
        finite("gaussian", "gradScale", gradScale);
        prepare();
        int rowsPerBlock = Kernels.rowsPerBlock(rows);
        args.clear().ptr(mean.address()).ptr(x.address()).ptr(0).ptr(rowLoss.address()).ptr(addressOrNull(dMean)).ptr(0)
                .i32(rows).i32(batch).i32(dim).i32(rowsPerBlock).i32(0).f64(logVar).f32((float) Math.exp(-logVar))
                .f32(gradScale);
        launch(Kernels.GAUSSIAN, (int) Kernels.ceilDiv(rows, rowsPerBlock), 0, stream);
    }

    private static int likelihoodChecks(String call, String outName, DeviceBuffer out, DeviceBuffer x, DeviceBuffer rowLoss,
                                        DeviceBuffer dOut, int batch, int samples, int dim) {
        long rows = (long) samples * batch;
        String r = samples + "*" + batch;
        new InteropChecks(call).positive("batch", batch).positive("samples", samples).positive("dim", dim)
                .fitsInt("rows (samples x batch)", rows)
                .input(outName, out, rows * dim, r + " x " + dim)
                .input("x", x, (long) batch * dim, batch + " x " + dim)
                .output("rowLoss", rowLoss, rows, r)
                .optionalOutput("d" + Character.toUpperCase(outName.charAt(0)) + outName.substring(1), dOut, rows * dim,
                        r + " x " + dim).check();
        return (int) rows;
    }

    private static void finite(String call, String name, double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException(call + ": " + name + " must be finite, got " + v);
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    /** {@code cuStreamSynchronize(stream)}: a convenience for callers without their own. */
    public synchronized void synchronize(long stream) {
        prepare();
        driver.synchronize(stream);
    }

    private static long addressOrNull(DeviceBuffer b) {
        return InteropChecks.absent(b) ? 0 : b.address();
    }

    private void prepare() {
        if (closed) throw new IllegalStateException("ElboKernels is closed");
        driver.setCurrentContext(context);
    }

    private void launch(KernelSpec k, int grid, int sharedBytes, long stream) {
        k.check(args);
        driver.launch(functions.get(k), grid, 1, 1, k.threads(), 1, 1, sharedBytes, stream, args);
    }

    /** Unloads the module and releases the primary context; the caller's buffers and stream are untouched. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException failure = null;
        List<Runnable> steps = List.of(() -> driver.setCurrentContext(context), () -> driver.unloadModule(module),
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
