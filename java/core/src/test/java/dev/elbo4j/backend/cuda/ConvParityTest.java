package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.backend.cpu.CpuBackend;
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
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.assertUlps;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code kernels/conv.cu} against its CPU reference {@code CpuConv}, outputs poisoned with NaN.
 * im2col, col2im and the permutations give the CPU's bits (copies, and col2im the same double sum in
 * the same order); the channel bias + activation the bits of the dense layer's epilogue for the
 * identity and ReLU and its ulp tolerances for tanh (4) and sigmoid (8) (kernels/README.md); the
 * derivative in the backward the CPU's bits, signed zeros included; the bias gradient the bits of a
 * Java model of the kernel's fixed summation order (so the same bits in both emulated schedules,
 * {@code ELBO4J_EMU_REVERSE=1}) and, against the CPU's double sum in another order, within one ulp
 * plus n 2^-52 of the sum of magnitudes. Odd sizes: 1 and 3 channels, odd heights and widths,
 * non-square kernels, strides 1 to 3, padding 0 and 1, batches of several blocks and grid-stride
 * rounds, and bias-gradient batches of one chunk and of several.
 */
class ConvParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    /** (geometry, batch): the im2col rows of the last ones span several blocks and grid-stride rounds. */
    static Stream<Arguments> geometries() {
        return Stream.of(
                Arguments.of(new ConvGeometry(1, 7, 5, 3, 2, 1, 0), 3),
                Arguments.of(new ConvGeometry(3, 9, 11, 3, 3, 2, 1), 5),
                Arguments.of(new ConvGeometry(3, 5, 7, 2, 3, 3, 1), 7),
                Arguments.of(new ConvGeometry(1, 8, 5, 2, 2, 3, 1), 2),
                Arguments.of(new ConvGeometry(3, 13, 9, 5, 1, 2, 0), 3),
                Arguments.of(new ConvGeometry(1, 1, 1, 1, 1, 1, 0), 9),
                Arguments.of(new ConvGeometry(3, 3, 3, 3, 3, 1, 1), 4),
                Arguments.of(new ConvGeometry(1, 28, 28, 4, 4, 2, 1), 37),
                Arguments.of(new ConvGeometry(3, 15, 13, 4, 3, 2, 1), 19));
    }

    private static float[] down(Tensor t) {
        return t.dtype() == DType.F32 && t instanceof DeviceTensor ? gpu.downloadFloats(t) : floats(cpu.download(t));
    }

    /** The same bits, element by element, +0 and -0 told apart (Parity.assertBits treats them as one value). */
    static void assertRawBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": lengths");
        int over = 0, at = -1;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])
                    && !(Float.isNaN(expected[i]) && Float.isNaN(actual[i]))) {
                if (over++ == 0) at = i;
            }
        }
        if (over > 0) {
            fail(String.format(Locale.ROOT, "%s: %d of %d elements differ in their bits; first at %d: cpu %s, gpu %s", what, over,
                    expected.length, at, expected[at], actual[at]));
        }
    }

    @ParameterizedTest
    @MethodSource("geometries")
    void im2colGivesTheCpusBits(ConvGeometry g, int batch) {
        float[] x = floats(Rand.normal(100 + batch, batch * g.inputSize(), 1));
        int rows = batch * g.outPixels();
        Tensor ccols = cpu.alloc(DType.F32, Shape.of(rows, g.patchSize()));
        cpu.im2col(cpu.upload(x, Shape.of(batch, g.inputSize())), g, ccols);
        try (Tensor gx = gpu.upload(x, Shape.of(batch, g.inputSize())); Tensor gcols = poisoned(gpu, DType.F32, rows, g.patchSize())) {
            gpu.im2col(gx, g, gcols);
            assertRawBits("im2col " + g + " batch " + batch, down(ccols), down(gcols));
        }
    }

    @ParameterizedTest
    @MethodSource("geometries")
    void col2imGivesTheCpusBits(ConvGeometry g, int batch) {
        int rows = batch * g.outPixels();
        float[] cols = floats(Rand.normal(200 + batch, rows * g.patchSize(), 1));
        Tensor cdx = cpu.alloc(DType.F32, Shape.of(batch, g.inputSize()));
        cpu.col2im(cpu.upload(cols, Shape.of(rows, g.patchSize())), g, cdx);
        try (Tensor gcols = gpu.upload(cols, Shape.of(rows, g.patchSize())); Tensor gdx = poisoned(gpu, DType.F32, batch, g.inputSize())) {
            gpu.col2im(gcols, g, gdx);
            assertRawBits("col2im " + g + " batch " + batch, down(cdx), down(gdx));
        }
    }

    /** (batch, pixels, channels): single and partial 32 x 32 tiles on both sides, one channel, one pixel. */
    static Stream<Arguments> permutations() {
        return Stream.of(Arguments.of(3, 49, 3), Arguments.of(5, 1, 1), Arguments.of(2, 35, 1), Arguments.of(4, 70, 33),
                Arguments.of(37, 196, 3), Arguments.of(1, 31, 65), Arguments.of(9, 64, 32));
    }

    @ParameterizedTest
    @MethodSource("permutations")
    void permutationsGiveTheCpusBits(int batch, int pixels, int channels) {
        float[] rows = floats(Rand.normal(300 + pixels, batch * pixels * channels, 1));
        Tensor cimages = cpu.alloc(DType.F32, Shape.of(batch, channels * pixels));
        cpu.toChannelsFirst(cpu.upload(rows, Shape.of(batch * pixels, channels)), pixels, cimages);
        float[] images = down(cimages);
        Tensor crows = cpu.alloc(DType.F32, Shape.of(batch * pixels, channels));
        cpu.toChannelsLast(cpu.upload(images, Shape.of(batch, channels * pixels)), pixels, crows);
        String at = batch + " x " + pixels + " pixels x " + channels + " channels";
        try (Tensor grows = gpu.upload(rows, Shape.of(batch * pixels, channels));
             Tensor gimages = poisoned(gpu, DType.F32, batch, channels * pixels);
             Tensor back = poisoned(gpu, DType.F32, batch * pixels, channels)) {
            gpu.toChannelsFirst(grows, pixels, gimages);
            assertRawBits("toChannelsFirst " + at, images, down(gimages));
            gpu.toChannelsLast(gimages, pixels, back);
            assertRawBits("toChannelsLast " + at, down(crows), down(back));
            assertRawBits("toChannelsLast inverts toChannelsFirst " + at, rows, down(back));
        }
    }

    /** (act, batch, channels, pixels): P % 4 == 0 (float4 path) and not; bias gradients of one chunk, several, and the most. */
    static Stream<Arguments> channelCases() {
        List<Arguments> a = new ArrayList<>();
        for (Activation act : Activation.values()) {
            a.add(Arguments.of(act, 5, 3, 35));
            a.add(Arguments.of(act, 129, 3, 196));
            a.add(Arguments.of(act, 7, 1, 49));
        }
        a.add(Arguments.of(Activation.RELU, 300, 1, 4));     // 64 images per step of a thread, one chunk
        a.add(Arguments.of(Activation.SIGMOID, 700, 2, 100)); // 18 chunks: the second pass's lanes wrap
        a.add(Arguments.of(Activation.IDENTITY, 9, 3, 2049)); // planes wider than a block, 5 chunks
        a.add(Arguments.of(Activation.RELU, 1100, 1, 1000));  // 1.1M elements: the chunks grow to keep 256
        return a.stream();
    }

    private static long maxUlps(Activation act) {
        return switch (act) {
            case IDENTITY, RELU -> 0;
            case TANH -> 4;
            case SIGMOID -> 8;
        };
    }

    @ParameterizedTest
    @MethodSource("channelCases")
    void channelBiasActivationMatchesTheCpu(Activation act, int batch, int channels, int pixels) {
        int cols = channels * pixels;
        float[] y = floats(Rand.normal(400 + pixels, batch * cols, 2)), bias = floats(Rand.normal(401, channels, 1));
        Tensor cy = cpu.upload(y, Shape.of(batch, cols)), cn = cpu.upload(y, Shape.of(batch, cols));
        cpu.channelBiasActivation(cy, cpu.upload(bias, Shape.of(channels)), channels, act);
        cpu.channelBiasActivation(cn, null, channels, act);
        String at = act + " " + batch + " x " + channels + " x " + pixels;
        // The second copy starts one element into its allocation: not 16-byte aligned, the scalar path.
        try (Tensor gy = gpu.upload(y, Shape.of(batch, cols)); Tensor gb = gpu.upload(bias, Shape.of(channels));
             Tensor whole = gpu.alloc(DType.F32, Shape.of(batch * cols + 1))) {
            Tensor gn = whole.view(1, Shape.of(batch, cols));
            gpu.write(gn, y);
            gpu.channelBiasActivation(gy, gb, channels, act);
            gpu.channelBiasActivation(gn, null, channels, act);
            long ulps = maxUlps(act);
            if (ulps == 0) {
                assertRawBits("with bias " + at, down(cy), down(gy));
                assertRawBits("without bias, unaligned " + at, down(cn), down(gn));
            } else {
                assertUlps("with bias " + at, down(cy), down(gy), ulps);
                assertUlps("without bias, unaligned " + at, down(cn), down(gn), ulps);
            }
        }
    }

    /** The 256-thread block_sum of common.cuh: a butterfly per warp, then warp 0 over the 8 warp sums. */
    static double blockSum(double[] lanes) {
        double[] warps = new double[lanes.length / 32 + 1];
        for (int w = 0; w < lanes.length / 32; w++) warps[w] = warpSum(java.util.Arrays.copyOfRange(lanes, 32 * w, 32 * w + 32));
        double[] first = new double[32];
        System.arraycopy(warps, 0, first, 0, lanes.length / 32);
        return warpSum(first);
    }

    private static double warpSum(double[] v) {
        for (int off = 16; off > 0; off >>= 1) {
            double[] n = new double[32];
            for (int l = 0; l < 32; l++) n[l] = v[l] + v[l ^ off];
            v = n;
        }
        return v[0];
    }

    /**
     * The kernel's order: each channel's B x P elements (image outer, pixel inner) cut into chunks of
     * CudaConv.chunkElements; per (chunk, channel), thread t of 256 adds elements t, t + 256, ... of
     * the chunk; block_sum; then the chunks by the second pass of columns.cuh (lane y adds chunks y,
     * y + 8, ..., then the 8 lanes in order).
     */
    static float[] modelChannelSums(float[] g, int batch, int channels, int pixels) {
        int per = CudaConv.chunkElements(batch, pixels), chunks = CudaConv.channelChunks(batch, pixels), total = batch * pixels;
        double[] partial = new double[chunks * channels];
        for (int k = 0; k < chunks; k++) {
            int e0 = k * per, e1 = Math.min(total, e0 + per);
            for (int c = 0; c < channels; c++) {
                double[] lanes = new double[Kernels.BLOCK_ELEMENTWISE];
                for (int t = 0; t < lanes.length; t++) {
                    double s = 0;
                    for (int e = e0 + t; e < e1; e += lanes.length) s += g[((e / pixels) * channels + c) * pixels + e % pixels];
                    lanes[t] = s;
                }
                partial[k * channels + c] = blockSum(lanes);
            }
        }
        return ColumnSumParityTest.modelSecondPass(partial, chunks, channels);
    }

    @ParameterizedTest
    @MethodSource("channelCases")
    void channelBiasActivationBackwardMatchesTheCpu(Activation act, int batch, int channels, int pixels) {
        int cols = channels * pixels, n = batch * pixels;
        float[] pre = floats(Rand.normal(500 + pixels, batch * cols, 2)), dy = floats(Rand.normal(501 + batch, batch * cols, 1));
        Tensor cy = cpu.upload(pre, Shape.of(batch, cols));
        cpu.channelBiasActivation(cy, null, channels, act);
        float[] y = down(cy);
        Tensor cdy = cpu.upload(dy, Shape.of(batch, cols)), cdb = cpu.alloc(DType.F32, Shape.of(channels));
        cpu.channelBiasActivationBackward(cy, cdy, channels, act, cdb);
        float[] g = down(cdy), cpuBias = down(cdb);
        String at = act + " " + batch + " x " + channels + " x " + pixels + " (" + CudaConv.channelChunks(batch, pixels) + " chunks)";
        try (Tensor gy = gpu.upload(y, Shape.of(batch, cols)); Tensor gdy = gpu.upload(dy, Shape.of(batch, cols));
             Tensor gdb = poisoned(gpu, DType.F32, channels); Tensor gdy2 = gpu.upload(dy, Shape.of(batch, cols))) {
            gpu.channelBiasActivationBackward(gy, gdy, channels, act, gdb);
            assertRawBits("dy " + at, g, down(gdy));
            float[] got = down(gdb);
            assertRawBits("dBias against the model of the kernel's order " + at, modelChannelSums(g, batch, channels, pixels), got);
            double[] tol = new double[channels], want = new double[channels], have = new double[channels];
            for (int c = 0; c < channels; c++) {
                double mag = 0;
                for (int b = 0; b < batch; b++) {
                    for (int p = 0; p < pixels; p++) mag += Math.abs(g[(b * channels + c) * pixels + p]);
                }
                want[c] = cpuBias[c];
                have[c] = got[c];
                tol[c] = Math.ulp(Math.abs(cpuBias[c])) + n * 0x1p-52 * mag;
            }
            assertWithin("dBias against the CPU " + at, want, have, tol);
            gpu.channelBiasActivationBackward(gy, gdy2, channels, act, null);
            assertRawBits("dy without dBias " + at, g, down(gdy2));
        }
    }

    /**
     * The bias gradient's bits follow the documented order, not just any order: a double sum of
     * floats of one scale is usually exact whatever the order, so here each channel also holds pairs
     * +2^60, -2^60 that cancel, 512 elements apart within a chunk (so one thread meets both, two of
     * its steps apart). The small terms a running sum takes while it holds 2^60 are absorbed (an ulp
     * of 2^60 is 256), those before or after are kept, so another order gives a result O(1) away.
     * (Checked: the kernel adding each thread's batch of four loads in reverse fails this.)
     */
    @ParameterizedTest
    @MethodSource("orderCases")
    void biasGradientHasTheDocumentedOrdersBits(int batch, int channels, int pixels) {
        int cols = channels * pixels, n = batch * pixels, per = CudaConv.chunkElements(batch, pixels);
        float[] dy = floats(Rand.normal(600 + pixels, batch * cols, 1));
        for (int c = 0; c < channels; c++) {
            for (int start = 0; start < n; start += per) {
                int end = Math.min(n, start + per);
                for (int e = start; e + 512 < end; e += (e - start) % 256 < 250 ? 7 : 1024 - 250) {
                    dy[(e / pixels * channels + c) * pixels + e % pixels] = 0x1p60f;
                    dy[((e + 512) / pixels * channels + c) * pixels + (e + 512) % pixels] = -0x1p60f;
                }
            }
        }
        float[] model = modelChannelSums(dy, batch, channels, pixels);
        try (Tensor gy = gpu.alloc(DType.F32, Shape.of(batch, cols)); Tensor gdy = gpu.upload(dy, Shape.of(batch, cols));
             Tensor gdb = poisoned(gpu, DType.F32, channels)) {
            gpu.channelBiasActivationBackward(gy, gdy, channels, Activation.IDENTITY, gdb);
            assertRawBits("dBias with cancelling 2^60 pairs, " + batch + " x " + channels + " x " + pixels + " ("
                    + CudaConv.channelChunks(batch, pixels) + " chunks)", model, down(gdb));
            assertRawBits("dy (identity: unchanged)", dy, down(gdy));
        }
    }

    static Stream<Arguments> orderCases() {
        return Stream.of(Arguments.of(5, 3, 35), Arguments.of(129, 3, 196), Arguments.of(700, 2, 100),
                Arguments.of(9, 3, 2049), Arguments.of(1100, 1, 1000));
    }

    @Test
    void badShapesDtypesAndOverlapsThrow() {
        ConvGeometry g = new ConvGeometry(3, 5, 7, 2, 3, 3, 1);
        try (Tensor x = gpu.alloc(DType.F32, Shape.of(2, g.inputSize()));
             Tensor big = gpu.alloc(DType.F32, Shape.of(1000));
             Tensor cols = gpu.alloc(DType.F32, Shape.of(2 * g.outPixels(), g.patchSize()));
             Tensor shortCols = gpu.alloc(DType.F32, Shape.of(2 * g.outPixels() - 1, g.patchSize()));
             Tensor f64 = gpu.alloc(DType.F64, Shape.of(2, g.inputSize()))) {
            assertThrows(IllegalArgumentException.class, () -> gpu.im2col(x, g, shortCols));
            assertThrows(IllegalArgumentException.class, () -> gpu.col2im(shortCols, g, x));
            assertThrows(UnsupportedOperationException.class, () -> gpu.im2col(f64, g, cols));
            assertThrows(IllegalArgumentException.class, () -> gpu.im2col(big.view(0, Shape.of(2, g.inputSize())), g,
                    big.view(100, Shape.of(2 * g.outPixels(), g.patchSize()))));
            assertThrows(IllegalArgumentException.class, () -> gpu.toChannelsFirst(x, 5, x));
            assertThrows(IllegalArgumentException.class, () -> gpu.toChannelsFirst(cols, 7, x));
            assertThrows(IllegalArgumentException.class, () -> gpu.channelBiasActivation(x, null, 4, Activation.RELU));
            assertThrows(IllegalArgumentException.class, () -> gpu.channelBiasActivationBackward(x, x, 3, Activation.RELU, null));
            Tensor y = big.view(0, Shape.of(2, 105)), dy = big.view(210, Shape.of(2, 105));
            assertThrows(IllegalArgumentException.class, () -> gpu.channelBiasActivationBackward(y, dy, 3, Activation.RELU,
                    big.view(100, Shape.of(3))));  // dBias inside y
            assertThrows(IllegalArgumentException.class, () -> gpu.channelBiasActivationBackward(y, dy, 3, Activation.RELU,
                    big.view(300, Shape.of(3))));  // dBias inside dy
            gpu.channelBiasActivationBackward(y, dy, 3, Activation.RELU, big.view(500, Shape.of(3)));  // apart: accepted
        }
    }
}
