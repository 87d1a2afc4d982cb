package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.up;
import static dev.elbo4j.backend.cuda.Parity.down;
import static dev.elbo4j.backend.cuda.Parity.toDouble;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static dev.elbo4j.backend.cuda.Parity.relativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dense layers on cuBLASLt's fused epilogues ({@link CublasLt}: BIAS, RELU_BIAS, BGRADB) against
 * the CPU reference and against the hand-written path of the same backend, at odd sizes (1, 3 and
 * 1,025 output columns; 1 to 8,193 rows) with outputs poisoned by NaN; and a few training steps of
 * the reference VAE with the cuBLASLt path on and off. Tolerances are kernels/README.md's ("cuBLASLt
 * path"): the GEMM's bound everywhere a GEMM is involved; on the emulated device, whose GEMM is the
 * same double-rounded-once product for both paths, the forward pass and dW must equal the
 * hand-written path's bits and the bias gradient must meet the hand-written column sum's tight bound.
 */
class CublasLtParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;
    private static boolean emulated;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
        emulated = gpu.description().contains("emulator");
    }

    static Stream<Arguments> sizes() {
        List<Arguments> a = new ArrayList<>();
        for (int rows : new int[]{1, 3, 129, 8193}) {
            for (int out : new int[]{1, 3, 1025}) {
                for (Activation act : Activation.values()) {
                    // The largest case (8,193 x 19 -> 1,025) for two activations: the fused epilogue and the separate pass.
                    if (rows * (long) out > 1_000_000 && act != Activation.RELU && act != Activation.SIGMOID) continue;
                    a.add(Arguments.of(act, rows, 19, out));
                }
            }
        }
        a.add(Arguments.of(Activation.RELU, 7, 1, 3));
        a.add(Arguments.of(Activation.RELU, 128, 784, 400));
        return a.stream();
    }

    /** |A| |B| products (in double, on the CPU): the scale of a GEMM's rounding error per element. */
    private static double[] absProduct(boolean ta, boolean tb, float[] a, int[] aDims, float[] b, int[] bDims, int m, int n) {
        double[] absA = new double[a.length], absB = new double[b.length];
        for (int i = 0; i < a.length; i++) absA[i] = Math.abs(a[i]);
        for (int i = 0; i < b.length; i++) absB[i] = Math.abs(b[i]);
        Tensor s = cpu.alloc(DType.F64, m, n);
        cpu.gemm(ta, tb, 1, cpu.upload(absA, Shape.of(aDims)), cpu.upload(absB, Shape.of(bDims)), 0, s);
        return cpu.download(s);
    }

    private static void withLt(boolean on, Runnable r) {
        boolean was = gpu.cublasLt();
        gpu.setCublasLt(on);
        try {
            r.run();
        } finally {
            gpu.setCublasLt(was);
        }
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void forward(Activation act, int rows, int in, int out) {
        long seed = 31L * rows + 7L * in + out + act.ordinal();
        float[] x = Rand.toFloat(Rand.normal(seed, rows * in, 1)), w = Rand.toFloat(Rand.normal(seed + 1, out * in, 0.5));
        float[] b = Rand.toFloat(Rand.normal(seed + 2, out, 0.5));
        Tensor cy = cpu.alloc(DType.F32, rows, out), cz = cpu.alloc(DType.F32, rows, out);
        cpu.linearForward(up(cpu, x, rows, in), up(cpu, w, out, in), up(cpu, b, out), act, cy);
        cpu.linearForward(up(cpu, x, rows, in), up(cpu, w, out, in), up(cpu, b, out), Activation.IDENTITY, cz);
        float[] want = down(cpu, cy), z = down(cpu, cz);
        double[] s = absProduct(false, true, x, new int[]{rows, in}, w, new int[]{out, in}, rows, out);
        double[] tol = new double[want.length];
        // The GEMM's bound, the bias add's rounding on either side, then the activation (Lipschitz <= 1)
        // within its own ulps of kernels/README.md (tanh 4, sigmoid 8).
        for (int i = 0; i < tol.length; i++) {
            tol[i] = 1.25 * in * 0x1p-23 * s[i] + 0x1p-23 * (Math.abs(z[i]) + Math.abs(b[i % out])) + 8 * Math.ulp(want[i])
                    + Float.MIN_VALUE;
        }
        float[][] got = new float[2][];
        for (int path = 0; path < 2; path++) {
            boolean lt = path == 1;
            withLt(lt, () -> {
                try (Tensor gx = up(gpu, x, rows, in); Tensor gw = up(gpu, w, out, in); Tensor gb = up(gpu, b, out);
                     Tensor gy = poisoned(gpu, DType.F32, rows, out)) {
                    gpu.linearForward(gx, gw, gb, act, gy);
                    got[lt ? 1 : 0] = down(gpu, gy);
                }
            });
        }
        String at = act + " " + rows + "x" + in + "->" + out;
        assertWithin("cuBLASLt forward " + at, toDouble(want), toDouble(got[1]), tol);
        if (emulated) assertBits("cuBLASLt vs hand-written forward " + at, got[0], got[1]);
        else assertWithin("cuBLASLt vs hand-written forward " + at, toDouble(got[0]), toDouble(got[1]), twice(tol));
    }

    private static double[] twice(double[] t) {
        double[] d = new double[t.length];
        for (int i = 0; i < t.length; i++) d[i] = 2 * t[i];
        return d;
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void backward(Activation act, int rows, int in, int out) {
        long seed = 17L * rows + 5L * in + out + act.ordinal();
        float[] x = Rand.toFloat(Rand.normal(seed, rows * in, 1)), w = Rand.toFloat(Rand.normal(seed + 1, out * in, 0.5));
        float[] b = Rand.toFloat(Rand.normal(seed + 2, out, 0.5)), g = Rand.toFloat(Rand.normal(seed + 3, rows * out, 1));
        Tensor cy = cpu.alloc(DType.F32, rows, out);
        cpu.linearForward(up(cpu, x, rows, in), up(cpu, w, out, in), up(cpu, b, out), act, cy);
        float[] y = down(cpu, cy);
        Tensor cg = up(cpu, g, rows, out), cdw = cpu.alloc(DType.F32, out, in), cdb = cpu.alloc(DType.F32, out);
        Tensor cdx = cpu.alloc(DType.F32, rows, in);
        cpu.linearBackward(up(cpu, x, rows, in), up(cpu, w, out, in), cy, cg, act, cdw, cdb, cdx);
        float[] pre = down(cpu, cg), dwWant = down(cpu, cdw), dbWant = down(cpu, cdb), dxWant = down(cpu, cdx);

        double[] sW = absProduct(true, false, pre, new int[]{rows, out}, x, new int[]{rows, in}, out, in);
        double[] sX = absProduct(false, false, pre, new int[]{rows, out}, w, new int[]{out, in}, rows, in);
        double[] dwTol = new double[sW.length], dxTol = new double[sX.length], dbTight = new double[out],
                dbGemm = new double[out];
        for (int i = 0; i < sW.length; i++) dwTol[i] = 1.25 * rows * 0x1p-23 * sW[i] + Float.MIN_VALUE;
        for (int i = 0; i < sX.length; i++) dxTol[i] = 1.25 * out * 0x1p-23 * sX[i] + Float.MIN_VALUE;
        for (int c = 0; c < out; c++) {
            double abs = 0;
            for (int r = 0; r < rows; r++) abs += Math.abs(pre[r * out + c]);
            dbTight[c] = Math.ulp(dbWant[c]) + (31 * 0x1p-24 + 1e-12) * abs + Float.MIN_VALUE;
            dbGemm[c] = Math.ulp(dbWant[c]) + 1.25 * rows * 0x1p-23 * abs + Float.MIN_VALUE;
        }
        Map<String, float[]> hand = new LinkedHashMap<>();
        for (int path = 0; path < 2; path++) {
            boolean lt = path == 1;
            withLt(lt, () -> {
                try (Tensor gx = up(gpu, x, rows, in); Tensor gw = up(gpu, w, out, in); Tensor gy = up(gpu, y, rows, out);
                     Tensor gg = up(gpu, g, rows, out); Tensor gdw = poisoned(gpu, DType.F32, out, in);
                     Tensor gdb = poisoned(gpu, DType.F32, out); Tensor gdx = poisoned(gpu, DType.F32, rows, in)) {
                    gpu.linearBackward(gx, gw, gy, gg, act, gdw, gdb, gdx);
                    String at = (lt ? "cuBLASLt " : "hand-written ") + act + " " + rows + "x" + in + "->" + out;
                    float[] pg = down(gpu, gg), dw = down(gpu, gdw), db = down(gpu, gdb), dx = down(gpu, gdx);
                    assertBits("dPre " + at, pre, pg);
                    assertWithin("dW " + at, toDouble(dwWant), toDouble(dw), dwTol);
                    assertWithin("dx " + at, toDouble(dxWant), toDouble(dx), dxTol);
                    assertWithin("dBias " + at, toDouble(dbWant), toDouble(db), lt && !emulated ? dbGemm : dbTight);
                    if (!lt) {
                        hand.put("dW", dw);
                        hand.put("dx", dx);
                    } else if (emulated) {
                        assertBits("cuBLASLt vs hand-written dW " + at, hand.get("dW"), dw);
                        assertBits("cuBLASLt vs hand-written dx " + at, hand.get("dx"), dx);
                    }
                }
            });
        }
    }

    /**
     * A failing cuBLASLt call throws {@link CudaException} naming the call and the status (here the
     * emulator's check of a leading dimension shorter than the rows), after releasing what the plan
     * had created; the handle stays usable. The emulator only: a real cuBLASLt may accept the layout
     * and refuse later, in the heuristic.
     */
    @Test
    void aFailingCallIsNamedWithItsStatus() {
        org.junit.jupiter.api.Assumptions.assumeTrue(emulated, "checks the emulator's cublasLtMatrixLayoutCreate");
        List<String> reasons = new ArrayList<>();
        CudaBlasLt.Library lib = dev.elbo4j.backend.cuda.ffm.FfmCublasLt.load(LibrarySearch.cublasLt(), reasons)
                .orElseThrow(() -> new AssertionError(reasons));
        try (CudaBlasLt lt = lib.create(0, 0, 0); Tensor a = gpu.alloc(DType.F32, 4, 4); Tensor b = gpu.alloc(DType.F32, 4, 4);
             Tensor d = gpu.alloc(DType.F32, 4, 4)) {
            long pa = ((DeviceTensor) a).address(), pb = ((DeviceTensor) b).address(), pd = ((DeviceTensor) d).address();
            CudaException e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class, () -> lt.matmul(
                    CudaBlasLt.Epilogue.DEFAULT, false, false, false, 4, 4, 4, 1f, pa, 4, pb, 4, pd, 2, 0, 0, 0));
            assertTrue(e.getMessage().contains("cublasLtMatrixLayoutCreate") && e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE"),
                    e.getMessage());
            assertTrue(lt.matmul(CudaBlasLt.Epilogue.DEFAULT, false, false, false, 4, 4, 4, 1f, pa, 4, pb, 4, pd, 4, 0, 0, 0));
        }
    }

    /** Per-step losses and the first step's gradients of a short run of the reference VAE. */
    private record Run(double[] losses, Map<String, double[]> firstGrads) {
    }

    private static Run train(Backend be, int steps) {
        int n = 512, batch = 128;
        long seed = 11;
        Dataset data = CudaTrainingParityTest.synthetic(n, 3);
        VaeConfig cfg = VaeConfig.builder().build();
        try (Vae vae = Vae.create(be, cfg, seed); DeviceDataset dd = new DeviceDataset(be, data);
             Vae.Pass pass = vae.pass(batch, cfg.samples(), true); Adam adam = new Adam(vae.parameters(), AdamConfig.of(1e-3));
             Tensor x = be.alloc(DType.F32, batch, data.dim())) {
            double[] losses = new double[steps];
            Map<String, double[]> grads = null;
            dd.order(Philox.permutation(new RngKey(seed, Streams.SHUFFLE, 0), n));
            for (int s = 0; s < steps; s++) {
                dd.gather((s % (n / batch)) * batch, Binarization.DYNAMIC, new RngKey(seed, Streams.BINARIZE, 0), x);
                pass.run(x, new RngKey(seed, Streams.LATENT, adam.steps()));
                losses[s] = pass.meanLoss();
                if (s == 0) {
                    grads = new LinkedHashMap<>();
                    for (String name : vae.parameters().names()) grads.put(name, be.download(vae.parameters().grad(name)));
                }
                adam.step();
            }
            return new Run(losses, grads);
        }
    }

    /**
     * Five Adam steps of the reference VAE (784-400-20 / 20-400-784, ReLU, batch 128) with the
     * cuBLASLt path (its ReLU derivatives in the dx GEMMs' DRELU_BGRAD epilogue) and without: the
     * first step's loss within 1e-5 relative of the CPU's and every
     * gradient within 1e-4 relative norm (the suite's one-step tolerances), and the two GPU paths'
     * per-step losses within 1e-5 relative of each other.
     */
    @Test
    void fiveTrainingStepsWithAndWithoutCublasLt() {
        int steps = 5;
        Run c = train(cpu, 1);
        Run[] g = new Run[2];
        long fusedBefore = gpu.cublasLtFusedDerivatives();
        for (int path = 0; path < 2; path++) {
            int p = path;
            withLt(path == 1, () -> g[p] = train(gpu, steps));
        }
        // The encoder's and the decoder's ReLU layer each have their derivative in the dx GEMM above them.
        assertEquals(fusedBefore + 2L * steps, gpu.cublasLtFusedDerivatives(), "DRELU_BGRAD dx GEMMs in " + steps + " steps");
        assertEquals(c.losses()[0], g[1].losses()[0], 1e-5 * Math.abs(c.losses()[0]), "cuBLASLt: loss of the first step");
        List<String> report = new ArrayList<>();
        for (String name : c.firstGrads().keySet()) {
            double rel = relativeError(c.firstGrads().get(name), g[1].firstGrads().get(name));
            report.add(String.format("%s %.2e", name, rel));
            assertTrue(rel < 1e-4, "cuBLASLt: " + name + " gradient: relative error " + rel);
        }
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            double rel = Math.abs(g[1].losses()[s] - g[0].losses()[s]) / Math.abs(g[0].losses()[s]);
            worst = Math.max(worst, rel);
            assertTrue(rel < 1e-5, "step " + s + ": loss with cuBLASLt " + g[1].losses()[s] + ", without " + g[0].losses()[s]);
        }
        System.out.println("cuBLASLt on/off, " + steps + " steps: worst relative loss difference " + worst
                + "; first-step gradients vs CPU " + report);
    }
}
