package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The conv.cu group on the CPU reference, in F64 at odd sizes: im2col + GEMM against a direct
 * convolution, col2im + GEMM against a direct transposed convolution, the adjoint identities
 * &lt;im2col x, c&gt; = &lt;x, col2im c&gt; and the same for the permutations, the per-channel bias
 * and activation against the per-column op on permuted rows, and F32 against F64.
 */
class ConvOpsTest {
    private final CpuBackend be = new CpuBackend();

    /** Non-square kernels, strides above and below the kernel, padding 0 and 1, odd sizes. */
    private static final List<ConvGeometry> GEOMETRIES = List.of(
            new ConvGeometry(3, 7, 5, 3, 2, 2, 1),
            new ConvGeometry(2, 5, 9, 2, 3, 1, 0),
            new ConvGeometry(1, 8, 5, 2, 2, 3, 1),
            new ConvGeometry(2, 9, 7, 4, 4, 2, 1),
            new ConvGeometry(1, 3, 3, 3, 3, 1, 1));

    private Tensor up(double[] v, int rows, int cols) {
        return be.upload(v, Shape.of(rows, cols));
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) s += a[k] * b[k];
        return s;
    }

    /** x[b, c, y, x] or 0 in the padding. */
    private static double pixel(double[] x, ConvGeometry g, int b, int c, int yy, int xx) {
        if (yy < 0 || yy >= g.height() || xx < 0 || xx >= g.width()) return 0;
        return x[b * g.inputSize() + (c * g.height() + yy) * g.width() + xx];
    }

    @Test
    void im2colGemmMatchesADirectConvolution() {
        int batch = 3, oc = 4;
        for (ConvGeometry g : GEOMETRIES) {
            double[] x = Rand.normal(1, batch * g.inputSize(), 1);
            double[] w = Rand.normal(2, oc * g.patchSize(), 1);
            double[] bias = Rand.normal(3, oc, 1);
            int p = g.outPixels();
            Tensor cols = be.alloc(DType.F64, batch * p, g.patchSize());
            be.im2col(up(x, batch, g.inputSize()), g, cols);
            Tensor rows = be.alloc(DType.F64, batch * p, oc);
            be.gemm(false, true, 1, cols, up(w, oc, g.patchSize()), 0, rows);
            Tensor y = be.alloc(DType.F64, batch, oc * p);
            be.toChannelsFirst(rows, p, y);
            be.channelBiasActivation(y, be.upload(bias, Shape.of(oc)), oc, Activation.IDENTITY);
            double[] got = be.download(y);
            for (int b = 0; b < batch; b++) {
                for (int o = 0; o < oc; o++) {
                    for (int i = 0; i < g.outHeight(); i++) {
                        for (int j = 0; j < g.outWidth(); j++) {
                            double s = bias[o];
                            for (int c = 0; c < g.channels(); c++) {
                                for (int ki = 0; ki < g.kernelH(); ki++) {
                                    for (int kj = 0; kj < g.kernelW(); kj++) {
                                        s += w[((o * g.channels() + c) * g.kernelH() + ki) * g.kernelW() + kj]
                                                * pixel(x, g, b, c, i * g.stride() - g.padding() + ki, j * g.stride() - g.padding() + kj);
                                    }
                                }
                            }
                            assertEquals(s, got[b * oc * p + o * p + i * g.outWidth() + j], 1e-12, g + " at " + b + "," + o + "," + i + "," + j);
                        }
                    }
                }
            }
        }
    }

    @Test
    void col2imGemmMatchesADirectTransposedConvolution() {
        int batch = 2, in = 3;
        for (ConvGeometry g : GEOMETRIES) {
            int p = g.outPixels(), oh = g.outHeight(), ow = g.outWidth();
            double[] x = Rand.normal(4, batch * in * p, 1);          // B x in x OH x OW
            double[] w = Rand.normal(5, in * g.patchSize(), 1);       // in x C x KH x KW (ConvTranspose2d)
            Tensor rows = be.alloc(DType.F64, batch * p, in);
            be.toChannelsLast(up(x, batch, in * p), p, rows);
            Tensor cols = be.alloc(DType.F64, batch * p, g.patchSize());
            be.gemm(false, false, 1, rows, up(w, in, g.patchSize()), 0, cols);
            Tensor y = be.alloc(DType.F64, batch, g.inputSize());
            be.fill(y, Double.NaN);  // col2im overwrites every element
            be.col2im(cols, g, y);
            double[] want = new double[batch * g.inputSize()];
            for (int b = 0; b < batch; b++) {
                for (int ci = 0; ci < in; ci++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            double v = x[(b * in + ci) * p + i * ow + j];
                            for (int c = 0; c < g.channels(); c++) {
                                for (int ki = 0; ki < g.kernelH(); ki++) {
                                    for (int kj = 0; kj < g.kernelW(); kj++) {
                                        int yy = i * g.stride() - g.padding() + ki, xx = j * g.stride() - g.padding() + kj;
                                        if (yy < 0 || yy >= g.height() || xx < 0 || xx >= g.width()) continue;
                                        want[b * g.inputSize() + (c * g.height() + yy) * g.width() + xx] +=
                                                v * w[((ci * g.channels() + c) * g.kernelH() + ki) * g.kernelW() + kj];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assertArrayEquals(want, be.download(y), 1e-12, g.toString());
        }
    }

    @Test
    void col2imIsTheAdjointOfIm2col() {
        int batch = 2;
        for (ConvGeometry g : GEOMETRIES) {
            int r = batch * g.outPixels();
            double[] x = Rand.normal(6, batch * g.inputSize(), 1), c = Rand.normal(7, r * g.patchSize(), 1);
            Tensor cols = be.alloc(DType.F64, r, g.patchSize()), dx = be.alloc(DType.F64, batch, g.inputSize());
            be.im2col(up(x, batch, g.inputSize()), g, cols);
            be.col2im(up(c, r, g.patchSize()), g, dx);
            double lhs = dot(be.download(cols), c), rhs = dot(x, be.download(dx));
            assertEquals(lhs, rhs, 1e-10 * (1 + Math.abs(lhs)), g.toString());
        }
    }

    @Test
    void im2colZeroesThePaddingAndCopiesPixelsExactly() {
        ConvGeometry g = new ConvGeometry(1, 3, 3, 3, 3, 1, 1);
        double[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Tensor cols = be.alloc(DType.F64, 9, 9);
        be.fill(cols, Double.NaN);
        be.im2col(up(x, 1, 9), g, cols);
        double[] c = be.download(cols);
        // Output pixel (0, 0): the window centred on x[0, 0], its top row and left column padding.
        assertArrayEquals(new double[]{0, 0, 0, 0, 1, 2, 0, 4, 5}, java.util.Arrays.copyOfRange(c, 0, 9));
        // The centre window is the whole image.
        assertArrayEquals(x, java.util.Arrays.copyOfRange(c, 4 * 9, 5 * 9));
    }

    @Test
    void pixelsNoWindowReadsGetZeroGradient() {
        // Stride 3 with a 2x2 kernel skips every third row and column.
        ConvGeometry g = new ConvGeometry(1, 8, 5, 2, 2, 3, 1);
        int r = g.outPixels();
        Tensor dx = be.alloc(DType.F64, 1, g.inputSize());
        be.fill(dx, Double.NaN);
        double[] ones = new double[r * g.patchSize()];
        java.util.Arrays.fill(ones, 1);
        be.col2im(up(ones, r, g.patchSize()), g, dx);
        double[] d = be.download(dx);
        for (int yy = 0; yy < g.height(); yy++) {
            for (int xx = 0; xx < g.width(); xx++) {
                // Padded coordinate mod 3 is 0 or 1 when a window covers it (and the window is in range).
                boolean readY = (yy + 1) % 3 < 2 && (yy + 1) / 3 < g.outHeight();
                boolean readX = (xx + 1) % 3 < 2 && (xx + 1) / 3 < g.outWidth();
                assertEquals(readY && readX ? 1 : 0, d[yy * g.width() + xx], 0, "pixel " + yy + "," + xx);
            }
        }
    }

    @Test
    void permutationsAreInverseAndTransposeEachOther() {
        int batch = 3, ch = 5, p = 7;
        double[] a = Rand.normal(8, batch * p * ch, 1);
        Tensor rows = up(a, batch * p, ch), images = be.alloc(DType.F64, batch, ch * p), back = be.alloc(DType.F64, batch * p, ch);
        be.toChannelsFirst(rows, p, images);
        double[] im = be.download(images);
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < ch; c++) {
                for (int q = 0; q < p; q++) assertEquals(a[(b * p + q) * ch + c], im[b * ch * p + c * p + q], 0);
            }
        }
        be.toChannelsLast(images, p, back);
        assertArrayEquals(a, be.download(back), 0);
    }

    @Test
    void channelBiasActivationMatchesTheColumnOpOnChannelsLastRows() {
        int batch = 3, ch = 4, p = 6;
        for (Activation act : Activation.values()) {
            double[] v = Rand.normal(9, batch * ch * p, 1), bias = Rand.normal(10, ch, 1), g = Rand.normal(11, batch * ch * p, 1);
            Tensor y = up(v, batch, ch * p), b = be.upload(bias, Shape.of(ch));
            be.channelBiasActivation(y, b, ch, act);
            Tensor rows = be.alloc(DType.F64, batch * p, ch);
            be.toChannelsLast(up(v, batch, ch * p), p, rows);
            be.biasActivation(rows, b, act);
            Tensor want = be.alloc(DType.F64, batch, ch * p);
            be.toChannelsFirst(rows, p, want);
            assertArrayEquals(be.download(want), be.download(y), 0, act.toString());

            Tensor dy = up(g, batch, ch * p), dBias = be.alloc(DType.F64, ch);
            be.fill(dBias, Double.NaN);
            be.channelBiasActivationBackward(y, dy, ch, act, dBias);
            Tensor dRows = be.alloc(DType.F64, batch * p, ch), dBiasRows = be.alloc(DType.F64, ch);
            be.toChannelsLast(up(g, batch, ch * p), p, dRows);
            be.biasActivationBackward(rows, dRows, act, dBiasRows);
            Tensor dWant = be.alloc(DType.F64, batch, ch * p);
            be.toChannelsFirst(dRows, p, dWant);
            assertArrayEquals(be.download(dWant), be.download(dy), 0, act + " dy");
            assertArrayEquals(be.download(dBiasRows), be.download(dBias), 1e-12, act + " dBias");
        }
    }

    @Test
    void f32AgreesWithF64() {
        int batch = 2;
        for (ConvGeometry g : GEOMETRIES) {
            int r = batch * g.outPixels();
            double[] x = Rand.normal(12, batch * g.inputSize(), 1), c = Rand.normal(13, r * g.patchSize(), 1);
            float[] xf = Rand.toFloat(x), cf = Rand.toFloat(c);
            Tensor cols32 = be.alloc(DType.F32, r, g.patchSize()), cols64 = be.alloc(DType.F64, r, g.patchSize());
            be.im2col(be.upload(xf, Shape.of(batch, g.inputSize())), g, cols32);
            be.im2col(up(toDouble(xf), batch, g.inputSize()), g, cols64);
            assertArrayEquals(be.download(cols64), be.download(cols32), 0, "im2col is a copy");
            Tensor dx32 = be.alloc(DType.F32, batch, g.inputSize()), dx64 = be.alloc(DType.F64, batch, g.inputSize());
            be.col2im(be.upload(cf, Shape.of(r, g.patchSize())), g, dx32);
            be.col2im(up(toDouble(cf), r, g.patchSize()), g, dx64);
            double[] d32 = be.download(dx32), d64 = be.download(dx64);
            // Summed in double and rounded once: the F32 result is the F64 one rounded.
            for (int k = 0; k < d64.length; k++) assertEquals((float) d64[k], (float) d32[k], 0, g + " element " + k);
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int k = 0; k < f.length; k++) d[k] = f[k];
        return d;
    }

    @Test
    void geometryComputesPyTorchSizesAndRefusesBadShapes() {
        ConvGeometry g = ConvGeometry.of(1, 28, 28, 4, 2, 1);
        assertEquals(14, g.outHeight());
        assertEquals(7, ConvGeometry.of(32, 14, 14, 4, 2, 1).outWidth());
        assertEquals(5, ConvGeometry.of(1, 11, 11, 3, 2, 0).outHeight());
        // ConvTranspose2d(k=3, s=2, p=1, output_padding=1): 7 -> 14.
        ConvGeometry t = ConvGeometry.transposed(8, 7, 7, 3, 2, 1, 1);
        assertEquals(14, t.height());
        assertEquals(7, t.outHeight());
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(1, 2, 2, 5, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(0, 5, 5, 3, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(1, 5, 5, 3, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(1, 5, 5, 3, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.transposed(1, 5, 5, 3, 2, 1, 2));
        Tensor x = be.alloc(DType.F64, 2, 784), cols = be.alloc(DType.F64, 2 * 196, 15);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.im2col(x, g, cols));
        assertTrue(e.getMessage().contains("cols"), e.getMessage());
        Tensor cols32 = be.alloc(DType.F32, 2 * 196, 16);
        assertThrows(IllegalArgumentException.class, () -> be.im2col(x, g, cols32));
        assertThrows(IllegalArgumentException.class,
                () -> be.channelBiasActivation(be.alloc(DType.F64, 2, 10), null, 3, Activation.RELU));
    }
}
