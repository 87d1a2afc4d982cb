package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's host side over the real FFM binding and the fake CUDA libraries: memory
 * operations and GEMMs really run (host memory stands in for the device, the fake cuBLAS is a
 * reference GEMM), kernels are recorded instead of run. Covers argument validation before any
 * launch, launch configurations and argument lists, F32-only compute, graph and counter plumbing,
 * context handling and clean-up. The kernels' results are the GPU suite's business.
 */
class CudaBackendHostTest extends FakeBackendTest {
    private final CpuBackend cpu = new CpuBackend();

    private Tensor f32(float[] v, int... dims) {
        return be.upload(v, Shape.of(dims));
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    // ---- memory ---------------------------------------------------------------------------------

    @Test
    void describesItself() {
        assertEquals("cuda", be.name());
        assertTrue(be.description().startsWith("cuda (Fake GPU (sm_90, 4 SMs, 8.0 GiB), driver 13.0, cuBLAS 130100"),
                be.description());
        assertTrue(be.description().endsWith(", ffm)"), be.description());
        assertEquals(new CudaDeviceInfo(0, "Fake GPU", 8L << 30, 9, 0, 4), be.device());
        assertEquals(0, probe.mathMode(), "FP32 GEMMs unless TF32 is asked for");
        assertTrue(probe.workspace() != 0, "cuBLAS got a workspace");
        be.setTf32(true);
        assertEquals(3, probe.mathMode());
        assertTrue(be.description().endsWith("TF32 GEMMs"));
    }

    @Test
    void uploadsDownloadsAndWritesEveryDtype() {
        float[] f = {1.5f, -2f, Float.MIN_VALUE, 3e38f, -0f};
        assertArrayEquals(new double[]{1.5, -2, Float.MIN_VALUE, 3e38f, -0.0}, be.download(f32(f, 5)));
        assertArrayEquals(f, be.downloadFloats(f32(f, 5)));
        double[] d = {Math.PI, -1e300, 0};
        assertArrayEquals(d, be.download(be.upload(d, Shape.of(3))));
        int[] i = {-1, 0, Integer.MAX_VALUE};
        Tensor ti = be.upload(i, Shape.of(3));
        assertArrayEquals(new double[]{-1, 0, Integer.MAX_VALUE}, be.download(ti));
        assertArrayEquals(i, be.downloadInts(ti));
        byte[] b = {(byte) 255, 0, 7};
        assertArrayEquals(new double[]{255, 0, 7}, be.download(be.upload(b, Shape.of(3))));
        Tensor t = be.alloc(DType.F32, 2, 3);
        assertArrayEquals(new double[6], be.download(t), "alloc zero-fills (the fake's fresh memory is 0xAB)");
        be.write(t, new double[]{1, 2, 3, 4, 5, 6});
        assertArrayEquals(new double[]{1, 2, 3, 4, 5, 6}, be.download(t));
        Tensor t64 = be.alloc(DType.F64, 2);
        be.write(t64, new float[]{0.1f, 2});
        assertArrayEquals(new double[]{0.1f, 2}, be.download(t64));
        be.write(ti, new int[]{4, 5, 6});
        assertArrayEquals(new double[]{4, 5, 6}, be.download(ti));
        assertThrows(IllegalArgumentException.class, () -> be.write(ti, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> be.write(t, new int[6]));
        assertThrows(IllegalArgumentException.class, () -> be.write(t, new float[5]));
        assertThrows(IllegalArgumentException.class, () -> be.upload(new float[5], Shape.of(2, 3)));
        Tensor empty = be.alloc(DType.F32, 0);
        assertArrayEquals(new double[0], be.download(empty));
    }

    @Test
    void viewsCopiesAndFills() {
        Tensor t = f32(new float[]{0, 1, 2, 3, 4, 5}, 2, 3);
        Tensor row1 = t.rowSlice(1, 1);
        assertInstanceOf(DeviceTensor.class, row1);
        assertArrayEquals(new double[]{3, 4, 5}, be.download(row1));
        be.fill(row1, 7);
        assertArrayEquals(new double[]{0, 1, 2, 7, 7, 7}, be.download(t));
        Tensor u = be.alloc(DType.F32, 3);
        be.copy(t.view(1, 3), u);
        assertArrayEquals(new double[]{1, 2, 7}, be.download(u));
        assertThrows(IllegalArgumentException.class, () -> be.copy(t, u));
        Tensor i32 = be.alloc(DType.I32, 2), u8 = be.alloc(DType.U8, 3), f64 = be.alloc(DType.F64, 2);
        be.fill(i32, -3.7);
        be.fill(u8, 200);
        be.fill(f64, 0);
        assertArrayEquals(new double[]{-3, -3}, be.download(i32));
        assertArrayEquals(new double[]{200, 200, 200}, be.download(u8));
        assertArrayEquals(new double[]{0, 0}, be.download(f64));
        long launches = probe.launches();
        be.fill(f64, 2.5);  // no 64-bit memset: a kernel
        assertEquals(launches + 1, probe.launches());
        assertEquals("elbo4j_fill_u64", probe.lastKernel());
        assertEquals(Double.doubleToRawLongBits(2.5), probe.lastArg(2));
        assertEquals(2, probe.lastArg(1));
    }

    @Test
    void tensorsFromElsewhereAreRejected() {
        Tensor mine = be.alloc(DType.F32, 2, 2);
        Tensor cpuTensor = cpu.alloc(DType.F32, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.copy(cpuTensor, mine));
        assertTrue(e.getMessage().contains("does not belong to this CUDA backend"), e.getMessage());
        try (CudaBackend other = new CudaBackend(probe.driver(), probe.blas(), KernelImageTest.fakeFatbin(), 0, "ffm")) {
            Tensor theirs = other.alloc(DType.F32, 2, 2);
            assertThrows(IllegalArgumentException.class, () -> be.download(theirs));
        }
    }

    // ---- GEMM through cuBLAS (the fake is a reference column-major SGEMM) --------------------------

    @ParameterizedTest
    @CsvSource({"false,false", "true,false", "false,true", "true,true"})
    void gemmMatchesTheCpuForEveryTransposition(boolean ta, boolean tb) {
        int[][] sizes = {{1, 1, 1}, {7, 3, 5}, {129, 17, 33}, {3, 1025, 2}, {1, 7, 784}};
        long seed = 10;
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = floats(Rand.normal(seed++, m * k, 1)), b = floats(Rand.normal(seed++, k * n, 1));
            float[] c0 = floats(Rand.normal(seed++, m * n, 1));
            int[] aDims = ta ? new int[]{k, m} : new int[]{m, k}, bDims = tb ? new int[]{n, k} : new int[]{k, n};
            for (double beta : new double[]{0, 0.5}) {
                Tensor ca = cpu.upload(a, Shape.of(aDims)), cb = cpu.upload(b, Shape.of(bDims)), cc = cpu.upload(c0, Shape.of(m, n));
                cpu.gemm(ta, tb, 1.5, ca, cb, beta, cc);
                float[] poisoned = c0.clone();
                if (beta == 0) java.util.Arrays.fill(poisoned, Float.NaN);
                Tensor ga = be.upload(a, Shape.of(aDims)), gb = be.upload(b, Shape.of(bDims)), gc = be.upload(poisoned, Shape.of(m, n));
                be.gemm(ta, tb, 1.5, ga, gb, beta, gc);
                double[] want = cpu.download(cc), got = be.download(gc);
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 1e-5 * (1 + Math.abs(want[i])) * Math.max(1, k),
                            "m=" + m + " n=" + n + " k=" + k + " beta=" + beta + " at " + i);
                }
            }
        }
    }

    @Test
    void gemmChecksShapesOverlapAndPrecisionBeforeCallingCublas() {
        Tensor a = be.alloc(DType.F32, 3, 4), b = be.alloc(DType.F32, 4, 5), c = be.alloc(DType.F32, 3, 5);
        assertThrows(IllegalArgumentException.class, () -> be.gemm(false, false, 1, a, b, 0, be.alloc(DType.F32, 5, 3)));
        assertThrows(IllegalArgumentException.class, () -> be.gemm(true, false, 1, a, b, 0, c));
        Tensor big = be.alloc(DType.F32, 4, 4);
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class,
                () -> be.gemm(false, false, 1, big.view(0, 2, 2), big.view(4, 2, 2), 0, big.view(6, 2, 2)));
        assertTrue(overlap.getMessage().contains("overlap"));
        Tensor d = be.alloc(DType.F64, 3, 4);
        UnsupportedOperationException f64 = assertThrows(UnsupportedOperationException.class,
                () -> be.gemm(false, false, 1, d, b, 0, c));
        assertTrue(f64.getMessage().contains("F32 only"), f64.getMessage());
    }

    // ---- kernels: validation, configuration and arguments ----------------------------------------

    @Test
    void invalidCallsThrowBeforeAnyLaunch() {
        Tensor stats = be.alloc(DType.F32, 4, 6), eps = be.alloc(DType.F32, 8, 3), z = be.alloc(DType.F32, 8, 3);
        RngKey key = new RngKey(1, Streams.LATENT, 0);
        long launches = probe.launches();
        assertThrows(IllegalArgumentException.class,
                () -> be.latentForward(stats, key, eps, be.alloc(DType.F32, 8, 4), null, null));
        assertThrows(IllegalArgumentException.class,
                () -> be.latentForward(stats, key, eps, z, be.alloc(DType.F32, 3), null));
        assertThrows(IllegalArgumentException.class,
                () -> be.latentForward(stats, key, eps, z, null, be.alloc(DType.F32, 4)));
        assertThrows(IllegalArgumentException.class,
                () -> be.latentBackward(stats, eps, z, 1, be.alloc(DType.F32, 4, 5)));
        assertThrows(IllegalArgumentException.class,
                () -> be.likelihood(Likelihood.bernoulli(), be.alloc(DType.F32, 7, 5), be.alloc(DType.F32, 2, 5), null, 1,
                        be.alloc(DType.F32, 7), null, null));
        assertThrows(IllegalArgumentException.class,
                () -> be.likelihood(Likelihood.gaussianLearned(), be.alloc(DType.F32, 4, 5), be.alloc(DType.F32, 2, 5), null, 1,
                        be.alloc(DType.F32, 4), be.alloc(DType.F32, 4, 5), null));
        assertThrows(IllegalArgumentException.class,
                () -> be.biasActivation(be.alloc(DType.F32, 2, 3), be.alloc(DType.F32, 2), Activation.RELU));
        assertThrows(IllegalArgumentException.class,
                () -> be.adam(be.alloc(DType.F32, 4), be.alloc(DType.F32, 4), be.alloc(DType.F32, 4), be.alloc(DType.F32, 3),
                        AdamConfig.of(1e-3), 1));
        assertThrows(IllegalArgumentException.class,
                () -> be.adam(be.alloc(DType.F32, 4), be.alloc(DType.F32, 4), be.alloc(DType.F32, 4), be.alloc(DType.F32, 4),
                        AdamConfig.of(1e-3), 0));
        Tensor data = be.upload(new byte[12], Shape.of(3, 4)), index = be.upload(new int[]{0, 1, 2}, Shape.of(3));
        assertThrows(IllegalArgumentException.class,
                () -> be.gather(data, index, 2, Binarization.NONE, key, be.alloc(DType.F32, 2, 4)));
        assertThrows(IllegalArgumentException.class,
                () -> be.gather(index, index, 0, Binarization.NONE, key, be.alloc(DType.F32, 2, 4)));
        assertThrows(UnsupportedOperationException.class, () -> be.normal(key, be.alloc(DType.F64, 4)));
        assertThrows(IllegalArgumentException.class, () -> be.accumulate(be.alloc(DType.F32, 3), 1, be.alloc(DType.F32, 1)));
        assertEquals(launches, probe.launches(), "no kernel ran for an invalid call");
    }

    @Test
    void latentForwardLaunch() {
        int b = 5, zd = 20, l = 3, rows = l * b;
        Tensor stats = be.alloc(DType.F32, b, 2 * zd), eps = be.alloc(DType.F32, rows, zd), z = be.alloc(DType.F32, rows, zd);
        Tensor kl = be.alloc(DType.F32, b), lr = be.alloc(DType.F32, rows);
        RngKey key = new RngKey(0x1122334455667788L, Streams.EVAL, 0x00ab_cdef_1234_5678L);
        be.latentForward(stats, key, eps, z, kl, lr);
        assertEquals("elbo4j_latent_forward_f32", probe.lastKernel());
        assertEquals(Kernels.BLOCK_LATENT, probe.lastConfig(3));
        int group = 8;  // 20 latents touch at most 6 Philox blocks
        assertEquals(Kernels.ceilDiv(rows, Kernels.BLOCK_LATENT / group), probe.lastConfig(0));
        assertEquals(((DeviceTensor) stats).address(), probe.lastArg(0));
        assertEquals(((DeviceTensor) lr).address(), probe.lastArg(4));
        assertArrayEquals(new int[]{b, zd, rows, group},
                new int[]{probe.lastArgInt(5), probe.lastArgInt(6), probe.lastArgInt(7), probe.lastArgInt(8)});
        assertEquals(key.key0(), probe.lastArgInt(9));
        assertEquals(key.key1(), probe.lastArgInt(10));
        assertEquals(Streams.EVAL, probe.lastArgInt(11));
        assertEquals(key.step(), probe.lastArg(12));
        assertEquals(0, probe.lastArg(13), "no device step bound");
        be.latentForward(stats, key, eps, z, kl, null);
        assertEquals(0, probe.lastArg(4), "a null logRatio is a null pointer");
    }

    @Test
    void likelihoodLaunches() {
        int rows = 4097, b = 4097, d = 784;
        Tensor out = be.alloc(DType.F32, rows, d), x = be.alloc(DType.F32, b, d), loss = be.alloc(DType.F32, rows);
        Tensor g = be.alloc(DType.F32, rows, d);
        be.likelihood(Likelihood.bernoulli(), out, x, null, 0.25, loss, g, null);
        assertEquals("elbo4j_bernoulli_f32", probe.lastKernel());
        assertEquals(Kernels.BLOCK_ROW, probe.lastConfig(3));
        int rpb = Kernels.rowsPerBlock(rows);
        assertEquals(5, rpb);
        assertEquals(Kernels.ceilDiv(rows, rpb), probe.lastConfig(0));
        assertEquals(rpb, probe.lastArgInt(7));
        assertEquals(0.25f, probe.lastArgFloat(8));

        Likelihood fixed = Likelihood.gaussian(0.3);
        be.likelihood(fixed, out, x, null, 0.5, loss, null, null);
        assertEquals("elbo4j_gaussian_f32", probe.lastKernel());
        assertEquals(0, probe.lastArg(4), "no dOut in evaluation");
        assertEquals(fixed.fixedLogVar(), probe.lastArgDouble(11));
        assertEquals((float) Math.exp(-fixed.fixedLogVar()), probe.lastArgFloat(12));

        int small = 6;
        Tensor o2 = be.alloc(DType.F32, small, d), x2 = be.alloc(DType.F32, 3, d), l2 = be.alloc(DType.F32, small);
        Tensor g2 = be.alloc(DType.F32, small, d), lv = be.alloc(DType.F32, d), dlv = be.alloc(DType.F32, d);
        long before = probe.launches();
        be.likelihood(Likelihood.gaussianLearned(), o2, x2, lv, 0.125, l2, g2, dlv);
        assertEquals(before + 2, probe.launches(), "row pass, then the column finalisation");
        assertEquals("elbo4j_gaussian_dlogvar_f32", probe.lastKernel());
        assertEquals(((DeviceTensor) dlv).address(), probe.lastArg(1));
        assertEquals(small, probe.lastArgInt(2), "one block per row: six column partials");
        assertEquals(d, probe.lastArgInt(3));
        assertEquals(0.125, probe.lastArgDouble(4));
    }

    @Test
    void learnedVarianceUsesSharedMemoryWhenTheColumnsFit() {
        for (int d : new int[]{784, 6144, 6145}) {
            Tensor o = be.alloc(DType.F32, 2, d), x = be.alloc(DType.F32, 2, d), l = be.alloc(DType.F32, 2);
            Tensor g = be.alloc(DType.F32, 2, d), lv = be.alloc(DType.F32, d), dlv = be.alloc(DType.F32, d);
            be.likelihood(Likelihood.gaussianLearned(), o, x, lv, 1, l, g, dlv);
            be.likelihood(Likelihood.gaussianLearned(), o, x, lv, 1, l, null, null);
            assertEquals("elbo4j_gaussian_f32", probe.lastKernel());
            assertEquals(0, probe.lastConfig(6), "no columns without a gradient");
            be.likelihood(Likelihood.gaussianLearned(), o, x, lv, 1, l, g, dlv);
            assertEquals("elbo4j_gaussian_dlogvar_f32", probe.lastKernel());
        }
    }

    @Test
    void adamFoldsTheConstantsLikeTheCpu() {
        int n = 10;
        Tensor p = be.alloc(DType.F32, n), g = be.alloc(DType.F32, n), m = be.alloc(DType.F32, n), v = be.alloc(DType.F32, n);
        AdamConfig cfg = new AdamConfig(3e-4, 0.8, 0.99, 1e-7, 0.01);
        be.adam(p, g, m, v, cfg, 7);
        assertEquals("elbo4j_adam_f32", probe.lastKernel());
        assertEquals(n, probe.lastArg(4));
        float b1 = (float) cfg.beta1(), b2 = (float) cfg.beta2();
        float[] want = {b1, b2, 1 - b1, 1 - b2, (float) cfg.eps(), (float) (1 - cfg.lr() * cfg.weightDecay()),
                (float) (cfg.lr() / (1 - Math.pow(cfg.beta1(), 7))), (float) (1 / Math.sqrt(1 - Math.pow(cfg.beta2(), 7)))};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], probe.lastArgFloat(5 + i), "constant " + i);
        assertEquals(0, probe.lastArg(13));
    }

    @Test
    void gatherSumAndBiasLaunches() {
        Tensor data = be.upload(new byte[3 * 8], Shape.of(3, 8)), index = be.upload(new int[]{2, 0, 1}, Shape.of(3));
        Tensor out = be.alloc(DType.F32, 2, 8);
        be.gather(data, index, 1, Binarization.FIXED, new RngKey(5, Streams.FIXED_BINARIZE, 0), out);
        assertEquals("elbo4j_gather_u8_f32", probe.lastKernel());
        assertArrayEquals(new int[]{1, 2, 3, 8, 2},
                new int[]{probe.lastArgInt(4), probe.lastArgInt(5), probe.lastArgInt(6), probe.lastArgInt(7), probe.lastArgInt(8)});
        assertEquals(Streams.FIXED_BINARIZE, probe.lastArgInt(11));
        be.synchronize();  // reads the (clean) error word

        Tensor x = be.alloc(DType.F32, 5000), acc = be.alloc(DType.F64, 1);
        be.accumulate(x, 0.5, acc);
        assertEquals("elbo4j_sum_f32", probe.lastKernel());
        assertEquals(Kernels.reduceBlocks(5000), probe.lastConfig(0));
        assertEquals(((DeviceTensor) acc).address(), probe.lastArg(4));
        assertEquals(0.5, probe.lastArgDouble(5));
        assertEquals(1, probe.lastArgInt(6));
        assertEquals(0.0, be.sum(be.alloc(DType.U8, 7)));
        assertEquals("elbo4j_sum_u8", probe.lastKernel());
        assertEquals(0, probe.lastArgInt(6));

        Tensor y = be.alloc(DType.F32, 9, 33), dy = be.alloc(DType.F32, 9, 33), db = be.alloc(DType.F32, 33);
        be.biasActivationBackward(y, dy, Activation.TANH, db);
        assertEquals("elbo4j_bias_act_backward_f32", probe.lastKernel());
        assertArrayEquals(new int[]{2, 1, 1, 32, 8, 1, 0},
                java.util.stream.IntStream.range(0, 7).map(probe::lastConfig).toArray());
        assertEquals(0, probe.lastArg(2), "9 rows: one chunk, no partials");
        assertEquals(Kernels.MIN_CHUNK_ROWS, probe.lastArgInt(6));
        assertEquals(2, probe.lastArgInt(7), "tanh");
        Tensor tall = be.alloc(DType.F32, 300, 33);  // 3 chunks of 128 rows x 2 column tiles, then the second pass
        be.biasActivationBackward(tall, be.alloc(DType.F32, 300, 33), Activation.RELU, db);
        assertEquals("elbo4j_column_sum_f32", probe.lastKernel());
        assertArrayEquals(new int[]{2, 1, 1, 32, 8, 1, 0},
                java.util.stream.IntStream.range(0, 7).map(probe::lastConfig).toArray());
        assertEquals(((DeviceTensor) db).address(), probe.lastArg(1));
        assertEquals(3, probe.lastArgInt(2));
        assertEquals(33, probe.lastArgInt(3));
        assertEquals(1.0, probe.lastArgDouble(4));
        long launches = probe.launches();
        be.biasActivationBackward(y, dy, Activation.IDENTITY, null);
        be.biasActivation(y, null, Activation.IDENTITY);
        assertEquals(launches, probe.launches(), "identity without bias is a no-op");
        be.biasActivation(y, be.alloc(DType.F32, 33), Activation.SIGMOID);
        assertEquals("elbo4j_bias_act_f32", probe.lastKernel());
        assertEquals(3, probe.lastArgInt(4));
    }

    // ---- graphs, counters, timing, threads --------------------------------------------------------

    @Test
    void deviceStepsFeedTheKernelsStepPointer() {
        try (DeviceCounter step = be.counter(41)) {
            assertEquals(41, step.get());
            step.set((1L << 40) + 3);
            assertEquals((1L << 40) + 3, step.get());
            be.bindRngStep(Streams.LATENT, step);
            be.bindAdamStep(step);
            Tensor z = be.alloc(DType.F32, 6);
            be.normal(new RngKey(1, Streams.LATENT, 0), z);
            assertEquals(step.address(), probe.lastArg(6));
            be.normal(new RngKey(1, Streams.SAMPLE, 0), z);
            assertEquals(0, probe.lastArg(6), "other streams keep their host step");
            be.adam(z, z.view(0, 6), be.alloc(DType.F32, 6), be.alloc(DType.F32, 6), AdamConfig.of(1e-3), 1);
            assertEquals(step.address(), probe.lastArg(13));
            try (CudaGraph graph = be.capture(() -> {
                be.normal(new RngKey(1, Streams.LATENT, 0), z);
                step.add(1);
            })) {
                assertEquals("elbo4j_counter_add_u64", probe.lastKernel());
                graph.launch();
                graph.launch();
            }
        }
        Tensor z = be.alloc(DType.F32, 6);
        be.normal(new RngKey(1, Streams.LATENT, 0), z);
        assertEquals(0, probe.lastArg(6), "closing a counter unbinds it");
        assertEquals(1.5f, be.time(() -> be.fill(z, 1)));
    }

    @Test
    void aFailedCaptureIsAbandoned() {
        RuntimeException e = assertThrows(RuntimeException.class, () -> be.capture(() -> {
            throw new IllegalStateException("boom");
        }));
        assertEquals("boom", e.getMessage());
        be.capture(() -> be.fill(be.alloc(DType.F32, 1), 0)).close();
    }

    @Test
    void anotherThreadGetsTheContextMadeCurrent() throws Exception {
        Tensor t = be.alloc(DType.F32, 4);
        long sets = probe.contextSets();
        Thread th = new Thread(() -> be.fill(t, 2));
        th.start();
        th.join();
        assertTrue(probe.contextSets() > sets);
        assertArrayEquals(new double[]{2, 2, 2, 2}, be.download(t));
    }

    @Test
    void closingFreesEverythingAndLaterUseFails() {
        Tensor owner = be.alloc(DType.F32, 100);
        Tensor view = owner.view(10, 5);
        owner.close();
        IllegalStateException freed = assertThrows(IllegalStateException.class, () -> be.download(view));
        assertTrue(freed.getMessage().contains("freed"));
        owner.close();
        Tensor live = be.alloc(DType.F32, 100);
        be.close();
        be.close();
        assertThrows(IllegalStateException.class, () -> be.alloc(DType.F32, 1));
        live.close();  // after the backend: nothing left to do
        assertEquals(allocationsBefore, probe.liveAllocations());
    }

    // ---- open(): every reason the GPU path cannot run ---------------------------------------------

    @Test
    void openListsDeviceProblems(@TempDir Path tmp) throws Exception {
        Path fatbin = Files.write(tmp.resolve("k.fatbin"), KernelImageTest.fakeFatbin());
        String old = System.getProperty(KernelImage.PROPERTY);
        System.setProperty(KernelImage.PROPERTY, fatbin.toString());
        try {
            try (CudaBackend ok = CudaBackend.open(probe.binding(), 0)) {
                assertEquals("Fake GPU", ok.device().name());
            }
            BackendUnavailableException none = assertThrows(BackendUnavailableException.class,
                    () -> CudaBackend.open(probe.binding(), 1));
            assertEquals(java.util.List.of("no CUDA device 1 (the driver reports 1)"), none.reasons());
            probe.device(1, 7, 5, 40);
            BackendUnavailableException old75 = assertThrows(BackendUnavailableException.class,
                    () -> CudaBackend.open(probe.binding(), 0));
            assertEquals(java.util.List.of("Fake GPU has compute capability 7.5; the kernels need 8.0 (sm_80) or newer"),
                    old75.reasons());
            probe.device(0, 9, 0, 4);
            assertEquals(java.util.List.of("the CUDA driver reports no device"),
                    assertThrows(BackendUnavailableException.class, () -> CudaBackend.open(probe.binding(), 0)).reasons());
            probe.device(1, 9, 0, 4);
            probe.initResult(100);
            assertEquals(java.util.List.of("cuInit failed: CUDA_ERROR_NO_DEVICE (100) (no NVIDIA GPU visible to this process)"),
                    assertThrows(BackendUnavailableException.class, () -> CudaBackend.open(probe.binding(), 0)).reasons());
            probe.initResult(0);
            probe.driverVersion(12040);
            try (CudaBackend anyDriver = CudaBackend.open(probe.binding(), 0)) {  // -Delbo4j.kernels: no minimum
                assertEquals("Fake GPU", anyDriver.device().name());
            }
            java.util.List<String> reasons = new java.util.ArrayList<>();
            assertThrows(BackendUnavailableException.class, () -> CudaBackend.open(probe.binding(), 0,
                    java.util.Optional.of(KernelImageTest.fakeFatbin()), DriverVersion.KERNELS_NEED, reasons));
            assertEquals(java.util.List.of("the CUDA driver is version 12.4 (libcuda via FFM (" + probe.libraries.cuda()
                    + ")), older than the CUDA 13.0 driver (R580 or newer) that the kernels of this build (nvcc 13, PTX 9.0)"
                    + " need"), reasons);
            probe.driverVersion(13000);
            try (CudaBackend packaged = CudaBackend.open(probe.binding(), 0, java.util.Optional.of(KernelImageTest.fakeFatbin()),
                    DriverVersion.KERNELS_NEED, new java.util.ArrayList<>())) {
                assertTrue(packaged.description().contains("driver 13.0"), packaged.description());
            }
            Files.write(fatbin, new byte[40]);
            BackendUnavailableException bad = assertThrows(BackendUnavailableException.class,
                    () -> CudaBackend.open(probe.binding(), 0));
            assertTrue(bad.reasons().getFirst().contains("is not a valid fatbin: magic 0x00000000"), bad.reasons().toString());
        } finally {
            probe.driverVersion(13000);
            probe.device(1, 9, 0, 4);
            probe.initResult(0);
            if (old == null) System.clearProperty(KernelImage.PROPERTY); else System.setProperty(KernelImage.PROPERTY, old);
        }
    }
}
