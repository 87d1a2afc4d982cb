package dev.elbo4j.backend.cpu;

/**
 * CPU reference of {@code kernels/fvbm.cu}: one exact maximum-likelihood step of a fully visible
 * Boltzmann machine, every state enumerated in double. Semantics: {@link dev.elbo4j.backend.Backend#fvbmStep}.
 * log Z and the moments are sums in state order (the kernel's are strided per thread then a fixed
 * tree, so the two agree to rounding); the states' log-probabilities, the gradient and the rows'
 * loss are the kernel's operations in the kernel's order.
 */
final class CpuFvbm {
    /** The largest d (2^20 states). */
    static final int MAX_DIM = 20;

    private CpuFvbm() {
    }

    /** The scratch elements {@link dev.elbo4j.backend.Backend#fvbmStep} needs for d units. */
    static long scratchSize(int d) {
        return (1L << d) + (long) d * d + 1;
    }

    static void step(CpuTensor x, CpuTensor bias, CpuTensor weight, CpuTensor scratch, CpuTensor rowLoss, CpuTensor dBias,
                     CpuTensor dWeight) {
        int rows = x.rows(), d = x.cols();
        check(x, bias, weight, scratch, rowLoss, dBias, dWeight);
        double[] s = new double[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) if (i != j) s[i * d + j] = (weight.get(i * d + j) + weight.get(j * d + i)) / 2;
        }
        double[] b = new double[d];
        for (int i = 0; i < d; i++) b[i] = bias.get(i);
        int states = 1 << d;
        double[] lu = new double[states];
        double max = Double.NEGATIVE_INFINITY;
        for (int st = 0; st < states; st++) {
            double e = 0;
            for (int i = 0; i < d; i++) {
                if ((st >> i & 1) == 0) continue;
                e += b[i];
                for (int j = i + 1; j < d; j++) if ((st >> j & 1) != 0) e += s[i * d + j];
            }
            lu[st] = e;
            max = Math.max(max, e);
        }
        double z = 0;
        for (double l : lu) z += Math.exp(l - max);
        double logZ = max + Math.log(z);
        double[] second = new double[d * d];
        int[] on = new int[d];
        for (int st = 0; st < states; st++) {
            double p = Math.exp(lu[st] - logZ);
            int k = 0;
            for (int i = 0; i < d; i++) if ((st >> i & 1) != 0) on[k++] = i;
            for (int a = 0; a < k; a++) for (int c = 0; c < k; c++) second[on[a] * d + on[c]] += p;
        }
        for (int st = 0; st < states; st++) scratch.set(st, lu[st]);
        for (int k = 0; k < d * d; k++) scratch.set(states + k, second[k]);
        scratch.set(states + d * d, logZ);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                if (i == j) {
                    double g = second[i * d + i];
                    for (int r = 0; r < rows; r++) g -= x.get(r * d + i) / rows;
                    dBias.set(i, g);
                    dWeight.set(i * d + i, 0);
                } else {
                    double g = second[i * d + j] / 2;
                    for (int r = 0; r < rows; r++) {
                        double xi = x.get(r * d + i);
                        if (xi == 0) continue;
                        g -= xi * x.get(r * d + j) / (2.0 * rows);
                    }
                    dWeight.set(i * d + j, g);
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            double e = 0;
            for (int i = 0; i < d; i++) {
                double xi = x.get(r * d + i);
                e += b[i] * xi;
                for (int j = i + 1; j < d; j++) e += s[i * d + j] * xi * x.get(r * d + j);
            }
            rowLoss.set(r, -(e - logZ));
        }
    }

    private static void check(CpuTensor x, CpuTensor bias, CpuTensor weight, CpuTensor scratch, CpuTensor rowLoss,
                              CpuTensor dBias, CpuTensor dWeight) {
        int rows = x.rows(), d = x.cols();
        if (d < 1 || d > MAX_DIM) throw new IllegalArgumentException("fvbmStep: x " + x.shape() + " must have 1.." + MAX_DIM + " columns");
        if (bias.size() != d || weight.size() != (long) d * d || rowLoss.size() != rows || dBias.size() != d
                || dWeight.size() != (long) d * d || scratch.size() != scratchSize(d)) {
            throw new IllegalArgumentException("fvbmStep: x " + x.shape() + ", bias " + bias.shape() + ", weight " + weight.shape()
                    + ", scratch " + scratch.shape() + ", rowLoss " + rowLoss.shape() + ", dBias " + dBias.shape() + ", dWeight "
                    + dWeight.shape() + " do not fit (R x d, d, d x d, 2^d + d*d + 1, R, d, d x d)");
        }
        if (!scratch.isF64()) throw new IllegalArgumentException("fvbmStep: scratch must be F64, got " + scratch.dtype());
    }
}
