package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * CpuConv's im2col and col2im against the plain definitions kept here as oracles, bit for bit in
 * F32 and F64: im2col as one element at a time with a padding test, col2im as kernels/conv.cu's
 * gather (each pixel sums, in double from 0, the windows that read it, kernel row outer and kernel
 * column inner, both increasing, rounded once). The values ({@link #wide}) make the sums depend on
 * the order of the additions, so any other order changes bits.
 */
class ConvOracleTest {
    /**
     * The MNIST conv VAE's layers, plus odd sizes: stride above and below the kernel, padding 0 to
     * 3, and 4-wide kernels (CpuConv's padded-plane path) on non-square images, with windows of mostly
     * padding and an image exactly one kernel wide.
     */
    private static final List<ConvGeometry> GEOMETRIES = List.of(
            new ConvGeometry(1, 28, 28, 4, 4, 2, 1),
            new ConvGeometry(32, 14, 14, 4, 4, 2, 1),
            new ConvGeometry(3, 7, 5, 3, 2, 2, 1),
            new ConvGeometry(2, 5, 9, 2, 3, 1, 0),
            new ConvGeometry(1, 8, 5, 2, 2, 3, 1),
            new ConvGeometry(2, 9, 7, 4, 4, 2, 1),
            new ConvGeometry(2, 6, 7, 5, 3, 1, 2),
            new ConvGeometry(1, 3, 3, 3, 3, 1, 1),
            new ConvGeometry(2, 3, 6, 5, 4, 1, 3),
            new ConvGeometry(3, 11, 10, 4, 4, 3, 2),
            new ConvGeometry(2, 6, 4, 2, 4, 1, 0));

    /**
     * Values exact in F32 whose double sums depend on the order of the additions: a mix of
     * +-2^60 (which swallow anything small when added first and cancel each other), small
     * values, and normals scaled by 2^-20 to 2^20.
     */
    private static double[] wide(long seed, int n) {
        double[] v = Rand.normal(seed, n, 1);
        double[] pick = Rand.normal(seed + 1, n, 1);
        double[] big = {0x1p60, -0x1p60, 1.5, -0.75, 0x1p-30};
        for (int k = 0; k < v.length; k++) {
            int i = (int) (Math.abs(pick[k]) * 1000) % 8;
            v[k] = i < big.length ? big[i] : (float) Math.scalb(v[k], (int) Math.round(Math.max(-20, Math.min(20, 10 * pick[k]))));
        }
        return v;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int k = 0; k < v.length; k++) f[k] = (float) v[k];
        return f;
    }

    /** im2col element by element: cols[(b, oh, ow), (c, i, j)] = x[b, c, oh s - p + i, ow s - p + j] or 0. */
    static double[] im2colOracle(double[] x, ConvGeometry g, int batch) {
        int patch = g.patchSize();
        double[] cols = new double[batch * g.outPixels() * patch];
        for (int b = 0; b < batch; b++) {
            for (int oy = 0; oy < g.outHeight(); oy++) {
                for (int ox = 0; ox < g.outWidth(); ox++) {
                    int row = (b * g.outPixels() + oy * g.outWidth() + ox) * patch;
                    for (int c = 0; c < g.channels(); c++) {
                        for (int i = 0; i < g.kernelH(); i++) {
                            for (int j = 0; j < g.kernelW(); j++) {
                                int yy = oy * g.stride() - g.padding() + i, xx = ox * g.stride() - g.padding() + j;
                                boolean in = yy >= 0 && yy < g.height() && xx >= 0 && xx < g.width();
                                cols[row + (c * g.kernelH() + i) * g.kernelW() + j] =
                                        in ? x[b * g.inputSize() + (c * g.height() + yy) * g.width() + xx] : 0;
                            }
                        }
                    }
                }
            }
        }
        return cols;
    }

    /** col2im as kernels/conv.cu's gather: per pixel, kernel rows then columns increasing, summed in double. */
    static double[] col2imOracle(double[] cols, ConvGeometry g, int batch) {
        int patch = g.patchSize(), s = g.stride(), p = g.padding();
        double[] dx = new double[batch * g.inputSize()];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < g.channels(); c++) {
                for (int yy = 0; yy < g.height(); yy++) {
                    for (int xx = 0; xx < g.width(); xx++) {
                        double sum = 0;
                        for (int i = 0; i < g.kernelH(); i++) {
                            int ty = yy + p - i;
                            if (ty < 0 || ty % s != 0 || ty / s >= g.outHeight()) continue;
                            for (int j = 0; j < g.kernelW(); j++) {
                                int tx = xx + p - j;
                                if (tx < 0 || tx % s != 0 || tx / s >= g.outWidth()) continue;
                                int pix = (ty / s) * g.outWidth() + tx / s;
                                sum += cols[(b * g.outPixels() + pix) * patch + (c * g.kernelH() + i) * g.kernelW() + j];
                            }
                        }
                        dx[b * g.inputSize() + (c * g.height() + yy) * g.width() + xx] = sum;
                    }
                }
            }
        }
        return dx;
    }

    private static long[] bits(double[] v) {
        long[] b = new long[v.length];
        for (int k = 0; k < v.length; k++) b[k] = Double.doubleToRawLongBits(v[k]);
        return b;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int k = 0; k < v.length; k++) b[k] = Float.floatToRawIntBits(v[k]);
        return b;
    }

    @Test
    void im2colMatchesTheOracleBitForBit() {
        int batch = 3;
        for (ConvGeometry g : GEOMETRIES) {
            double[] x = wide(1, batch * g.inputSize());
            double[] want = im2colOracle(x, g, batch);
            Shape colsShape = Shape.of(batch * g.outPixels(), g.patchSize()), xShape = Shape.of(batch, g.inputSize());
            CpuTensor cols64 = CpuTensor.of(new double[want.length], colsShape);
            java.util.Arrays.fill(cols64.d, Double.NaN);
            CpuConv.im2col(CpuTensor.of(x, xShape), g, cols64);
            assertArrayEquals(bits(want), bits(cols64.d), "F64 " + g);
            CpuTensor cols32 = CpuTensor.of(new float[want.length], colsShape);
            java.util.Arrays.fill(cols32.f, Float.NaN);
            CpuConv.im2col(CpuTensor.of(toFloat(x), xShape), g, cols32);
            assertArrayEquals(bits(toFloat(want)), bits(cols32.f), "F32 " + g);
        }
    }

    @Test
    void col2imMatchesTheGatherBitForBit() {
        int batch = 3;
        for (ConvGeometry g : GEOMETRIES) {
            double[] cols = wide(5, batch * g.outPixels() * g.patchSize());
            float[] cols32 = toFloat(cols);
            double[] colsOf32 = new double[cols32.length];
            for (int k = 0; k < cols32.length; k++) colsOf32[k] = cols32[k];
            Shape colsShape = Shape.of(batch * g.outPixels(), g.patchSize()), dxShape = Shape.of(batch, g.inputSize());
            CpuTensor dx64 = CpuTensor.of(new double[batch * g.inputSize()], dxShape);
            java.util.Arrays.fill(dx64.d, Double.NaN);
            CpuConv.col2im(CpuTensor.of(cols, colsShape), g, dx64);
            assertArrayEquals(bits(col2imOracle(cols, g, batch)), bits(dx64.d), "F64 " + g);
            CpuTensor dx32 = CpuTensor.of(new float[batch * g.inputSize()], dxShape);
            java.util.Arrays.fill(dx32.f, Float.NaN);
            CpuConv.col2im(CpuTensor.of(cols32, colsShape), g, dx32);
            assertArrayEquals(bits(toFloat(col2imOracle(colsOf32, g, batch))), bits(dx32.f), "F32 " + g);
        }
    }

    /**
     * channelBiasActivationBackward against its definition: dy scaled by act'(y) element by element,
     * and each channel's bias gradient the double sum over images then pixels, from 0, rounded
     * once. Channel counts around CpuConv's groups of four, values whose sums depend on the order.
     */
    @Test
    void channelBiasBackwardSumsInTheDocumentedOrderBitForBit() {
        int batch = 3, pixels = 7;
        for (int channels : new int[]{1, 3, 4, 5, 9}) {
            for (Activation act : new Activation[]{Activation.IDENTITY, Activation.RELU, Activation.TANH}) {
                int n = batch * channels * pixels;
                double[] y = Rand.normal(channels, n, 1), dy = wide(channels + 10, n);
                if (act == Activation.TANH) for (int k = 0; k < n; k++) y[k] = Math.tanh(y[k]);
                float[] y32 = toFloat(y), dy32 = toFloat(dy);
                double[] want64 = new double[n];
                float[] want32 = new float[n];
                for (int k = 0; k < n; k++) {
                    want64[k] = dy[k] * act.derivativeFromOutput(y[k]);
                    want32[k] = act == Activation.RELU ? dy32[k] * (y32[k] > 0f ? 1f : 0f)
                            : dy32[k] * (float) act.derivativeFromOutput(y32[k]);
                }
                double[] bias64 = new double[channels];
                float[] bias32 = new float[channels];
                for (int c = 0; c < channels; c++) {
                    double s64 = 0, s32 = 0;
                    for (int b = 0; b < batch; b++) {
                        for (int px = 0; px < pixels; px++) {
                            s64 += want64[(b * channels + c) * pixels + px];
                            s32 += want32[(b * channels + c) * pixels + px];
                        }
                    }
                    bias64[c] = s64;
                    bias32[c] = (float) s32;
                }
                Shape shape = Shape.of(batch, channels * pixels), bias = Shape.of(channels);
                CpuTensor dy64 = CpuTensor.of(dy.clone(), shape), db64 = CpuTensor.of(new double[channels], bias);
                CpuConv.channelBiasActivationBackward(CpuTensor.of(y, shape), dy64, channels, act, db64);
                assertArrayEquals(bits(want64), bits(dy64.d), "F64 dy " + act + " " + channels);
                assertArrayEquals(bits(bias64), bits(db64.d), "F64 dBias " + act + " " + channels);
                CpuTensor dy32t = CpuTensor.of(dy32.clone(), shape), db32 = CpuTensor.of(new float[channels], bias);
                CpuConv.channelBiasActivationBackward(CpuTensor.of(y32, shape), dy32t, channels, act, db32);
                assertArrayEquals(bits(want32), bits(dy32t.f), "F32 dy " + act + " " + channels);
                assertArrayEquals(bits(bias32), bits(db32.f), "F32 dBias " + act + " " + channels);
                CpuTensor dyOnly = CpuTensor.of(dy32.clone(), shape);
                CpuConv.channelBiasActivationBackward(CpuTensor.of(y32, shape), dyOnly, channels, act, null);
                assertArrayEquals(bits(want32), bits(dyOnly.f), "F32 dy without dBias " + act + " " + channels);
            }
        }
    }
}
