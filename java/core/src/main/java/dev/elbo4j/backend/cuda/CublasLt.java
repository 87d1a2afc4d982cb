package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
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
 * <p>{@code DRELU_BGRAD} is not used: it applies the ReLU derivative of the layer <i>below</i> inside
 * this layer's dx GEMM, reading a bit mask that the forward {@code RELU_AUX_BIAS} stored, so it joins
 * two layers' backward passes and needs a per-layer mask buffer that {@link Backend}'s per-layer
 * calls do not carry; the derivative from y is one element-wise pass instead (kernels/README.md).
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
    private long fallbacks;

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

    /** Calls that took the hand-written path because cuBLASLt had no algorithm for them. */
    long fallbacks() {
        return fallbacks;
    }

    /** {@link Backend#linearForward} on cuBLASLt; false (nothing enqueued) when the caller must take the hand-written path. */
    boolean forward(CudaBackend be, Tensor x, Tensor w, Tensor bias, Activation act, Tensor y, boolean tf32) {
        DeviceTensor dx = be.f32(x, "x"), dw = be.f32(w, "W"), db = be.f32(bias, "bias"), out = be.f32(y, "y");
        int rows = dx.rows(), in = dx.cols(), outs = dw.rows();
        if (dw.cols() != in || out.rows() != rows || out.cols() != outs || db.size() != outs) {
            throw new IllegalArgumentException("linear forward shapes do not agree: x " + dx.shape() + ", W " + dw.shape()
                    + ", bias " + db.shape() + ", y " + out.shape());
        }
        if (out.overlaps(dx) || out.overlaps(dw) || out.overlaps(db)) {
            throw new IllegalArgumentException("linear forward: y must not overlap x, W or bias");
        }
        be.prepare();
        if (rows == 0 || in == 0) return false;
        CudaBlasLt.Epilogue ep = act == Activation.RELU ? CudaBlasLt.Epilogue.RELU_BIAS : CudaBlasLt.Epilogue.BIAS;
        // Column-major D (outs x rows) = W^T-as-stored (op T of the in x outs column-major W) times x.
        if (!lt.matmul(ep, tf32, true, false, outs, rows, in, 1f, dw.address(), in, dx.address(), in, out.address(), outs,
                db.address())) {
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
        CudaBlasLt dwLt = fork == null ? lt : fork.lt().lt;
        // Column-major D (in x outs) = x-as-stored (in x rows) times op T of dy-as-stored (outs x rows):
        // dW^T, with BGRADB summing op(B) = dy over the k = rows dimension into dBias.
        if (!dwLt.matmul(CudaBlasLt.Epilogue.BGRADB, tf32, false, true, in, outs, rows, 1f, dx.address(), in, g.address(),
                outs, gw.address(), in, gb.address())) {
            fallbacks++;
            // dy already holds the pre-activation gradient: identity's backward is its column sum alone.
            be.biasActivationBackward(y, dy, Activation.IDENTITY, dBias);
            be.gemm(true, false, 1, dy, x, 0, dW);
        }
        if (dxOut != null) be.gemm(false, false, 1, dy, w, 0, dxOut);
        if (fork != null) fork.join(be.stream());
        return true;
    }

    @Override
    public void close() {
        lt.close();
    }
}
