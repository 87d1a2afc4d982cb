package dev.elbo4j.backend.cpu;

/**
 * CPU reference of {@code kernels/classify.cu}: the softmax cross-entropy, the unlabelled bound of
 * the semi-supervised VAE M2, the per-row scaling of gradients and the latent backward with a KL
 * weight per row (semantics: the javadoc of {@link dev.elbo4j.backend.Backend}). Every value is
 * computed in double in index order and rounded once to the output's dtype.
 */
final class CpuClassify {
    private CpuClassify() {
    }

    /** log sum_c exp(logits[b, c]), the row maximum subtracted first. */
    private static double logSumExp(CpuTensor logits, int b, int c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) max = Math.max(max, logits.get(b * c + j));
        double s = 0;
        for (int j = 0; j < c; j++) s += Math.exp(logits.get(b * c + j) - max);
        return max + Math.log(s);
    }

    static void softmaxCrossEntropy(CpuTensor logits, CpuTensor target, double gradScale, CpuTensor loss, CpuTensor dLogits) {
        int b = logits.rows(), c = logits.cols();
        if (logits.shape().rank() != 2 || b == 0 || c == 0 || !target.shape().equals(logits.shape()) || loss.size() != b
                || (dLogits != null && !dLogits.shape().equals(logits.shape()))) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits " + logits.shape() + " needs target of the same shape, loss of "
                    + b + (dLogits == null ? "" : " and dLogits of the same shape") + ", got target " + target.shape()
                    + ", loss " + loss.shape() + (dLogits == null ? "" : ", dLogits " + dLogits.shape()));
        }
        for (int i = 0; i < b; i++) {
            double lse = logSumExp(logits, i, c);
            double l = 0, mass = 0;
            for (int j = 0; j < c; j++) {
                double t = target.get(i * c + j);
                l += t * (lse - logits.get(i * c + j));
                mass += t;
            }
            loss.set(i, l);
            if (dLogits != null) {
                for (int j = 0; j < c; j++) {
                    double q = Math.exp(logits.get(i * c + j) - lse);
                    dLogits.set(i * c + j, gradScale * (q * mass - target.get(i * c + j)));
                }
            }
        }
    }

    static void unlabelledBound(CpuTensor logits, CpuTensor rec, CpuTensor kl, double klWeight, double offset, double gradScale,
                                CpuTensor u, CpuTensor weights, CpuTensor dLogits) {
        int b = logits.rows(), c = logits.cols(), n = b * c;
        if (logits.shape().rank() != 2 || b == 0 || c == 0 || rec.size() != n || kl.size() != n || u.size() != b
                || weights.size() != n || (dLogits != null && !dLogits.shape().equals(logits.shape()))) {
            throw new IllegalArgumentException("unlabelledBound: logits " + logits.shape() + " needs rec, kl and weights of " + n
                    + " elements and u of " + b + ", got rec " + rec.shape() + ", kl " + kl.shape() + ", weights "
                    + weights.shape() + ", u " + u.shape() + (dLogits == null ? "" : ", dLogits " + dLogits.shape()));
        }
        for (int i = 0; i < b; i++) {
            double lse = logSumExp(logits, i, c);
            double s = 0;
            for (int j = 0; j < c; j++) {
                double logQ = logits.get(i * c + j) - lse;
                double l = rec.get(j * b + i) + klWeight * kl.get(j * b + i) + offset;
                s += Math.exp(logQ) * (l + logQ);
            }
            u.set(i, s);
            for (int j = 0; j < c; j++) {
                double logQ = logits.get(i * c + j) - lse;
                double q = Math.exp(logQ);
                weights.set(j * b + i, q);
                if (dLogits != null) {
                    double l = rec.get(j * b + i) + klWeight * kl.get(j * b + i) + offset;
                    dLogits.set(i * c + j, gradScale * q * (l + logQ - s));
                }
            }
        }
    }

    static void scaleRows(CpuTensor x, CpuTensor w, double scale) {
        int r = x.rows(), n = x.cols();
        if (x.shape().rank() != 2 || w.size() != r) {
            throw new IllegalArgumentException("scaleRows: x " + x.shape() + " needs one weight per row, got w " + w.shape());
        }
        for (int i = 0; i < r; i++) {
            double f = scale * w.get(i);
            if (x.isF64()) {
                for (int j = x.off + i * n, end = j + n; j < end; j++) x.d[j] *= f;
            } else {
                for (int j = x.off + i * n, end = j + n; j < end; j++) x.f[j] = (float) (x.f[j] * f);
            }
        }
    }

    static void latentBackwardRows(CpuTensor stats, CpuTensor eps, CpuTensor dz, CpuTensor klWeights, double klScale,
                                   CpuTensor dStats) {
        int r = stats.rows(), zd = stats.cols() / 2;
        if (stats.shape().rank() != 2 || stats.cols() % 2 != 0 || r == 0 || zd == 0 || eps.rows() != r || eps.cols() != zd
                || !dz.shape().equals(eps.shape()) || klWeights.size() != r || !dStats.shape().equals(stats.shape())) {
            throw new IllegalArgumentException("latentBackwardRows: stats " + stats.shape() + " (R x 2Z) needs eps and dz of R x Z, "
                    + "klWeights of R and dStats of R x 2Z, got eps " + eps.shape() + ", dz " + dz.shape() + ", klWeights "
                    + klWeights.shape() + ", dStats " + dStats.shape());
        }
        for (int i = 0; i < r; i++) {
            double a = klScale * klWeights.get(i);
            for (int k = 0; k < zd; k++) {
                double mu = stats.get(i * 2 * zd + k);
                double lv = stats.get(i * 2 * zd + zd + k);
                double sd = Math.exp(0.5 * lv);
                double g = dz.get(i * zd + k);
                dStats.set(i * 2 * zd + k, g + a * mu);
                dStats.set(i * 2 * zd + zd + k, 0.5 * sd * (g * eps.get(i * zd + k)) + a * 0.5 * (Math.exp(lv) - 1));
            }
        }
    }
}
