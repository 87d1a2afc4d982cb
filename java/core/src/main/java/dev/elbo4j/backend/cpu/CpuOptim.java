package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.AdamConfig;

/** CPU reference of {@code kernels/optim.cu}: Adam(W) over one flat parameter buffer. */
final class CpuOptim {
    private CpuOptim() {
    }

    static void adam(CpuTensor p, CpuTensor g, CpuTensor m, CpuTensor v, AdamConfig cfg, long step) {
        int n = p.size();
        if (g.size() != n || m.size() != n || v.size() != n) {
            throw new IllegalArgumentException("adam: param " + p.shape() + ", grad " + g.shape() + ", m " + m.shape()
                    + ", v " + v.shape() + " must have the same size");
        }
        if (step < 1) {
            throw new IllegalArgumentException("adam step counts from 1, got " + step);
        }
        double bc1 = 1 - Math.pow(cfg.beta1(), step);
        double bc2 = 1 - Math.pow(cfg.beta2(), step);
        // p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps): PyTorch's formulation, folded into constants.
        double stepSize = cfg.lr() / bc1;
        double invSqrtBc2 = 1 / Math.sqrt(bc2);
        double decay = 1 - cfg.lr() * cfg.weightDecay();
        if (p.isF64()) {
            for (int k = 0; k < n; k++) {
                double gk = g.d[g.off + k];
                double mk = cfg.beta1() * m.d[m.off + k] + (1 - cfg.beta1()) * gk;
                double vk = cfg.beta2() * v.d[v.off + k] + (1 - cfg.beta2()) * gk * gk;
                m.d[m.off + k] = mk;
                v.d[v.off + k] = vk;
                p.d[p.off + k] = p.d[p.off + k] * decay - stepSize * mk / (Math.sqrt(vk) * invSqrtBc2 + cfg.eps());
            }
            return;
        }
        float b1 = (float) cfg.beta1(), b2 = (float) cfg.beta2(), c1 = 1 - b1, c2 = 1 - b2;
        float ss = (float) stepSize, ib = (float) invSqrtBc2, eps = (float) cfg.eps(), dc = (float) decay;
        float[] pf = p.f, gf = g.f, mf = m.f, vf = v.f;
        int po = p.off, go = g.off, mo = m.off, vo = v.off;
        // Elements are independent: the split across threads does not change any result.
        F32Math math = F32Math.best();
        CpuParallel.rows(n, 1, (from, to) -> math.adam(pf, po, gf, go, mf, mo, vf, vo, from, to,
                b1, c1, b2, c2, ss, ib, eps, dc));
    }
}
