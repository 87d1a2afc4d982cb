package dev.elbo4j.backend.cpu;

/**
 * CPU reference of {@code kernels/iwae.cu}: the importance weights and loss of the IWAE bound, the
 * weighting of the decoder-output gradient (with the learned-variance column sums), and the
 * backward to the encoder's statistics. Semantics: {@code Backend.iwaeWeights},
 * {@code iwaeScaleRows}, {@code iwaeLatentBackward}. Every value is computed in double and rounded
 * once to the tensor's dtype; sums run over the sample index l (or the row r) in increasing order.
 */
final class CpuIwae {
    private CpuIwae() {
    }

    /** lw = -rowLoss + logRatio; loss[b] = -log mean_l exp(lw), weights = softmax over l of lw. */
    static void weights(CpuTensor rowLoss, CpuTensor logRatio, CpuTensor weights, CpuTensor loss) {
        int b = loss.size(), rows = rowLoss.size();
        if (b == 0 || rows == 0 || rows % b != 0 || logRatio.size() != rows || weights.size() != rows) {
            throw new IllegalArgumentException("iwaeWeights: rowLoss " + rowLoss.shape() + ", logRatio " + logRatio.shape()
                    + " and weights " + weights.shape() + " must have L*B elements for loss " + loss.shape());
        }
        int samples = rows / b;
        double logL = Math.log(samples);
        for (int i = 0; i < b; i++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < samples; l++) {
                int r = l * b + i;
                m = Math.max(m, logRatio.get(r) - rowLoss.get(r));
            }
            double s = 0;
            for (int l = 0; l < samples; l++) {
                int r = l * b + i;
                s += Math.exp(logRatio.get(r) - rowLoss.get(r) - m);
            }
            for (int l = 0; l < samples; l++) {
                int r = l * b + i;
                weights.set(r, Math.exp(logRatio.get(r) - rowLoss.get(r) - m) / s);
            }
            loss.set(i, -(m + Math.log(s) - logL));
        }
    }

    /** dOut[r, :] *= scale * weights[r]; for a learned Gaussian also the weighted dLogVar from dOut on entry. */
    static void scaleRows(CpuTensor weights, double scale, CpuTensor dOut, CpuTensor logVar, CpuTensor dLogVar) {
        int rows = dOut.rows(), d = dOut.cols();
        if (weights.size() != rows) {
            throw new IllegalArgumentException("iwaeScaleRows: weights " + weights.shape() + " need one element per row of dOut "
                    + dOut.shape());
        }
        if ((logVar == null) != (dLogVar == null) || (logVar != null && (logVar.size() != d || dLogVar.size() != d))) {
            throw new IllegalArgumentException("iwaeScaleRows: logVar and dLogVar must both be null or both have " + d
                    + " elements (dOut " + dOut.shape() + ")");
        }
        if (logVar != null) {
            double[] var = new double[d], acc = new double[d];
            for (int c = 0; c < d; c++) var[c] = Math.exp(logVar.get(c));
            for (int r = 0; r < rows; r++) {
                double w = weights.get(r);
                for (int c = 0; c < d; c++) {
                    double g = dOut.get(r * d + c);
                    acc[c] += w * (0.5 * (1 - g * g * var[c]));
                }
            }
            for (int c = 0; c < d; c++) dLogVar.set(c, scale * acc[c]);
        }
        for (int r = 0; r < rows; r++) {
            double f = scale * weights.get(r);
            for (int c = 0; c < d; c++) {
                int at = r * d + c;
                dOut.set(at, dOut.get(at) * f);
            }
        }
    }

    /** g = dz + scale w z; dStats = [sum_l g, exp(lv/2)/2 sum_l g eps - scale/2]. */
    static void latentBackward(CpuTensor stats, CpuTensor eps, CpuTensor z, CpuTensor dz, CpuTensor weights, double scale,
                               CpuTensor dStats) {
        int b = stats.rows(), zd = stats.cols() / 2;
        if (stats.cols() % 2 != 0 || b == 0 || zd == 0) {
            throw new IllegalArgumentException("iwaeLatentBackward: stats must be B x 2Z, got " + stats.shape());
        }
        int rows = dz.rows();
        if (rows == 0 || rows % b != 0 || dz.cols() != zd || eps.rows() != rows || eps.cols() != zd
                || z.rows() != rows || z.cols() != zd || weights.size() != rows) {
            throw new IllegalArgumentException("iwaeLatentBackward: stats " + stats.shape() + " needs eps, z, dz of (L*" + b + ") x "
                    + zd + " and weights of L*" + b + ", got eps " + eps.shape() + ", z " + z.shape() + ", dz " + dz.shape()
                    + ", weights " + weights.shape());
        }
        if (dStats.size() != stats.size()) {
            throw new IllegalArgumentException("iwaeLatentBackward: dStats " + dStats.shape() + " must match stats " + stats.shape());
        }
        int samples = rows / b;
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < zd; k++) {
                double lv = stats.get(i * 2 * zd + zd + k);
                double gmu = 0, glv = 0;
                for (int l = 0; l < samples; l++) {
                    int r = l * b + i, at = r * zd + k;
                    double g = dz.get(at) + scale * weights.get(r) * z.get(at);
                    gmu += g;
                    glv += g * eps.get(at);
                }
                dStats.set(i * 2 * zd + k, gmu);
                dStats.set(i * 2 * zd + zd + k, 0.5 * Math.exp(0.5 * lv) * glv - 0.5 * scale);
            }
        }
    }
}
