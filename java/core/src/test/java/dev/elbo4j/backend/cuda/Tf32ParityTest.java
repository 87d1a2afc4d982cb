package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TF32 ({@link CudaBackend#setTf32}) on both dense paths (cuBLAS, and cuBLASLt's
 * {@code COMPUTE_32F_FAST_TF32}) and on both streams of a forked backward: each GEMM's result
 * within TF32's bound of the exact product, the hand-written bias gradient (no GEMM) unchanged, and
 * FP32's bits back once TF32 is switched off. On the emulated device, whose GEMM rounds its inputs
 * to TF32 when the mode reaches it (kernels/README.md, "Emulated device"), every GEMM must also
 * differ from its FP32 bits somewhere, so a setting that never reaches the library fails; a real
 * cuBLAS may pick an FP32 kernel for a shape, so there only the bound is asserted.
 *
 * <p>The bound, per element of a product of k terms: each input rounded to 10 explicit mantissa bits
 * is within 2^-10 of itself (truncation; 2^-11 to nearest), so a product is within
 * (2^-9 + 2^-20) |a||b|; the FP32 accumulation adds the GEMM bound of kernels/README.md
 * (1.25 k 2^-23 |a||b|) and the result's rounding 2^-24 |c|.
 */
class Tf32ParityTest {
    private static final int ROWS = 96, IN = 300, OUT = 70;
    private static CudaBackend gpu;
    private static boolean emulated;

    @BeforeAll
    static void backend() {
        gpu = GpuAvailable.backend();
        emulated = gpu.description().contains("emulator");
    }

    /** out[r][c] = sum_p a(r, p) b(c, p) over k terms: the exact value and its TF32 tolerance. */
    private static void check(String what, float[] got, float[] fp32, int rows, int cols, int k,
                              java.util.function.IntBinaryOperator aAt, float[] a, java.util.function.IntBinaryOperator bAt, float[] b) {
        int differ = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                double exact = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double) a[aAt.applyAsInt(r, p)] * b[bAt.applyAsInt(c, p)];
                    exact += t;
                    mag += Math.abs(t);
                }
                float g = got[r * cols + c];
                double tol = (Math.scalb(1.0, -9) + Math.scalb(1.0, -20) + 1.25 * k * Math.scalb(1.0, -23)) * mag
                        + Math.scalb(1.0, -24) * Math.abs(g);
                assertTrue(Math.abs(g - exact) <= tol, what + " [" + r + "][" + c + "] = " + g + ", exact " + exact + ", TF32 bound " + tol);
                if (Float.floatToRawIntBits(g) != Float.floatToRawIntBits(fp32[r * cols + c])) differ++;
            }
        }
        if (emulated) assertTrue(differ > 0, what + ": the TF32 result has FP32's bits everywhere: the mode did not reach the GEMM");
    }

    @ParameterizedTest(name = "cuBLASLt {0}")
    @ValueSource(booleans = {false, true})
    void everyGemmOfALayerIsTf32AndFp32ComesBack(boolean lt) {
        boolean wasLt = gpu.cublasLt();
        float[] hx = Rand.toFloat(Rand.normal(11, ROWS * IN, 1)), hw = Rand.toFloat(Rand.normal(12, OUT * IN, 0.3));
        float[] hb = Rand.toFloat(Rand.normal(13, OUT, 0.1)), hg = Rand.toFloat(Rand.normal(14, ROWS * OUT, 1));
        try (Tensor x = gpu.alloc(DType.F32, Shape.of(ROWS, IN)); Tensor w = gpu.alloc(DType.F32, Shape.of(OUT, IN));
             Tensor b = gpu.alloc(DType.F32, Shape.of(OUT)); Tensor y = gpu.alloc(DType.F32, Shape.of(ROWS, OUT));
             Tensor dy = gpu.alloc(DType.F32, Shape.of(ROWS, OUT)); Tensor dW = gpu.alloc(DType.F32, Shape.of(OUT, IN));
             Tensor dB = gpu.alloc(DType.F32, Shape.of(OUT)); Tensor dx = gpu.alloc(DType.F32, Shape.of(ROWS, IN))) {
            gpu.setCublasLt(lt);
            gpu.write(x, hx);
            gpu.write(w, hw);
            gpu.write(b, hb);
            Tensor[] outs = {y, dW, dB, dx};
            Runnable layer = () -> {
                gpu.linearForward(x, w, b, Activation.IDENTITY, y);
                gpu.write(dy, hg);
                gpu.linearBackward(x, w, y, dy, Activation.IDENTITY, dW, dB, dx);
            };
            float[][] fp32 = run(layer, outs);
            gpu.setTf32(true);
            float[][] tf32;
            try {
                tf32 = run(layer, outs);
            } finally {
                gpu.setTf32(false);
            }
            String at = lt ? "cuBLASLt" : "cuBLAS";
            // y - bias = x w^T (k = IN); dW = dy^T x (k = ROWS); dx = dy w (k = OUT).
            float[] yNoBias = new float[ROWS * OUT];
            for (int i = 0; i < yNoBias.length; i++) yNoBias[i] = (float) ((double) tf32[0][i] - hb[i % OUT]);
            float[] fp32NoBias = new float[ROWS * OUT];
            for (int i = 0; i < fp32NoBias.length; i++) fp32NoBias[i] = (float) ((double) fp32[0][i] - hb[i % OUT]);
            check(at + " forward", yNoBias, fp32NoBias, ROWS, OUT, IN, (r, p) -> r * IN + p, hx, (c, p) -> c * IN + p, hw);
            check(at + " dW", tf32[1], fp32[1], OUT, IN, ROWS, (r, p) -> p * OUT + r, hg, (c, p) -> p * IN + c, hx);
            check(at + " dx", tf32[3], fp32[3], ROWS, IN, OUT, (r, p) -> r * OUT + p, hg, (c, p) -> p * IN + c, hw);
            if (!lt) assertBits("cuBLAS path: the bias gradient is a column sum, not a GEMM: TF32 leaves its bits", fp32[2], tf32[2]);
            float[][] back = run(layer, outs);
            String[] names = {"y", "dW", "dBias", "dx"};
            for (int i = 0; i < outs.length; i++) assertBits(at + " " + names[i] + " after TF32 is switched off", fp32[i], back[i]);
        } finally {
            gpu.setCublasLt(wasLt);
        }
    }

    /** A forked backward replayed with TF32 on gives the eager call's bits: the side stream's handle is TF32 too. */
    @ParameterizedTest(name = "cuBLASLt {0}")
    @ValueSource(booleans = {false, true})
    void theSideStreamOfAForkedBackwardIsTf32Too(boolean lt) throws Exception {
        boolean wasLt = gpu.cublasLt();
        float[] hx = Rand.toFloat(Rand.normal(21, ROWS * IN, 1)), hw = Rand.toFloat(Rand.normal(22, OUT * IN, 0.3));
        float[] hy = Rand.toFloat(Rand.normal(23, ROWS * OUT, 1)), hg = Rand.toFloat(Rand.normal(24, ROWS * OUT, 1));
        try (Tensor x = gpu.alloc(DType.F32, Shape.of(ROWS, IN)); Tensor w = gpu.alloc(DType.F32, Shape.of(OUT, IN));
             Tensor y = gpu.alloc(DType.F32, Shape.of(ROWS, OUT)); Tensor dy = gpu.alloc(DType.F32, Shape.of(ROWS, OUT));
             Tensor dW = gpu.alloc(DType.F32, Shape.of(OUT, IN)); Tensor dB = gpu.alloc(DType.F32, Shape.of(OUT));
             Tensor dx = gpu.alloc(DType.F32, Shape.of(ROWS, IN))) {
            gpu.setCublasLt(lt);
            gpu.write(x, hx);
            gpu.write(w, hw);
            gpu.write(y, hy);
            gpu.write(dy, hg);
            // A capture in FP32 first, so the side stream (made at the first fork) exists before TF32 is switched on.
            try (CudaGraph fp32 = gpu.capture(() -> gpu.linearBackward(x, w, y, dy, Activation.IDENTITY, dW, dB, dx))) {
                fp32.launch();
            }
            gpu.setTf32(true);
            Tensor[] outs = {dW, dB, dx};
            Runnable backward = () -> {
                gpu.write(dy, hg);
                gpu.linearBackward(x, w, y, dy, Activation.IDENTITY, dW, dB, dx);
            };
            float[][] eager = run(backward, outs);
            gpu.write(dy, hg);
            try (CudaGraph g = gpu.capture(() -> gpu.linearBackward(x, w, y, dy, Activation.IDENTITY, dW, dB, dx))) {
                for (Tensor t : outs) gpu.fill(t, Double.NaN);
                g.launch();
                String[] names = {"dW", "dBias", "dx"};
                for (int i = 0; i < outs.length; i++) {
                    assertBits((lt ? "cuBLASLt " : "cuBLAS ") + names[i] + " replayed with the fork, TF32", eager[i], floats(gpu.download(outs[i])));
                }
            }
        } finally {
            gpu.setTf32(false);
            gpu.setCublasLt(wasLt);
        }
    }

    private static float[][] run(Runnable work, Tensor[] outs) {
        for (Tensor t : outs) gpu.fill(t, Double.NaN);
        work.run();
        float[][] r = new float[outs.length][];
        for (int i = 0; i < outs.length; i++) r[i] = floats(gpu.download(outs[i]));
        return r;
    }
}
