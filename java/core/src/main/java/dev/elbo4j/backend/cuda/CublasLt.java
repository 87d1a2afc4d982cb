package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.Locale;

/**
 * The dense layers on cuBLASLt with fused epilogues, selectable against the hand-written
 * bias/activation kernels of {@code kernels/linear.cu} ({@link #PROPERTY}, {@link #ENV},
 * {@link CudaBackend#setCublasLt}); the hand-written path stays the default until a GPU has timed both.
 *
 * <ul>
 *   <li>Forward, y = act(x W^T + b): one {@code cublasLtMatmul} with {@code CUBLASLT_EPILOGUE_BIAS}
 *       (identity) or {@code RELU_BIAS} (ReLU). cuBLASLt has no tanh or sigmoid epilogue: those layers
 *       take {@code BIAS} and then {@code elbo4j_bias_act_f32} with no bias, the activation alone.</li>
 *   <li>Backward: the activation derivative in place ({@code elbo4j_act_backward_f32}, computed from the
 *       output y like the reference; none for identity), then dW = dy^T x with
 *       {@code CUBLASLT_EPILOGUE_BGRADB}, which writes the bias gradient (dy's column sums, the
 *       GEMM's k dimension) from inside the GEMM, then dx = dy W on cuBLAS. The bias-gradient pass
 *       and its column-sum second pass are gone.</li>
 * </ul>
 *
 * <p>Across two layers, where the layer below is ReLU ({@link Backend#linearForwardMasked},
 * {@link Backend#linearBackwardReluInput}, called by {@code nn.Mlp}): the forward of the layer below
 * takes {@code RELU_AUX_BIAS}, which also stores the ReLU bit mask of its output, and this layer's dx
 * GEMM takes {@code DRELU_BGRAD}, which zeroes dx where the mask is clear (the ReLU derivative of the
 * layer below) and writes that layer's bias gradient (dx's column sums); the layer below then runs as
 * identity with its bias gradient done. The element-wise derivative pass is gone.
 *
 * <p>Row-major to column-major as {@link CudaBlas#sgemm}: row-major C = op(A) op(B) is issued as the
 * column-major C^T = op(B)^T op(A)^T, so the bias, per column of the row-major y, is per row of the
 * column-major D, which is what {@code BIAS} broadcasts; and BGRADB's vector, per column of D, is per
 * row-major column of dy. When cuBLASLt's heuristic finds no algorithm for a shape and alignment,
 * that call takes the hand-written path ({@link #fallbacks()} counts them).
 */
final class CublasLt implements AutoCloseable {
    /** System property: "true" selects the cuBLASLt path, "false" the hand-written kernels (the default). */
    public static final String PROPERTY = "elbo4j.cublaslt";
    /** Environment variable read when the property is not set: "1" or "true" selects cuBLASLt. */
    public static final String ENV = "ELBO4J_CUBLASLT";

    private final CudaBlasLt lt;
    private long fallbacks, fused;

    CublasLt(CudaBlasLt lt) {
        this.lt = lt;
    }

    /** Whether the property (or, unset, the environment) asks for the cuBLASLt path. */
    static boolean requested() {
        String v = System.getProperty(PROPERTY);
        if (v == null) v = System.getenv(ENV);
        if (v == null) return false;
        v = v.strip().toLowerCase(Locale.ROOT);
        return v.equals("1") || v.equals("true") || v.equals("on");
    }

    String describe() {
        return lt.describe();
    }

    /** dx GEMMs enqueued with {@code DRELU_BGRAD}. */
    long fusedDerivatives() {
        return fused;
    }

    /** Calls that took the hand-written path because cuBLASLt had no algorithm for them. */
    long fallbacks() {
        return fallbacks;
    }

    /** Bytes per row of a ReLU bit mask over {@code cols} outputs: cuBLASLt wants a leading dimension of a multiple of 128 bits. */
    static int maskRowBytes(int cols) {
        return (int) Kernels.ceilDiv(cols, 128) * 16;
    }

    /** {@link Backend#linearForward} on cuBLASLt; false (nothing enqueued) when the caller must take the hand-written path. */
    boolean forward(CudaBackend be, Tensor x, Tensor w, Tensor bias, Activation act, Tensor y, boolean tf32) {
        return forward(be, x, w, bias, act, y, tf32, null);
    }

    /**
     * As {@link #forward}; with a {@code mask} (U8, rows x {@link #maskRowBytes}(out)) and ReLU, the
     * epilogue is {@code RELU_AUX_BIAS} and also writes the output's ReLU bit mask there.
     */
    boolean forward(CudaBackend be, Tensor x, Tensor w, Tensor bias, Activation act, Tensor y, boolean tf32, Tensor mask) {
        DeviceTensor dx = be.f32(x, "x"), dw = be.f32(w, "W"), db = be.f32(bias, "bias"), out = be.f32(y, "y");
        int rows = dx.rows(), in = dx.cols(), outs = dw.rows();
        if (dw.cols() != in || out.rows() != rows || out.cols() != outs || db.size() != outs) {
            throw new IllegalArgumentException("linear forward shapes do not agree: x " + dx.shape() + ", W " + dw.shape()
                    + ", bias " + db.shape() + ", y " + out.shape());
        }
        if (out.overlaps(dx) || out.overlaps(dw) || out.overlaps(db)) {
            throw new IllegalArgumentException("linear forward: y must not overlap x, W or bias");
        }
        DeviceTensor m = mask == null || act != Activation.RELU ? null : mask(be, mask, rows, outs, "mask");
        be.prepare();
        if (rows == 0 || in == 0) return false;
        CudaBlasLt.Epilogue ep = act != Activation.RELU ? CudaBlasLt.Epilogue.BIAS
                : m == null ? CudaBlasLt.Epilogue.RELU_BIAS : CudaBlasLt.Epilogue.RELU_AUX_BIAS;
        // Column-major D (outs x rows) = W^T-as-stored (op T of the in x outs column-major W) times x;
        // the mask is column-major over D too: a row of the U8 tensor per column of D.
        if (!lt.matmul(ep, tf32, true, false, outs, rows, in, 1f, dw.address(), in, dx.address(), in, out.address(), outs,
                db.address(), m == null ? 0 : m.address(), m == null ? 0 : 8 * maskRowBytes(outs))) {
            fallbacks++;
            return false;
        }
        if (act == Activation.TANH || act == Activation.SIGMOID) be.biasActivation(y, null, act);
        return true;
    }

    /**
     * {@link Backend#linearBackward} on cuBLASLt; false (nothing enqueued) when the caller must take the
     * hand-written path. With {@code fork} (not null, under capture) the dW + dBias matmul runs on the
     * side stream's handle beside dx on the main stream, joined before this returns.
     */
    boolean backward(CudaBackend be, Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW, Tensor dBias,
                     Tensor dxOut, boolean tf32, SideStream fork) {
        if (dBias == null) return false;
        DeviceTensor dx = be.f32(x, "x"), dw = be.f32(w, "W"), vy = be.f32(y, "y"), g = be.f32(dy, "dy");
        DeviceTensor gw = be.f32(dW, "dW"), gb = be.f32(dBias, "dBias");
        int rows = dx.rows(), in = dx.cols(), outs = dw.rows();
        if (dw.cols() != in || vy.rows() != rows || vy.cols() != outs || g.rows() != rows || g.cols() != outs
                || gw.rows() != outs || gw.cols() != in || gb.size() != outs) {
            throw new IllegalArgumentException("linear backward shapes do not agree: x " + dx.shape() + ", W " + dw.shape()
                    + ", y " + vy.shape() + ", dy " + g.shape() + ", dW " + gw.shape() + ", dBias " + gb.shape());
        }
        if (gw.overlaps(dx) || gw.overlaps(g) || gw.overlaps(gb) || gb.overlaps(g) || gb.overlaps(dx)) {
            throw new IllegalArgumentException("linear backward: dW and dBias must not overlap x, dy or each other");
        }
        be.prepare();
        if (rows == 0 || in == 0) return false;
        be.biasActivationBackward(y, dy, act, null);
        if (fork != null && (fork.lt() == null || dxOut == null)) fork = null;
        if (fork != null) fork.fork(be.stream());
        weightGradients(be, x, y, dy, dW, dBias, in, outs, rows, tf32, fork);
        if (dxOut != null) be.gemm(false, false, 1, dy, w, 0, dxOut);
        if (fork != null) fork.join(be.stream());
        return true;
    }

    /**
     * dW (and, when {@code dBias} is not null, dBias by {@code BGRADB}) from dy already multiplied by
     * the activation derivative; on the side stream's handles when {@code fork} is not null (forked).
     */
    private void weightGradients(CudaBackend be, Tensor x, Tensor y, Tensor dy, Tensor dW, Tensor dBias, int in, int outs, int rows,
                                 boolean tf32, SideStream fork) {
        if (dBias == null) {
            if (fork != null) CudaLinear.gemm(be, fork.blas(), true, false, 1, dy, x, 0, dW);
            else be.gemm(true, false, 1, dy, x, 0, dW);
            return;
        }
        CudaBlasLt dwLt = fork == null ? lt : fork.lt().lt;
        // Column-major D (in x outs) = x-as-stored (in x rows) times op T of dy-as-stored (outs x rows):
        // dW^T, with BGRADB summing op(B) = dy over the k = rows dimension into dBias.
        if (!dwLt.matmul(CudaBlasLt.Epilogue.BGRADB, tf32, false, true, in, outs, rows, 1f, be.f32(x, "x").address(), in,
                be.f32(dy, "dy").address(), outs, be.f32(dW, "dW").address(), in, be.f32(dBias, "dBias").address(), 0, 0)) {
            fallbacks++;
            // dy already holds the pre-activation gradient: identity's backward is its column sum alone.
            be.biasActivationBackward(y, dy, Activation.IDENTITY, dBias);
            be.gemm(true, false, 1, dy, x, 0, dW);
        }
    }

    /**
     * {@link Backend#linearBackwardReluInput} on cuBLASLt: dy *= act'(y), dW and dBias as {@link #backward}
     * ({@code dBias} null: dy already is the pre-activation gradient and its bias gradient is done), and
     * dx = dy W with {@code DRELU_BGRAD}: zero where {@code xMask} (the mask the layer below stored with x)
     * is clear, and {@code xBiasGrad} its column sums. False (nothing enqueued) for no rows or no inputs,
     * which the caller computes the unfused way; otherwise complete: a plan cuBLASLt has no algorithm for
     * runs on cuBLAS and the hand-written kernels instead.
     */
    boolean backwardReluInput(CudaBackend be, Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW,
                           Tensor dBias, Tensor dxOut, Tensor xMask, Tensor xBiasGrad, boolean tf32, SideStream fork) {
        DeviceTensor dx = be.f32(x, "x"), dw = be.f32(w, "W"), vy = be.f32(y, "y"), g = be.f32(dy, "dy");
        DeviceTensor gw = be.f32(dW, "dW"), gx = be.f32(dxOut, "dx"), gxb = be.f32(xBiasGrad, "xBiasGrad");
        DeviceTensor gb = dBias == null ? null : be.f32(dBias, "dBias");
        int rows = dx.rows(), in = dx.cols(), outs = dw.rows();
        if (dw.cols() != in || vy.rows() != rows || vy.cols() != outs || g.rows() != rows || g.cols() != outs
                || gw.rows() != outs || gw.cols() != in || (gb != null && gb.size() != outs) || gx.rows() != rows
                || gx.cols() != in || gxb.size() != in) {
            throw new IllegalArgumentException("linear backward shapes do not agree: x " + dx.shape() + ", W " + dw.shape()
                    + ", y " + vy.shape() + ", dy " + g.shape() + ", dW " + gw.shape()
                    + (gb == null ? "" : ", dBias " + gb.shape()) + ", dx " + gx.shape() + ", xBiasGrad " + gxb.shape());
        }
        DeviceTensor m = mask(be, xMask, rows, in, "xMask");
        for (DeviceTensor out : new DeviceTensor[] {gw, gb, gx, gxb}) {
            if (out == null) continue;
            for (DeviceTensor other : new DeviceTensor[] {dx, dw, g, gw, gb, gx, gxb, m}) {
                if (other != null && other != out && out.overlaps(other)) {
                    throw new IllegalArgumentException("linear backward: dW, dBias, dx and xBiasGrad must not overlap"
                            + " each other or x, W, dy and the mask");
                }
            }
        }
        be.prepare();
        if (rows == 0 || in == 0) return false;
        be.biasActivationBackward(y, dy, act, null);
        if (fork != null && fork.lt() == null) fork = null;
        if (fork != null) fork.fork(be.stream());
        weightGradients(be, x, y, dy, dW, dBias, in, outs, rows, tf32, fork);
        // Column-major D (in x rows) = W-as-stored (in x outs) times dy-as-stored (outs x rows): dx^T,
        // zeroed where the layer below's mask is clear, its columns summed into that layer's bias gradient.
        if (!lt.matmul(CudaBlasLt.Epilogue.DRELU_BGRAD, tf32, false, false, in, rows, outs, 1f, dw.address(), in,
                g.address(), outs, gx.address(), in, gxb.address(), m.address(), 8 * maskRowBytes(in))) {
            fallbacks++;
            be.gemm(false, false, 1, dy, w, 0, dxOut);
            be.biasActivationBackward(x, dxOut, Activation.RELU, xBiasGrad);
        } else {
            fused++;
        }
        if (fork != null) fork.join(be.stream());
        return true;
    }

    /** A ReLU bit mask for rows x cols outputs: U8, rows x {@link #maskRowBytes}(cols), on this backend. */
    private static DeviceTensor mask(CudaBackend be, Tensor mask, int rows, int cols, String what) {
        DeviceTensor m = be.dev(mask, what);
        if (m.dtype() != DType.U8 || m.rows() != rows || m.cols() != maskRowBytes(cols)) {
            throw new IllegalArgumentException(what + " must be U8 [" + rows + ", " + maskRowBytes(cols) + "] for " + cols
                    + " outputs, got " + m.dtype() + " " + m.shape());
        }
        return m;
    }

    @Override
    public void close() {
        lt.close();
    }
}
