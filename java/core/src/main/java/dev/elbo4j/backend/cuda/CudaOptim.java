package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Tensor;

/**
 * The launcher of {@code kernels/optim.cu}'s Adam: the CUDA side of {@link Backend#adam} (semantics
 * in its javadoc; CPU reference {@code CpuOptim}). It checks its arguments on the host before it
 * enqueues anything. The guarded Adam of the device-resident step is {@link StepGuard}'s.
 */
final class CudaOptim {
    private CudaOptim() {
    }

    static void adam(CudaBackend be, Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, long step) {
        DeviceTensor p = be.f32(param, "param"), g = be.f32(grad, "grad"), mm = be.f32(m, "m"), vv = be.f32(v, "v");
        int n = p.size();
        if (g.size() != n || mm.size() != n || vv.size() != n) {
            throw new IllegalArgumentException("adam: param " + p.shape() + ", grad " + g.shape() + ", m " + mm.shape()
                    + ", v " + vv.shape() + " must have the same size");
        }
        if (step < 1) throw new IllegalArgumentException("adam step counts from 1, got " + step);
        be.prepare();
        if (n == 0) return;
        // The constants exactly as CpuOptim folds them (double, then rounded to float).
        double bc1 = 1 - Math.pow(cfg.beta1(), step);
        double bc2 = 1 - Math.pow(cfg.beta2(), step);
        float b1 = (float) cfg.beta1(), b2 = (float) cfg.beta2();
        be.args().clear().ptr(p.address()).ptr(g.address()).ptr(mm.address()).ptr(vv.address()).i64(n)
                .f32(b1).f32(b2).f32(1 - b1).f32(1 - b2).f32((float) cfg.eps()).f32((float) (1 - cfg.lr() * cfg.weightDecay()))
                .f32((float) (cfg.lr() / bc1)).f32((float) (1 / Math.sqrt(bc2)))
                .ptr(be.adamStep() == null ? 0 : be.adamStep().address()).f64(cfg.lr()).f64(cfg.beta1()).f64(cfg.beta2());
        be.launch(Kernels.ADAM, Kernels.blocks(Kernels.ceilDiv(n, 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.ADAM)));
    }
}
