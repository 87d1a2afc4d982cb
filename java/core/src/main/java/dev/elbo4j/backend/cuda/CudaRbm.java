package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/rbm.cu} (RBMs: Gibbs half-steps and free energies, for sampling and
 * AIS): the CUDA side of those {@link Backend} ops (semantics in its javadoc; CPU reference
 * {@code CpuRbm}). Each checks its arguments on the host before it enqueues anything.
 */
final class CudaRbm {
    private CudaRbm() {
    }

    static void rbmGibbsHalf(CudaBackend be, Tensor act, Tensor bias, double beta, Tensor base, RngKey key, Tensor prob, Tensor sample) {
        DeviceTensor a = be.f32(act, "act"), b = be.f32(bias, "bias");
        DeviceTensor ba = base == null ? null : be.f32(base, "base");
        DeviceTensor p = prob == null ? null : be.f32(prob, "prob"), s = sample == null ? null : be.f32(sample, "sample");
        int rows = a.rows(), cols = a.cols();
        if (b.size() != cols || (ba != null && ba.size() != cols)) {
            throw new IllegalArgumentException("rbmGibbsHalf: bias " + b.shape() + (ba == null ? "" : " / base " + ba.shape())
                    + " must have " + cols + " elements for act " + a.shape());
        }
        if ((p != null && p.size() != a.size()) || (s != null && s.size() != a.size())) {
            throw new IllegalArgumentException("rbmGibbsHalf: prob / sample must match act " + a.shape());
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmGibbsHalf: beta must be finite, got " + beta);
        if (s != null && key == null) throw new IllegalArgumentException("rbmGibbsHalf: a sample needs a key");
        be.prepare();
        if (a.size() == 0) return;
        be.args().clear().ptr(a.address()).ptr(b.address()).ptr(ba == null ? 0 : ba.address()).ptr(p == null ? 0 : p.address())
                .ptr(s == null ? 0 : s.address()).i32(rows).i32(cols).f64(beta);
        be.key(key == null ? new RngKey(0, 0, 0) : key);
        be.launch(Kernels.RBM_GIBBS, Kernels.blocks(Kernels.ceilDiv(a.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.RBM_GIBBS)));
    }

    static void rbmFreeEnergy(CudaBackend be, Tensor v, Tensor hAct, Tensor visBias, Tensor hidBias, double beta, Tensor base, Tensor out) {
        DeviceTensor vv = be.f32(v, "v"), h = be.f32(hAct, "hAct"), vb = be.f32(visBias, "visBias"), hb = be.f32(hidBias, "hidBias");
        DeviceTensor ba = base == null ? null : be.f32(base, "base"), o = be.f32(out, "out");
        int rows = vv.rows(), vis = vv.cols(), hid = h.cols();
        if (h.rows() != rows || vb.size() != vis || hb.size() != hid || (ba != null && ba.size() != vis) || o.size() != rows) {
            throw new IllegalArgumentException("rbmFreeEnergy: v " + vv.shape() + ", hAct " + h.shape() + ", visBias "
                    + vb.shape() + ", hidBias " + hb.shape() + (ba == null ? "" : ", base " + ba.shape())
                    + ", out " + o.shape() + " do not fit (R x V, R x H, V, H, V, R)");
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmFreeEnergy: beta must be finite, got " + beta);
        be.prepare();
        if (rows == 0) return;
        be.args().clear().ptr(vv.address()).ptr(h.address()).ptr(vb.address()).ptr(hb.address()).ptr(ba == null ? 0 : ba.address())
                .ptr(o.address()).i32(rows).i32(vis).i32(hid).f64(beta);
        be.launch(Kernels.RBM_FREE_ENERGY, Math.min(rows, 65_535));
    }
}
