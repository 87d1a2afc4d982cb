package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/linear.cu} (bias and activation, their backward pass and bias
 * gradient) and the GEMM on cuBLAS: the CUDA side of those {@link Backend} ops (semantics in its
 * javadoc; CPU reference {@code CpuLinear}). Each checks its arguments on the host before it enqueues
 * anything. The dense layers' cuBLASLt path ({@link CublasLt}) falls back to these.
 */
final class CudaLinear {
    private CudaLinear() {
    }

    static void gemm(CudaBackend be, boolean transA, boolean transB, double alpha, Tensor a, Tensor b, double beta, Tensor c) {
        DeviceTensor da = be.f32(a, "A"), db = be.f32(b, "B"), dc = be.f32(c, "C");
        int m = transA ? da.cols() : da.rows();
        int k = transA ? da.rows() : da.cols();
        int kb = transB ? db.cols() : db.rows();
        int n = transB ? db.rows() : db.cols();
        if (k != kb || dc.rows() != m || dc.cols() != n) {
            throw new IllegalArgumentException("gemm shapes do not agree: op(A) " + m + "x" + k + ", op(B) " + kb + "x" + n
                    + ", C " + dc.shape());
        }
        if (dc.overlaps(da) || dc.overlaps(db)) throw new IllegalArgumentException("gemm: C must not overlap A or B");
        be.prepare();
        if (m == 0 || n == 0) return;
        // Leading dimensions are the row strides as stored; max(1, .) keeps cuBLAS's checks happy for k = 0.
        be.blas().sgemm(transA, transB, m, n, k, (float) alpha, da.address(), Math.max(1, da.cols()), db.address(),
                Math.max(1, db.cols()), (float) beta, dc.address(), Math.max(1, n));
    }

    static int activationCode(Activation act) {
        return switch (act) {
            case IDENTITY -> 0;
            case RELU -> 1;
            case TANH -> 2;
            case SIGMOID -> 3;
        };
    }

    static void biasActivation(CudaBackend be, Tensor y, Tensor bias, Activation act) {
        DeviceTensor dy = be.f32(y, "y");
        DeviceTensor db = bias == null ? null : be.f32(bias, "bias");
        int rows = dy.rows(), cols = dy.cols();
        if (db != null && db.size() != cols) throw new IllegalArgumentException("bias of " + db.size() + " for rows of " + cols);
        be.prepare();
        if (dy.size() == 0 || (act == Activation.IDENTITY && db == null)) return;
        long work = cols % 4 == 0 ? dy.size() / 4 : dy.size();
        be.args().clear().ptr(dy.address()).ptr(db == null ? 0 : db.address()).i32(rows).i32(cols).i32(activationCode(act));
        be.launch(Kernels.BIAS_ACT, Kernels.blocks(work, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.BIAS_ACT)));
    }

    static void biasActivationBackward(CudaBackend be, Tensor y, Tensor dy, Activation act, Tensor dBias) {
        DeviceTensor vy = be.f32(y, "y"), g = be.f32(dy, "dy");
        DeviceTensor db = dBias == null ? null : be.f32(dBias, "dBias");
        int rows = vy.rows(), cols = vy.cols();
        if (g.size() != vy.size() || (db != null && db.size() != cols)) {
            throw new IllegalArgumentException("bias/activation backward: y " + vy.shape() + ", dy " + g.shape()
                    + (db == null ? "" : ", dBias " + db.shape()));
        }
        be.prepare();
        if (db == null) {
            if (act == Activation.IDENTITY || vy.size() == 0) return;
            be.args().clear().ptr(vy.address()).ptr(g.address()).i64(vy.size()).i32(activationCode(act));
            be.launch(Kernels.ACT_BACKWARD, Kernels.blocks(Kernels.ceilDiv(vy.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.ACT_BACKWARD)));
            return;
        }
        if (cols == 0) return;
        long partial = CudaColumns.partials(be, rows, cols);
        be.args().clear().ptr(vy.address()).ptr(g.address()).ptr(partial).ptr(db.address()).i32(rows).i32(cols)
                .i32(Kernels.columnChunkRows(rows)).i32(activationCode(act));
        CudaColumns.launch(be, Kernels.BIAS_ACT_BACKWARD, rows, cols, partial, db.address(), 1.0);
    }
}
