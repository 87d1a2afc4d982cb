package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/likelihood.cu} (the Bernoulli and Gaussian reconstruction terms,
 * their gradients and means): the CUDA side of those {@link Backend} ops (semantics in its javadoc;
 * CPU reference {@code CpuLikelihood}). Each checks its arguments on the host before it enqueues
 * anything.
 */
final class CudaLikelihood {
    private CudaLikelihood() {
    }

    static void likelihood(CudaBackend be, Likelihood lik, Tensor out, Tensor x, Tensor logVar, double gradScale, Tensor rowLoss,
                           Tensor dOut, Tensor dLogVar) {
        DeviceTensor o = be.f32(out, "out"), xx = be.f32(x, "x"), rl = be.f32(rowLoss, "rowLoss");
        DeviceTensor g = dOut == null ? null : be.f32(dOut, "dOut");
        int rows = o.rows(), d = o.cols(), b = xx.rows();
        if (xx.cols() != d || b == 0 || rows % b != 0) {
            throw new IllegalArgumentException("likelihood: out " + o.shape() + " must be (L*B) x D for x " + xx.shape());
        }
        if (rl.size() != rows || (g != null && g.size() != o.size())) {
            throw new IllegalArgumentException("likelihood: rowLoss " + rl.shape() + " / dOut "
                    + (g == null ? "-" : g.shape()) + " do not fit out " + o.shape());
        }
        boolean learned = lik.learnsVariance();
        DeviceTensor lv = learned && logVar != null ? be.f32(logVar, "logVar") : null;
        DeviceTensor dlv = learned && dLogVar != null ? be.f32(dLogVar, "dLogVar") : null;
        if (learned && (lv == null || lv.size() != d || (g != null && (dlv == null || dlv.size() != d)))) {
            throw new IllegalArgumentException("learned-variance Gaussian needs logVar and dLogVar of " + d + " elements");
        }
        be.prepare();
        if (rows == 0) return;
        int rowsPerBlock = Kernels.rowsPerBlock(rows);
        int blocks = (int) Kernels.ceilDiv(rows, rowsPerBlock);
        switch (lik.kind()) {
            case BERNOULLI -> {
                be.args().clear().ptr(o.address()).ptr(xx.address()).ptr(rl.address()).ptr(g == null ? 0 : g.address())
                        .i32(rows).i32(b).i32(d).i32(rowsPerBlock).f32((float) gradScale);
                be.launch(Kernels.BERNOULLI, blocks);
            }
            case GAUSSIAN_FIXED, GAUSSIAN_LEARNED -> {
                double fixedLv = learned ? 0 : lik.fixedLogVar();
                boolean columns = learned && g != null;
                long partial = 0;
                int shared = 0;
                if (columns) {
                    partial = be.columnScratch((long) blocks * d * 8);
                    if ((long) d * 8 <= be.gaussianMaxDynamicShared()) shared = d * 8;
                }
                be.args().clear().ptr(o.address()).ptr(xx.address()).ptr(lv == null ? 0 : lv.address()).ptr(rl.address())
                        .ptr(g == null ? 0 : g.address()).ptr(partial).i32(rows).i32(b).i32(d).i32(rowsPerBlock)
                        .i32(shared > 0 ? 1 : 0).f64(fixedLv).f32((float) Math.exp(-fixedLv)).f32((float) gradScale);
                be.launch(Kernels.GAUSSIAN, blocks, 1, Kernels.BLOCK_ROW, 1, shared);
                if (columns) {
                    be.args().clear().ptr(partial).ptr(dlv.address()).i32(blocks).i32(d).f64(gradScale);
                    be.launch(Kernels.GAUSSIAN_DLOGVAR, Kernels.blocks(Kernels.ceilDiv(d, Kernels.COLS_TILE_X), 1,
                            be.wave(Kernels.GAUSSIAN_DLOGVAR)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
                }
            }
        }
    }

    static void likelihoodMean(CudaBackend be, Likelihood lik, Tensor out, Tensor mean) {
        DeviceTensor o = be.f32(out, "out"), m = be.f32(mean, "mean");
        if (m.size() != o.size()) throw new IllegalArgumentException("mean " + m.shape() + " must match out " + o.shape());
        be.prepare();
        if (o.size() == 0) return;
        if (lik.kind() == Likelihood.Kind.BERNOULLI) {
            be.args().clear().ptr(o.address()).ptr(m.address()).i64(o.size());
            be.launch(Kernels.SIGMOID, Kernels.blocks(Kernels.ceilDiv(o.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.SIGMOID)));
        } else if (o.address() != m.address()) {
            be.driver().copyDeviceToDevice(m.address(), o.address(), o.bytes(), be.stream());
        }
    }
}
