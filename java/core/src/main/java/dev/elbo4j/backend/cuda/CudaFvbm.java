package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/fvbm.cu} (a fully visible Boltzmann machine's exact
 * maximum-likelihood step): the CUDA side of {@link Backend#fvbmStep} (semantics in its javadoc; CPU
 * reference {@code CpuFvbm}). Three launches: the states' log-probabilities, then log Z and the
 * moments, then the gradient and the rows' loss. Checks its arguments on the host before it
 * enqueues anything.
 */
final class CudaFvbm {
    /** The largest d (2^20 states). */
    static final int MAX_DIM = 20;

    private CudaFvbm() {
    }

    static void step(CudaBackend be, Tensor x, Tensor bias, Tensor weight, Tensor scratch, Tensor rowLoss, Tensor dBias, Tensor dWeight) {
        DeviceTensor xx = be.f32(x, "x"), b = be.f32(bias, "bias"), w = be.f32(weight, "weight");
        DeviceTensor loss = be.f32(rowLoss, "rowLoss"), db = be.f32(dBias, "dBias"), dw = be.f32(dWeight, "dWeight");
        DeviceTensor s = be.dev(scratch, "scratch");
        int rows = xx.rows(), d = xx.cols();
        if (d < 1 || d > MAX_DIM) throw new IllegalArgumentException("fvbmStep: x " + xx.shape() + " must have 1.." + MAX_DIM + " columns");
        long states = 1L << d;
        if (b.size() != d || w.size() != (long) d * d || loss.size() != rows || db.size() != d || dw.size() != (long) d * d
                || s.size() != states + (long) d * d + 1) {
            throw new IllegalArgumentException("fvbmStep: x " + xx.shape() + ", bias " + b.shape() + ", weight " + w.shape()
                    + ", scratch " + s.shape() + ", rowLoss " + loss.shape() + ", dBias " + db.shape() + ", dWeight "
                    + dw.shape() + " do not fit (R x d, d, d x d, 2^d + d*d + 1, R, d, d x d)");
        }
        if (s.dtype() != DType.F64) throw new IllegalArgumentException("fvbmStep: scratch must be F64, got " + s.dtype());
        be.prepare();
        long lu = s.address(), second = lu + states * 8, logZ = second + (long) d * d * 8;
        be.args().clear().ptr(b.address()).ptr(w.address()).ptr(lu).i32(d);
        be.launch(Kernels.FVBM_STATES, Kernels.blocks(states, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.FVBM_STATES)));
        be.args().clear().ptr(lu).ptr(second).ptr(logZ).i32(d);
        be.launch(Kernels.FVBM_MOMENTS, d * (d + 1) / 2);
        be.args().clear().ptr(xx.address()).ptr(b.address()).ptr(w.address()).ptr(second).ptr(logZ).ptr(loss.address())
                .ptr(db.address()).ptr(dw.address()).i32(rows).i32(d);
        be.launch(Kernels.FVBM_GRAD, Kernels.blocks((long) d * d + rows, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.FVBM_GRAD)));
    }
}
