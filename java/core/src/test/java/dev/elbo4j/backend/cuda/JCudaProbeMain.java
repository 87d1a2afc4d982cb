package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.backend.cuda.jcuda.JCudaBinding;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The child JVM of the JCuda subprocess tests ({@code JCudaIsolationTest}, {@code JCudaFakeDriverTest}):
 * separate JVMs because JCuda's native libraries load once per process and their outcome is
 * remembered, and because {@code -verbose:class} and {@code LD_LIBRARY_PATH} are per process.
 * Prints "PROBE OK" last when every step passed; anything else is a failure the parent reports.
 *
 * <ul>
 *   <li>{@code cpu-ffm}: the CPU and FFM paths, with the jcuda binding named but not used;</li>
 *   <li>{@code jcuda}: asks the jcuda binding for its driver (the positive control of the class check);</li>
 *   <li>{@code fake}: the backend through the jcuda binding (strict: JCublas2) over the fake
 *       {@code libcuda.so.1} and {@code libcublas.so.12} on {@code LD_LIBRARY_PATH}: copies, GEMMs
 *       against the CPU, a kernel launch, close.</li>
 *   <li>{@code fake-ffm-blas}: the same with no {@code libcublas.so.12}: the lenient binding takes
 *       the fake {@code libcublas.so.13} (-Delbo4j.cublas) through FFM and says so in one line.</li>
 * </ul>
 */
public final class JCudaProbeMain {
    private JCudaProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "cpu-ffm" -> cpuAndFfm();
            case "jcuda" -> System.out.println("reasons: " + jcudaDriver());
            case "fake" -> fake(true);
            case "fake-ffm-blas" -> fake(false);
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("PROBE OK");
    }

    private static void cpuAndFfm() {
        List<String> warnings = new ArrayList<>();
        try (Backend b = Backends.select("cpu", "jcuda", warnings::add)) {
            check(b instanceof CpuBackend, "cpu with --binding jcuda is the CPU backend");
        }
        try (Backend b = Backends.select("auto", "ffm", warnings::add)) {
            System.out.println("auto/ffm: " + b.description());
        }
        try {
            Backends.select("cuda", "ffm", warnings::add).close();
        } catch (BackendUnavailableException e) {
            System.out.println("cuda/ffm unavailable: " + e.reasons().size() + " reasons");
        }
        CudaBindings.named("ffm", warnings::add);
        CudaBindings.named("jcuda", warnings::add);
    }

    private static List<String> jcudaDriver() {
        List<String> reasons = new ArrayList<>();
        new JCudaBinding(false, LibrarySearch.cublas(), System.out::println).loadDriver(reasons).ifPresent(CudaDriver::close);
        return reasons;
    }

    private static void fake(boolean strict) {
        List<String> reasons = new ArrayList<>(), notes = new ArrayList<>();
        JCudaBinding binding = new JCudaBinding(strict, LibrarySearch.cublas(), notes::add);
        CudaDriver driver = binding.loadDriver(reasons).orElse(null);
        CudaBlas.Library blas = binding.loadBlas(reasons).orElse(null);
        check(reasons.isEmpty() && driver != null && blas != null, "jcuda over the fakes loads: " + reasons);
        if (strict) {
            check(notes.isEmpty(), "no fallback note with JCublas2: " + notes);
        } else {
            check(notes.size() == 1 && notes.getFirst().startsWith("elbo4j: jcuda binding: GEMMs go through the FFM cuBLAS binding")
                    && notes.getFirst().contains("libcublas.so.12"), "one note about FFM cuBLAS: " + notes);
            System.out.println("note: " + notes.getFirst());
        }
        CpuBackend cpu = new CpuBackend();
        try (CudaBackend be = new CudaBackend(driver, blas, KernelImageTest.fakeFatbin(), 0, binding.name())) {
            check(strict ? be.description().contains("JCublas2") && be.description().contains("jcuda:strict")
                    : be.description().contains("libcublas.so.13") && be.description().endsWith(", jcuda)"), be.description());
            // Copies larger than the 4 MiB staging buffer, both ways.
            float[] big = new float[(5 << 20) / 4 + 3];
            for (int i = 0; i < big.length; i++) big[i] = i * 0.5f - 7;
            Tensor t = be.alloc(DType.F32, big.length);
            be.write(t, big);
            double[] back = be.download(t);
            for (int i = 0; i < big.length; i++) check(back[i] == big[i], "a 5 MiB float round trip, element " + i);
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    int m = 5, n = 7, k = 3;
                    float[] a = random(m * k, 1), b = random(k * n, 2), c0 = random(m * n, 3);
                    Tensor ca = ta ? cpu.upload(a, Shape.of(k, m)) : cpu.upload(a, Shape.of(m, k)), cb = tb ? cpu.upload(b, Shape.of(n, k)) : cpu.upload(b, Shape.of(k, n));
                    Tensor cc = cpu.upload(c0, Shape.of(m, n));
                    Tensor ga = ta ? be.upload(a, Shape.of(k, m)) : be.upload(a, Shape.of(m, k)), gb = tb ? be.upload(b, Shape.of(n, k)) : be.upload(b, Shape.of(k, n));
                    Tensor gc = be.upload(c0, Shape.of(m, n));
                    cpu.gemm(ta, tb, 1.5, ca, cb, 0.5, cc);
                    be.gemm(ta, tb, 1.5, ga, gb, 0.5, gc);
                    double[] want = cpu.download(cc), got = be.download(gc);
                    for (int i = 0; i < want.length; i++) {
                        check(Math.abs(want[i] - got[i]) <= 1e-5 * (1 + Math.abs(want[i])),
                                "gemm " + ta + "," + tb + " element " + i + ": " + got[i] + " vs " + want[i]);
                    }
                }
            }
            Tensor x = be.alloc(DType.F32, 4, 6);
            be.fill(x, 2f);
            be.sum(x);  // a reduction kernel launched through cuLaunchKernel (the fake runs nothing)
            checkLaunchArguments(be);
            int[] sent = {7, -1, 123456789, 42, Integer.MIN_VALUE}, got = new int[sent.length];
            Tensor words = be.upload(sent, Shape.of(sent.length));
            try (PinnedReader reader = new PinnedReader(be, sent.length)) {
                reader.read(((DeviceTensor) words).address(), got);   // cuMemHostAlloc, DtoH async, event, the pinned bytes
            }
            check(java.util.Arrays.equals(sent, got), "a pinned read: " + java.util.Arrays.toString(got));
            checkForkedBackward(be);
        }
        System.out.println("fake: " + driver.describe());
    }

    /** A captured dense backward forks dW onto the side stream and joins it back: two cuStreamWaitEvent through JCuda. */
    @SuppressWarnings("restricted")
    private static void checkForkedBackward(CudaBackend be) {
        java.lang.invoke.MethodHandle count = java.lang.foreign.Linker.nativeLinker().downcallHandle(
                java.lang.foreign.SymbolLookup.libraryLookup("libcuda.so.1", java.lang.foreign.Arena.global())
                        .find("fake_count").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_INT));
        Tensor x = be.alloc(DType.F32, 2, 3), w = be.alloc(DType.F32, 4, 3), y = be.alloc(DType.F32, 2, 4);
        Tensor dy = be.alloc(DType.F32, 2, 4), dW = be.alloc(DType.F32, 4, 3), dB = be.alloc(DType.F32, 4);
        Tensor dx = be.alloc(DType.F32, 2, 3);
        try {
            long before = (long) count.invokeExact(9);
            try (CudaGraph g = be.capture(() -> be.linearBackward(x, w, y, dy, dev.elbo4j.backend.Activation.RELU, dW, dB, dx))) {
                long waits = (long) count.invokeExact(9) - before;
                check(waits == 2, "cuStreamWaitEvent calls in a captured dense backward: " + waits);
                g.launch();
            }
        } catch (Throwable t) {
            throw t instanceof AssertionError e ? e : new AssertionError(t);
        }
        System.out.println("fake: a captured dense backward forks and joins through cuStreamWaitEvent");
    }

    /**
     * The values JCuda packed into {@code kernelParams} as the fake {@code cuLaunchKernel} recorded
     * them (its {@code fake_last_*} functions, read through FFM from the same {@code libcuda.so.1}
     * JCuda loaded): pointers, ints, longs and doubles arrive intact and in order.
     */
    @SuppressWarnings("restricted")
    private static void checkLaunchArguments(CudaBackend be) {
        int b = 3, z = 5, l = 2;
        Tensor stats = be.alloc(DType.F32, b, 2 * z), eps = be.alloc(DType.F32, l * b, z), zz = be.alloc(DType.F32, l * b, z);
        Tensor kl = be.alloc(DType.F32, b), dStats = be.alloc(DType.F32, b, 2 * z);
        java.lang.foreign.Linker linker = java.lang.foreign.Linker.nativeLinker();
        java.lang.foreign.SymbolLookup fake = java.lang.foreign.SymbolLookup.libraryLookup("libcuda.so.1",
                java.lang.foreign.Arena.global());
        java.lang.invoke.MethodHandle lastArg = linker.downcallHandle(fake.find("fake_last_arg").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG,
                        java.lang.foreign.ValueLayout.JAVA_INT));
        java.lang.invoke.MethodHandle lastKernel = linker.downcallHandle(fake.find("fake_last_kernel").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.ADDRESS));
        try {
            be.latentForward(stats, new dev.elbo4j.rng.RngKey(0x1_0000_0002L, 4, 9), eps, zz, kl, null);
            String name = ((java.lang.foreign.MemorySegment) lastKernel.invokeExact()).reinterpret(128).getString(0);
            check(name.equals("elbo4j_latent_forward_f32"), "last kernel " + name);
            long[] want = {((DeviceTensor) stats).address(), ((DeviceTensor) eps).address(), ((DeviceTensor) zz).address(),
                    ((DeviceTensor) kl).address(), 0, b, z, l * b, Kernels.latentGroup(z), 2, 1, 4, 9, 0};
            for (int i = 0; i < want.length; i++) {
                long got = (long) lastArg.invokeExact(i);
                boolean fourBytes = Kernels.LATENT_FORWARD.params().get(i).bytes() == 4;
                check(fourBytes ? (int) got == (int) want[i] : got == want[i],
                        "latent_forward argument " + i + ": 0x" + Long.toHexString(got) + " vs 0x" + Long.toHexString(want[i]));
            }
            be.latentBackward(stats, eps, zz, 0.375, dStats);
            check((long) lastArg.invokeExact(7) == Double.doubleToRawLongBits(0.375), "latent_backward klWeight");
        } catch (Throwable t) {
            throw t instanceof AssertionError e ? e : new AssertionError(t);
        }
        System.out.println("fake: kernel arguments arrive intact");
    }

    private static float[] random(int n, int seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
}
