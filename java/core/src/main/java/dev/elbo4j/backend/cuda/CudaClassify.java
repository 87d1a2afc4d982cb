package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/classify.cu} (conditional and semi-supervised models): the CUDA
 * side of those {@link Backend} ops (semantics in its javadoc; CPU reference {@code CpuClassify}).
 * Each checks its arguments on the host before it enqueues anything.
 */
final class CudaClassify {
    private CudaClassify() {
    }

    static void softmaxCrossEntropy(CudaBackend be, Tensor logits, Tensor target, double gradScale, Tensor loss, Tensor dLogits) {
        DeviceTensor l = be.f32(logits, "logits"), t = be.f32(target, "target"), lo = be.f32(loss, "loss");
        DeviceTensor g = dLogits == null ? null : be.f32(dLogits, "dLogits");
        int b = l.rows(), c = l.cols();
        if (l.shape().rank() != 2 || b == 0 || c == 0 || !t.shape().equals(l.shape()) || lo.size() != b
                || (g != null && !g.shape().equals(l.shape()))) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits " + l.shape() + " needs target of the same shape, loss of "
                    + b + (g == null ? "" : " and dLogits of the same shape") + ", got target " + t.shape() + ", loss " + lo.shape()
                    + (g == null ? "" : ", dLogits " + g.shape()));
        }
        be.prepare();
        be.args().clear().ptr(l.address()).ptr(t.address()).ptr(lo.address()).ptr(g == null ? 0 : g.address()).i32(b).i32(c)
                .f64(gradScale);
        be.launch(Kernels.SOFTMAX_XENT, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.SOFTMAX_XENT)));
    }

    static void unlabelledBound(CudaBackend be, Tensor logits, Tensor rec, Tensor kl, double klWeight, double offset, double gradScale,
                                Tensor u, Tensor weights, Tensor dLogits) {
        DeviceTensor l = be.f32(logits, "logits"), r = be.f32(rec, "rec"), k = be.f32(kl, "kl"), uu = be.f32(u, "u"), w = be.f32(weights, "weights");
        DeviceTensor g = dLogits == null ? null : be.f32(dLogits, "dLogits");
        int b = l.rows(), c = l.cols(), n = b * c;
        if (l.shape().rank() != 2 || b == 0 || c == 0 || r.size() != n || k.size() != n || uu.size() != b || w.size() != n
                || (g != null && !g.shape().equals(l.shape()))) {
            throw new IllegalArgumentException("unlabelledBound: logits " + l.shape() + " needs rec, kl and weights of " + n
                    + " elements and u of " + b + ", got rec " + r.shape() + ", kl " + k.shape() + ", weights " + w.shape()
                    + ", u " + uu.shape() + (g == null ? "" : ", dLogits " + g.shape()));
        }
        be.prepare();
        be.args().clear().ptr(l.address()).ptr(r.address()).ptr(k.address()).ptr(uu.address()).ptr(w.address())
                .ptr(g == null ? 0 : g.address()).i32(b).i32(c).f64(klWeight).f64(offset).f64(gradScale).ptr(be.klWeightAt());
        be.launch(Kernels.UNLABELLED_BOUND, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.UNLABELLED_BOUND)));
    }

    static void scaleRows(CudaBackend be, Tensor x, Tensor w, double scale) {
        DeviceTensor xx = be.f32(x, "x"), ww = be.f32(w, "w");
        if (xx.shape().rank() != 2 || ww.size() != xx.rows()) {
            throw new IllegalArgumentException("scaleRows: x " + xx.shape() + " needs one weight per row, got w " + ww.shape());
        }
        be.prepare();
        if (xx.size() == 0) return;
        be.args().clear().ptr(xx.address()).ptr(ww.address()).i32(xx.rows()).i32(xx.cols()).f64(scale);
        be.launch(Kernels.SCALE_ROWS, Kernels.blocks(xx.size(), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.SCALE_ROWS)));
    }

    static void latentBackwardRows(CudaBackend be, Tensor stats, Tensor eps, Tensor dz, Tensor klWeights, double klWeight, int klRows,
                                   Tensor dStats) {
        DeviceTensor s = be.f32(stats, "stats"), e = be.f32(eps, "eps"), g = be.f32(dz, "dz"), w = be.f32(klWeights, "klWeights");
        DeviceTensor ds = be.f32(dStats, "dStats");
        int r = s.rows(), zd = s.cols() / 2;
        if (s.shape().rank() != 2 || s.cols() % 2 != 0 || r == 0 || zd == 0 || e.rows() != r || e.cols() != zd
                || !g.shape().equals(e.shape()) || w.size() != r || !ds.shape().equals(s.shape())) {
            throw new IllegalArgumentException("latentBackwardRows: stats " + s.shape() + " (R x 2Z) needs eps and dz of R x Z, "
                    + "klWeights of R and dStats of R x 2Z, got eps " + e.shape() + ", dz " + g.shape() + ", klWeights "
                    + w.shape() + ", dStats " + ds.shape());
        }
        if (klRows < 1) throw new IllegalArgumentException("latentBackwardRows: klRows must be >= 1, got " + klRows);
        be.prepare();
        be.args().clear().ptr(s.address()).ptr(e.address()).ptr(g.address()).ptr(w.address()).ptr(ds.address()).i32(r).i32(zd)
                .f64(klWeight).i32(klRows).ptr(be.klWeightAt());
        be.launch(Kernels.LATENT_BACKWARD_ROWS, Kernels.blocks((long) r * zd, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.LATENT_BACKWARD_ROWS)));
    }
}
