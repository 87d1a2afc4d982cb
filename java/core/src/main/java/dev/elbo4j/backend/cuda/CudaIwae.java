package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/iwae.cu} (the importance-weighted objective): the CUDA side of
 * those {@link Backend} ops (semantics in its javadoc; CPU reference {@code CpuIwae}). Each checks its
 * arguments on the host before it enqueues anything.
 */
final class CudaIwae {
    private CudaIwae() {
    }

    static void iwaeWeights(CudaBackend be, Tensor rowLoss, Tensor logRatio, Tensor weights, Tensor loss) {
        DeviceTensor rl = be.f32(rowLoss, "rowLoss"), lr = be.f32(logRatio, "logRatio"), w = be.f32(weights, "weights"),
                l = be.f32(loss, "loss");
        int b = l.size(), rows = rl.size();
        if (b == 0 || rows == 0 || rows % b != 0 || lr.size() != rows || w.size() != rows) {
            throw new IllegalArgumentException("iwaeWeights: rowLoss " + rl.shape() + ", logRatio " + lr.shape()
                    + " and weights " + w.shape() + " must have L*B elements for loss " + l.shape());
        }
        if (w.overlaps(rl) || w.overlaps(lr) || l.overlaps(rl) || l.overlaps(lr) || l.overlaps(w)) {
            throw new IllegalArgumentException("iwaeWeights: weights and loss must not overlap the inputs or each other");
        }
        be.prepare();
        be.args().clear().ptr(rl.address()).ptr(lr.address()).ptr(w.address()).ptr(l.address()).i32(b).i32(rows / b);
        be.launch(Kernels.IWAE_WEIGHTS, Kernels.blocks(b, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.IWAE_WEIGHTS)));
    }

    static void iwaeScaleRows(CudaBackend be, Tensor weights, double scale, Tensor dOut, Tensor logVar, Tensor dLogVar) {
        DeviceTensor w = be.f32(weights, "weights"), g = be.f32(dOut, "dOut");
        DeviceTensor lv = logVar == null ? null : be.f32(logVar, "logVar"), dlv = dLogVar == null ? null : be.f32(dLogVar, "dLogVar");
        int rows = g.rows(), d = g.cols();
        if (w.size() != rows) {
            throw new IllegalArgumentException("iwaeScaleRows: weights " + w.shape() + " need one element per row of dOut "
                    + g.shape());
        }
        if ((lv == null) != (dlv == null) || (lv != null && (lv.size() != d || dlv.size() != d))) {
            throw new IllegalArgumentException("iwaeScaleRows: logVar and dLogVar must both be null or both have " + d
                    + " elements (dOut " + g.shape() + ")");
        }
        if (g.overlaps(w) || (dlv != null && (dlv.overlaps(g) || dlv.overlaps(w) || dlv.overlaps(lv)))) {
            throw new IllegalArgumentException("iwaeScaleRows: dOut and dLogVar must not overlap the other arguments");
        }
        be.prepare();
        if (g.size() == 0) return;
        if (lv != null) {
            long partial = CudaColumns.partials(be, rows, d);
            be.args().clear().ptr(w.address()).ptr(g.address()).ptr(lv.address()).ptr(partial).ptr(dlv.address()).i32(rows).i32(d)
                    .i32(Kernels.columnChunkRows(rows)).f64(scale);
            CudaColumns.launch(be, Kernels.IWAE_DLOGVAR, rows, d, partial, dlv.address(), scale);
        }
        be.args().clear().ptr(w.address()).ptr(g.address()).i64(g.size()).i32(d).f64(scale);
        be.launch(Kernels.IWAE_SCALE_ROWS, Kernels.blocks(g.size(), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.IWAE_SCALE_ROWS)));
    }

    static void iwaeLatentBackward(CudaBackend be, Tensor stats, Tensor eps, Tensor z, Tensor dz, Tensor weights, double scale, Tensor dStats) {
        DeviceTensor s = be.f32(stats, "stats"), e = be.f32(eps, "eps"), zz = be.f32(z, "z"), g = be.f32(dz, "dz"),
                w = be.f32(weights, "weights"), ds = be.f32(dStats, "dStats");
        CudaLatent.checkLatentShapes(s, e, g);
        if (zz.rows() != g.rows() || zz.cols() != g.cols() || w.size() != g.rows()) {
            throw new IllegalArgumentException("iwaeLatentBackward: z " + zz.shape() + " and weights " + w.shape()
                    + " must match dz " + g.shape() + " (and its rows)");
        }
        if (ds.size() != s.size()) {
            throw new IllegalArgumentException("iwaeLatentBackward: dStats " + ds.shape() + " must match stats " + s.shape());
        }
        if (ds.overlaps(s) || ds.overlaps(e) || ds.overlaps(zz) || ds.overlaps(g) || ds.overlaps(w)) {
            throw new IllegalArgumentException("iwaeLatentBackward: dStats must not overlap the inputs");
        }
        be.prepare();
        int b = s.rows(), zd = s.cols() / 2, samples = g.rows() / b;
        be.args().clear().ptr(s.address()).ptr(e.address()).ptr(zz.address()).ptr(g.address()).ptr(w.address()).ptr(ds.address())
                .i32(b).i32(zd).i32(samples).f64(scale);
        be.launch(Kernels.IWAE_LATENT_BACKWARD, Kernels.blocks((long) b * zd, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.IWAE_LATENT_BACKWARD)));
    }
}
