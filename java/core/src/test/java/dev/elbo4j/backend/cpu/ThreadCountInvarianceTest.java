package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.tensor.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CPU backend's own reductions give the same bits on any number of threads: the bias
 * gradient's column sums are cut into blocks of {@link CpuLinear#BLOCK} rows whatever the split,
 * so a run computes the same numbers with --threads 1 and 8 (with the pure-Java GEMM; OpenBLAS's
 * products depend on how they are cut, docs/RELIABILITY.md "Resume is exact"). Each split is also
 * checked against the sums written out serially: float within a block, the blocks in double.
 */
class ThreadCountInvarianceTest {

    @ParameterizedTest
    @CsvSource({"1,1", "3,1", "31,5", "33,7", "100,3", "1025,33", "8193,1", "513,400"})
    void theBiasGradientIsTheSameOnAnyNumberOfThreads(int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        float[] y = new float[rows * cols], dy = new float[rows * cols];
        for (int i = 0; i < y.length; i++) {
            y[i] = rnd.nextFloat() * 2 - 1; // tanh outputs
            dy[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3)); // magnitudes that round differently in other orders
        }
        float[] want = serial(y, dy, rows, cols);
        float[] wantDy = dy.clone();
        for (int i = 0; i < wantDy.length; i++) wantDy[i] *= (float) Activation.TANH.derivativeFromOutput(y[i]);
        for (int parts : new int[]{1, 2, 3, 4, 7, 16, 1000}) {
            float[] g = dy.clone(), db = new float[cols];
            CpuLinear.biasActivationBackward(CpuTensor.of(y.clone(), Shape.of(rows, cols)), CpuTensor.of(g, Shape.of(rows, cols)),
                    Activation.TANH, CpuTensor.of(db, Shape.of(cols)), parts);
            assertArrayEquals(wantDy, g, "dy, " + parts + " parts");
            for (int c = 0; c < cols; c++) {
                assertEquals(Float.floatToRawIntBits(want[c]), Float.floatToRawIntBits(db[c]),
                        "column " + c + " of " + rows + " x " + cols + " in " + parts + " parts: " + db[c] + " != " + want[c]);
            }
        }
    }

    /**
     * The pure-Java GEMM sums each element of C over k in one order wherever its slice of C falls,
     * so 1, 2, 3 and 8 threads give the same bits; sizes that split C by rows, by columns (few
     * rows), and leave ragged slices.
     */
    @ParameterizedTest
    @CsvSource({"512,400,784,false,true", "64,784,400,false,false", "400,784,512,true,false", "1025,33,257,true,true"})
    void thePureJavaGemmIsTheSameOnAnyNumberOfThreads(int m, int n, int k, boolean ta, boolean tb) {
        Random rnd = new Random(m * 7L + n * 3L + k);
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
        float[] want = null;
        for (int threads : new int[]{1, 2, 3, 8}) {
            float[] c = new float[m * n];
            new JavaBlas(threads).sgemm(ta, tb, m, n, k, 0.5f, a, 0, ta ? m : k, b, 0, tb ? k : n, 0f, c, 0, n);
            if (want == null) want = c;
            else assertArrayEquals(want, c, threads + " threads");
        }
    }

    /** The column sums of dy * tanh'(y), in float over each block of BLOCK rows, the blocks added in double. */
    private static float[] serial(float[] y, float[] dy, int rows, int cols) {
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            double s = 0;
            for (int b = 0; b < rows; b += CpuLinear.BLOCK) {
                float block = 0f;
                for (int r = b; r < Math.min(rows, b + CpuLinear.BLOCK); r++) {
                    block += dy[r * cols + c] * (float) Activation.TANH.derivativeFromOutput(y[r * cols + c]);
                }
                s += block;
            }
            out[c] = (float) s;
        }
        return out;
    }
}
