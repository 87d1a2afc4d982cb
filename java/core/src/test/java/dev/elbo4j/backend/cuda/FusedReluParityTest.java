package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Mlp;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.nn.Workspace;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.TrainConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ReLU derivative carried across two dense layers on cuBLASLt (kernels/README.md, "The cuBLASLt
 * path"): the layer below's forward stores its ReLU bit mask ({@code RELU_AUX_BIAS},
 * {@link Backend#linearForwardMasked}) and the layer above's dx GEMM zeroes dx where the mask is clear
 * and writes the layer below's bias gradient ({@code DRELU_BGRAD},
 * {@link Backend#linearBackwardReluInput}). Checked against the CPU reference (the unfused order) and,
 * on the emulated device, against the same backend's unfused cuBLASLt path bit for bit; at widths on
 * both sides of the mask's 128-bit leading dimension; through {@code Mlp} stacks where every ReLU
 * layer is fused; and replayed from a graph with the weight gradient forked, against eager bits. Run
 * it with ELBO4J_EMU_REVERSE=1 too.
 */
class FusedReluParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;
    private static boolean emulated;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
        emulated = gpu.description().contains("emulator");
    }

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (int rows : new int[]{1, 3, 129, 8193}) {
            for (int in : new int[]{1, 3, 128, 129, 1025}) {
                if (rows * (long) in > 200_000) continue;
                a.add(Arguments.of(rows, in, 3, Activation.IDENTITY, false));
            }
        }
        a.add(Arguments.of(129, 129, 33, Activation.RELU, false));
        a.add(Arguments.of(129, 129, 33, Activation.RELU, true));
        a.add(Arguments.of(65, 1025, 3, Activation.IDENTITY, true));
        a.add(Arguments.of(128, 400, 784, Activation.IDENTITY, false));
        a.add(Arguments.of(128, 400, 40, Activation.IDENTITY, false));
        return a.stream();
    }

    private static <T> T withLt(boolean on, java.util.function.Supplier<T> r) {
        boolean was = gpu.cublasLt();
        gpu.setCublasLt(on);
        try {
            return r.get();
        } finally {
            gpu.setCublasLt(was);
        }
    }

    /**
     * A ReLU layer below (k -> in) run forward on the GPU with its mask stored, then the layer above
     * (in -> out, {@code act}) backward with the derivative of the layer below fused into its dx GEMM.
     * {@code pre}: dy already is the layer above's pre-activation gradient, its bias gradient done.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void fusedBackwardMatchesTheUnfusedOrder(int rows, int in, int out, Activation act, boolean pre) {
        int k = 5;
        long seed = 13L * rows + 7L * in + out + (pre ? 1000 : 0) + act.ordinal();
        float[] x0 = Rand.toFloat(Rand.normal(seed, rows * k, 1)), w0 = Rand.toFloat(Rand.normal(seed + 1, in * k, 0.6));
        float[] b0 = Rand.toFloat(Rand.normal(seed + 2, in, 0.3)), w = Rand.toFloat(Rand.normal(seed + 3, out * in, 0.5));
        float[] g = Rand.toFloat(Rand.normal(seed + 4, rows * out, 1)), b = Rand.toFloat(Rand.normal(seed + 5, out, 0.3));
        withLt(true, () -> {
            int maskBytes = gpu.reluMaskRowBytes(in);
            assertEquals(16 * ((in + 127) / 128), maskBytes, "mask bytes per row for " + in + " outputs");
            try (Tensor gx0 = up(gpu, x0, rows, k); Tensor gw0 = up(gpu, w0, in, k); Tensor gb0 = up(gpu, b0, in);
                 Tensor gx = poisoned(gpu, DType.F32, rows, in);
                 // A mask full of stale bits: the forward must write every bit the backward reads.
                 Tensor mask = gpu.upload(filled(rows * maskBytes, (byte) 0xA5), Shape.of(rows, maskBytes))) {
                assertTrue(gpu.linearForwardMasked(gx0, gw0, gb0, Activation.RELU, gx, mask),
                        () -> "the mask was stored: cuBLASLt had no RELU_AUX_BIAS algorithm? fallbacks " + gpu.cublasLtFallbacks());
                float[] x = down(gpu, gx);
                // The layer above's output y, from the GPU's x, on the CPU (only act'(y) is read).
                Tensor cy = cpu.alloc(DType.F32, rows, out);
                cpu.linearForward(up(cpu, x, rows, in), up(cpu, w, out, in), up(cpu, b, out), act, cy);
                float[] y = down(cpu, cy);

                // The reference: the CPU's unfused order from the same x.
                Tensor cg = up(cpu, g, rows, out), cdw = cpu.alloc(DType.F32, out, in), cdx = cpu.alloc(DType.F32, rows, in);
                Tensor cdb = pre ? null : cpu.alloc(DType.F32, out), cxb = cpu.alloc(DType.F32, in);
                cpu.linearBackwardReluInput(up(cpu, x, rows, in), up(cpu, w, out, in), cy, cg, pre ? Activation.IDENTITY : act,
                        cdw, cdb, cdx, null, cxb);
                float[] preWant = down(cpu, cg), dwWant = down(cpu, cdw), dxWant = down(cpu, cdx), xbWant = down(cpu, cxb);

                long fusedBefore = gpu.cublasLtFusedDerivatives();
                float[][] fused = backward(true, mask, x, w, y, g, rows, in, out, act, pre);
                assertEquals(fusedBefore + 1, gpu.cublasLtFusedDerivatives(),
                        () -> "one DRELU_BGRAD dx GEMM: cuBLASLt had no algorithm for it? fallbacks " + gpu.cublasLtFallbacks());
                String at = rows + "x" + in + "->" + out + " " + act + (pre ? " (pre)" : "");
                assertBits("dPre " + at, preWant, fused[0]);
                double[] sX = absProduct(preWant, rows, out, w, in);
                double[] dxTol = new double[sX.length];
                for (int i = 0; i < sX.length; i++) dxTol[i] = 1.25 * out * 0x1p-23 * sX[i] + Float.MIN_VALUE;
                for (int i = 0; i < x.length; i++) {
                    // Where the layer below's output is not positive, dx is exactly zero.
                    if (!(x[i] > 0)) assertEquals(0, Float.floatToRawIntBits(fused[2][i]), "dx[" + i + "] at x <= 0, " + at);
                }
                assertWithin("dx " + at, toDouble(dxWant), toDouble(fused[2]), dxTol);
                double[] xbTol = new double[in];
                for (int c = 0; c < in; c++) {
                    // The dx elements' own tolerances, plus the sum's rounding.
                    double abs = 0, elements = 0;
                    for (int r = 0; r < rows; r++) {
                        abs += Math.abs(dxWant[r * in + c]);
                        elements += dxTol[r * in + c];
                    }
                    xbTol[c] = elements + Math.ulp(xbWant[c]) + 1.25 * rows * 0x1p-23 * abs + Float.MIN_VALUE;
                }
                assertWithin("bias gradient of the layer below " + at, toDouble(xbWant), toDouble(fused[3]), xbTol);
                if (emulated) {
                    // The emulator's GEMM is the same for cuBLAS and cuBLASLt: the unfused cuBLASLt path's bits.
                    float[][] plain = backward(false, null, x, w, y, g, rows, in, out, act, pre);
                    assertBits("dW fused vs unfused " + at, plain[1], fused[1]);
                    assertBits("dx fused vs unfused " + at, plain[2], fused[2]);
                    if (!pre) assertBits("dBias fused vs unfused " + at, plain[4], fused[4]);
                }
                double dwRel = relativeError(toDouble(dwWant), toDouble(fused[1]));
                assertTrue(dwRel < 1e-5, "dW " + at + ": relative error " + dwRel);
            }
            return null;
        });
    }

    /** dPre, dW, dx, the layer below's bias gradient, dBias (null with pre) of one backward on the GPU. */
    private static float[][] backward(boolean fuse, Tensor mask, float[] x, float[] w, float[] y, float[] g, int rows, int in,
                                      int out, Activation act, boolean pre) {
        try (Tensor gx = up(gpu, x, rows, in); Tensor gw = up(gpu, w, out, in); Tensor gy = up(gpu, y, rows, out);
             Tensor gg = up(gpu, g, rows, out); Tensor gdw = poisoned(gpu, DType.F32, out, in);
             Tensor gdb = poisoned(gpu, DType.F32, out); Tensor gdx = poisoned(gpu, DType.F32, rows, in);
             Tensor gxb = poisoned(gpu, DType.F32, in)) {
            Activation a = pre ? Activation.IDENTITY : act;
            Tensor db = pre ? null : gdb;
            if (fuse) {
                gpu.linearBackwardReluInput(gx, gw, gy, gg, a, gdw, db, gdx, mask, gxb);
            } else {
                gpu.linearBackward(gx, gw, gy, gg, a, gdw, db, gdx);
                gpu.biasActivationBackward(gx, gdx, Activation.RELU, gxb);
            }
            return new float[][]{down(gpu, gg), down(gpu, gdw), down(gpu, gdx), down(gpu, gxb), pre ? null : down(gpu, gdb)};
        }
    }

    private static byte[] filled(int n, byte v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, v);
        return b;
    }

    /** |dPre| |W| (rows x in, in double): the scale of dx's GEMM rounding per element. */
    private static double[] absProduct(float[] dPre, int rows, int out, float[] w, int in) {
        double[] s = new double[rows * in];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double a = Math.abs(dPre[r * out + o]);
                if (a == 0) continue;
                for (int c = 0; c < in; c++) s[r * in + c] += a * Math.abs(w[o * in + c]);
            }
        }
        return s;
    }

    /** A mask of the wrong shape or type is refused, naming it, before anything is enqueued. */
    @Test
    void aMaskOfTheWrongShapeIsRefused() {
        withLt(true, () -> {
            try (Tensor x = gpu.alloc(DType.F32, 4, 129); Tensor w = gpu.alloc(DType.F32, 3, 129);
                 Tensor y = gpu.alloc(DType.F32, 4, 3); Tensor dy = gpu.alloc(DType.F32, 4, 3);
                 Tensor dW = gpu.alloc(DType.F32, 3, 129); Tensor dB = gpu.alloc(DType.F32, 3);
                 Tensor dx = gpu.alloc(DType.F32, 4, 129); Tensor xb = gpu.alloc(DType.F32, 129);
                 Tensor narrow = gpu.alloc(DType.U8, 4, 16); Tensor floats = gpu.alloc(DType.F32, 4, 8)) {
                for (Tensor bad : new Tensor[]{narrow, floats}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> gpu.linearBackwardReluInput(x, w, y, dy, Activation.IDENTITY, dW, dB, dx, bad, xb));
                    assertTrue(e.getMessage().contains("xMask") && e.getMessage().contains("[4, 32]"), e.getMessage());
                }
            }
            return null;
        });
    }

    /** Off the cuBLASLt path the backend keeps no masks, and a masked forward is the plain one. */
    @Test
    void offTheCublasLtPathNoMaskIsKept() {
        withLt(false, () -> {
            assertEquals(0, gpu.reluMaskRowBytes(400));
            try (Tensor x = up(gpu, new float[]{1, -2, 3, 4}, 2, 2); Tensor w = up(gpu, new float[]{1, 0, 0, 1, 1, 1}, 3, 2);
                 Tensor b = up(gpu, new float[]{0, 0, -100}, 3); Tensor y = gpu.alloc(DType.F32, 2, 3);
                 Tensor mask = gpu.alloc(DType.U8, 2, 16)) {
                assertFalse(gpu.linearForwardMasked(x, w, b, Activation.RELU, y, mask));
                assertBits("forward without a mask", new float[]{1, 0, 0, 3, 4, 0}, down(gpu, y));
            }
            return null;
        });
    }

    /**
     * An {@code Mlp} of three ReLU layers and an identity output: on cuBLASLt with masks, each of the
     * three layers above a ReLU layer fuses (three DRELU_BGRAD GEMMs per backward pass); every
     * parameter gradient and the input gradient against the CPU, and on the emulator against the same
     * stack whose workspace keeps no masks (made off the cuBLASLt path), bit for bit.
     */
    @Test
    void anMlpFusesEveryReluLayer() {
        int[] sizes = {7, 129, 3, 130, 11};
        int rows = 33;
        long seed = 5;
        float[] x = Rand.toFloat(Rand.normal(seed, rows * sizes[0], 1)), g = Rand.toFloat(Rand.normal(seed + 1, rows * sizes[4], 1));
        Function<Backend, float[][]> cpuRun = be -> mlp(be, be, sizes, rows, x, g, seed);
        float[][] want = cpuRun.apply(cpu);
        long before = withLt(true, gpu::cublasLtFusedDerivatives);
        float[][] fused = withLt(true, () -> mlp(gpu, gpu, sizes, rows, x, g, seed));
        assertEquals(before + 3, gpu.cublasLtFusedDerivatives(), "DRELU_BGRAD GEMMs in one backward pass");
        for (int i = 0; i < want.length; i++) {
            double rel = relativeError(toDouble(want[i]), toDouble(fused[i]));
            assertTrue(rel < 1e-5, "gradient " + i + " of the fused stack against the CPU: relative error " + rel);
        }
        if (emulated) {
            // The workspace made with the path off keeps no masks: the same stack, unfused, on cuBLASLt.
            float[][] plain = mlpWithWorkspaceFrom(sizes, rows, x, g, seed);
            for (int i = 0; i < want.length; i++) assertBits("gradient " + i + " fused vs unfused", plain[i], fused[i]);
        }
    }

    private static float[][] mlpWithWorkspaceFrom(int[] sizes, int rows, float[] x, float[] g, long seed) {
        Mlp net = new Mlp("net", sizes, Activation.RELU, Activation.IDENTITY);
        Workspace ws = withLt(false, () -> net.workspace(gpu, DType.F32, rows, true));
        try (ws) {
            long before = gpu.cublasLtFusedDerivatives();
            float[][] r = withLt(true, () -> run(gpu, net, ws, rows, x, g, seed));
            assertEquals(before, gpu.cublasLtFusedDerivatives(), "no mask, no fusion");
            return r;
        }
    }

    private static float[][] mlp(Backend be, Backend wsBackend, int[] sizes, int rows, float[] x, float[] g, long seed) {
        Mlp net = new Mlp("net", sizes, Activation.RELU, Activation.IDENTITY);
        try (Workspace ws = net.workspace(wsBackend, DType.F32, rows, true)) {
            return run(be, net, ws, rows, x, g, seed);
        }
    }

    /** One forward and backward pass: the parameter gradients in declaration order, then dx. */
    private static float[][] run(Backend be, Mlp net, Workspace ws, int rows, float[] x, float[] g, long seed) {
        Parameters.Builder pb = new Parameters.Builder();
        net.declare(pb);
        try (Parameters p = pb.build(be, DType.F32, seed); Tensor tx = up(be, x, rows, net.in());
             Tensor dx = be.alloc(DType.F32, rows, net.in())) {
            net.forward(p, ws, tx);
            be.write(ws.outputGrad(rows), g);
            net.backward(p, ws, tx, dx);
            List<float[]> out = new ArrayList<>();
            for (String name : p.names()) out.add(down(be, p.grad(name)));
            out.add(down(be, dx));
            return out.toArray(float[][]::new);
        }
    }

    /**
     * The fused backward replayed from a graph, its weight gradient forked to the side stream beside
     * the DRELU_BGRAD dx GEMM, against the same call run eagerly: the same bits, over two replays
     * with new inputs written in between.
     */
    @Test
    void replayedFusedBackwardMatchesEagerBits() throws Exception {
        int rows = 129, in = 130, out = 40, k = 9;
        withLt(true, () -> {
            try (Tensor x0 = gpu.alloc(DType.F32, rows, k); Tensor w0 = gpu.alloc(DType.F32, in, k);
                 Tensor b0 = gpu.alloc(DType.F32, in); Tensor x = gpu.alloc(DType.F32, rows, in);
                 Tensor mask = gpu.alloc(DType.U8, rows, gpu.reluMaskRowBytes(in));
                 Tensor w = gpu.alloc(DType.F32, out, in); Tensor y = gpu.alloc(DType.F32, rows, out);
                 Tensor dy = gpu.alloc(DType.F32, rows, out); Tensor dW = gpu.alloc(DType.F32, out, in);
                 Tensor dB = gpu.alloc(DType.F32, out); Tensor dx = gpu.alloc(DType.F32, rows, in);
                 Tensor xb = gpu.alloc(DType.F32, in)) {
                Runnable step = () -> {
                    gpu.linearForwardMasked(x0, w0, b0, Activation.RELU, x, mask);
                    gpu.linearBackwardReluInput(x, w, y, dy, Activation.IDENTITY, dW, dB, dx, mask, xb);
                };
                Tensor[] outs = {dW, dB, dx, xb};
                CudaGraph graph = null;
                try {
                    for (int round = 0; round < 2; round++) {
                        long seed = 77L + 1000L * round;
                        float[] hg = Rand.toFloat(Rand.normal(seed + 3, rows * out, 1));
                        gpu.write(x0, Rand.toFloat(Rand.normal(seed, rows * k, 1)));
                        gpu.write(w0, Rand.toFloat(Rand.normal(seed + 1, in * k, 0.5)));
                        gpu.write(b0, Rand.toFloat(Rand.normal(seed + 2, in, 0.3)));
                        gpu.write(w, Rand.toFloat(Rand.normal(seed + 4, out * in, 0.5)));
                        gpu.write(dy, hg);
                        for (Tensor t : outs) gpu.fill(t, Double.NaN);
                        step.run();
                        float[][] eager = new float[outs.length][];
                        for (int i = 0; i < outs.length; i++) eager[i] = down(gpu, outs[i]);
                        if (graph == null) graph = gpu.capture(step);
                        gpu.write(dy, hg);
                        gpu.fill(x, Double.NaN);
                        for (Tensor t : outs) gpu.fill(t, Double.NaN);
                        graph.launch();
                        for (int i = 0; i < outs.length; i++) {
                            assertBits("output " + i + ", replay " + round, eager[i], down(gpu, outs[i]));
                        }
                    }
                } finally {
                    if (graph != null) graph.close();
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
            return null;
        });
    }

    /**
     * The trainer on cuBLASLt, eager and replayed (one graph per step, the dW GEMMs forked beside the
     * DRELU_BGRAD dx GEMMs): 52 steps with a short last batch each epoch end on the same bits, and each
     * step fused both ReLU layers; on the emulator also the hand-written path's bits.
     */
    @Test
    void replayedTrainingOnCublasLtIsTheEagerLoopsBits() {
        Dataset train = GraphTrainingParityTest.data(GraphTrainingParityTest.N, 1, -1);
        TrainConfig tc = TrainConfig.builder().epochs(4).batchSize(GraphTrainingParityTest.BATCH)
                .seed(GraphTrainingParityTest.SEED).adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();
        VaeConfig mc = VaeConfig.builder().inputDim(GraphTrainingParityTest.D).hidden(24).latent(3).build();
        long before = gpu.cublasLtFusedDerivatives();
        GraphTrainingParityTest.Outcome eager = withLt(true,
                () -> GraphTrainingParityTest.train(mc, tc, train, false, NanPolicy.STOP, null));
        assertEquals(52, eager.steps());
        assertEquals(before + 2 * 52, gpu.cublasLtFusedDerivatives(), "two fused ReLU derivatives per eager step");
        GraphTrainingParityTest.Outcome graph = withLt(true,
                () -> GraphTrainingParityTest.train(mc, tc, train, true, NanPolicy.STOP, null));
        assertTrue(gpu.cublasLtFusedDerivatives() > before + 2 * 52, "the replayed steps captured fused GEMMs too");
        GraphTrainingParityTest.assertSame(eager, graph, "cuBLASLt, fused ReLU derivatives");
        if (emulated) {
            GraphTrainingParityTest.Outcome hand = withLt(false,
                    () -> GraphTrainingParityTest.train(mc, tc, train, false, NanPolicy.STOP, null));
            GraphTrainingParityTest.assertSame(hand, eager, "hand-written vs cuBLASLt on the emulator");
        }
    }

    /**
     * M2 on cuBLASLt (its classifier an {@code Mlp} with a ReLU layer, called on the unlabelled and the
     * labelled rows in turn with one workspace): eager and replayed runs end on the same bits, the
     * classifier's ReLU derivative was fused, and on the emulator both equal the hand-written path.
     */
    @Test
    void m2OnCublasLtIsTheEagerLoopsAndTheHandWrittenPathsBits() {
        Dataset train = GraphTrainingParityTest.data(GraphM2ParityTest.N, 23, -1, GraphM2ParityTest.CLASSES);
        Dataset test = GraphTrainingParityTest.data(40, 24, -1, GraphM2ParityTest.CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(8).seed(GraphTrainingParityTest.SEED + 1).labelled(20)
                .binarization(Binarization.FIXED).build();
        long before = gpu.cublasLtFusedDerivatives();
        GraphM2ParityTest.Outcome eager = withLt(true,
                () -> GraphM2ParityTest.train(GraphM2ParityTest.m2(), tc, train, test, false, NanPolicy.STOP, null));
        assertTrue(gpu.cublasLtFusedDerivatives() >= before + 2 * eager.steps(),
                "the classifier's ReLU derivative fused on both of a step's calls");
        GraphM2ParityTest.Outcome graph = withLt(true,
                () -> GraphM2ParityTest.train(GraphM2ParityTest.m2(), tc, train, test, true, NanPolicy.STOP, null));
        GraphM2ParityTest.assertSame(eager, graph, "M2 on cuBLASLt");
        if (emulated) {
            GraphM2ParityTest.Outcome hand = withLt(false,
                    () -> GraphM2ParityTest.train(GraphM2ParityTest.m2(), tc, train, test, false, NanPolicy.STOP, null));
            GraphM2ParityTest.assertSame(hand, eager, "M2, hand-written vs cuBLASLt on the emulator");
        }
    }
}
