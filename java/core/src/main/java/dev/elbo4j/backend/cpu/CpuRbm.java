package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;

/**
 * CPU reference of {@code kernels/rbm.cu}: the fused Gibbs half-sweep (logit, sigmoid, Bernoulli
 * draw) and the free energy of a binary RBM. Semantics: {@link dev.elbo4j.backend.Backend#rbmGibbsHalf}
 * and {@link dev.elbo4j.backend.Backend#rbmFreeEnergy}. Scalars are computed in double and rounded
 * once to the tensor's type; row sums run in index order in double.
 */
final class CpuRbm {
    private CpuRbm() {
    }

    static void gibbsHalf(CpuTensor act, CpuTensor bias, double beta, CpuTensor base, RngKey key, CpuTensor prob,
                          CpuTensor sample) {
        int rows = act.rows(), cols = act.cols();
        if (bias.size() != cols || (base != null && base.size() != cols)) {
            throw new IllegalArgumentException("rbmGibbsHalf: bias " + bias.shape() + (base == null ? "" : " / base " + base.shape())
                    + " must have " + cols + " elements for act " + act.shape());
        }
        if ((prob != null && prob.size() != act.size()) || (sample != null && sample.size() != act.size())) {
            throw new IllegalArgumentException("rbmGibbsHalf: prob / sample must match act " + act.shape());
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmGibbsHalf: beta must be finite, got " + beta);
        if (sample != null && key == null) throw new IllegalArgumentException("rbmGibbsHalf: a sample needs a key");
        double oneMinus = 1 - beta;
        double[] bb = new double[cols], ba = new double[cols];
        for (int c = 0; c < cols; c++) {
            bb[c] = bias.get(c);
            ba[c] = base == null ? 0 : base.get(c);
        }
        // Rows in parallel: every element's value and draw depend on its index alone, so the split does
        // not change a bit.
        CpuParallel.rows(rows, 8 * cols, (from, to) -> {
            int[] w = new int[4];
            int first = from * cols;
            for (int j = first; j < to * cols; j++) {
                int c = j % cols;
                double a = beta * (act.get(j) + bb[c]) + oneMinus * ba[c];
                act.set(j, a);
                double p = Activation.sigmoid(act.get(j));
                // p rounded to the tensor's type is what the draw compares with (as the kernel does).
                double pr = act.isF64() ? p : (float) p;
                if (prob != null) prob.set(j, pr);
                if (sample != null) {
                    if ((j & 3) == 0 || j == first) Philox.block(key, j >>> 2, w);
                    sample.set(j, Philox.uniform(w[j & 3]) < pr ? 1 : 0);
                }
            }
        });
    }

    /** softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), in double. */
    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    static void freeEnergy(CpuTensor v, CpuTensor hAct, CpuTensor visBias, CpuTensor hidBias, double beta, CpuTensor base,
                           CpuTensor out) {
        int rows = v.rows(), vis = v.cols(), hid = hAct.cols();
        if (hAct.rows() != rows || visBias.size() != vis || hidBias.size() != hid || (base != null && base.size() != vis)
                || out.size() != rows) {
            throw new IllegalArgumentException("rbmFreeEnergy: v " + v.shape() + ", hAct " + hAct.shape() + ", visBias "
                    + visBias.shape() + ", hidBias " + hidBias.shape() + (base == null ? "" : ", base " + base.shape())
                    + ", out " + out.shape() + " do not fit (R x V, R x H, V, H, V, R)");
        }
        if (!Double.isFinite(beta)) throw new IllegalArgumentException("rbmFreeEnergy: beta must be finite, got " + beta);
        double oneMinus = 1 - beta;
        double[] vb = new double[vis], hb = new double[hid];
        for (int i = 0; i < vis; i++) vb[i] = beta * visBias.get(i) + oneMinus * (base == null ? 0 : base.get(i));
        for (int j = 0; j < hid; j++) hb[j] = hidBias.get(j);
        CpuParallel.rows(rows, 8 * (vis + hid), (from, to) -> {
            for (int r = from; r < to; r++) {
                double s = 0;
                for (int i = 0; i < vis; i++) s -= vb[i] * v.get(r * vis + i);
                for (int j = 0; j < hid; j++) s -= softplus(beta * (hAct.get(r * hid + j) + hb[j]));
                out.set(r, s);
            }
        });
    }
}
