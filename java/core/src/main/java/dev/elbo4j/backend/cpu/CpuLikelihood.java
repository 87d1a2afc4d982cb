package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;

/**
 * CPU reference of {@code kernels/likelihood.cu}: the negative log-likelihood of each row and its
 * gradient with respect to the decoder output, in one pass (the gradient does not depend on the
 * reduced loss). Row sums run in index order in double.
 */
final class CpuLikelihood {
    static final double LOG_2PI = Math.log(2 * Math.PI);

    private CpuLikelihood() {
    }

    static void forwardBackward(Likelihood lik, CpuTensor out, CpuTensor x, CpuTensor logVar, double gradScale,
                                CpuTensor rowLoss, CpuTensor dOut, CpuTensor dLogVar) {
        int rows = out.rows(), d = out.cols(), b = x.rows();
        if (x.cols() != d || b == 0 || rows % b != 0) {
            throw new IllegalArgumentException("likelihood: out " + out.shape() + " must be (L*B) x D for x " + x.shape());
        }
        if (rowLoss.size() != rows || (dOut != null && dOut.size() != out.size())) {
            throw new IllegalArgumentException("likelihood: rowLoss " + rowLoss.shape() + " / dOut "
                    + (dOut == null ? "-" : dOut.shape()) + " do not fit out " + out.shape());
        }
        boolean learned = lik.learnsVariance();
        if (learned && (logVar == null || logVar.size() != d || (dOut != null && (dLogVar == null || dLogVar.size() != d)))) {
            throw new IllegalArgumentException("learned-variance Gaussian needs logVar and dLogVar of " + d + " elements");
        }
        switch (lik.kind()) {
            case BERNOULLI -> {
                if (!out.isF64() && !x.isF64() && (dOut == null || !dOut.isF64())) {
                    bernoulliF32(out, x, gradScale, rowLoss, dOut);
                } else {
                    bernoulliGeneric(out, x, gradScale, rowLoss, dOut);
                }
            }
            case GAUSSIAN_FIXED, GAUSSIAN_LEARNED -> gaussian(lik, out, x, logVar, gradScale, rowLoss, dOut, dLogVar);
        }
    }

    /** -log Bernoulli(x; sigmoid(l)) = softplus(l) - x l = max(l, 0) - x l + log1p(exp(-|l|)). */
    static double bernoulliNll(double l, double x) {
        return Math.max(l, 0) - x * l + Math.log1p(Math.exp(-Math.abs(l)));
    }

    private static void bernoulliF32(CpuTensor out, CpuTensor x, double gradScale, CpuTensor rowLoss, CpuTensor dOut) {
        int rows = out.rows(), d = out.cols(), b = x.rows();
        F32Math math = F32Math.best();
        float gs = (float) gradScale;
        CpuParallel.rows(rows, d, (from, to) -> {
            for (int r = from; r < to; r++) {
                double loss = math.bernoulliRow(out.f, out.off + r * d, x.f, x.off + (r % b) * d,
                        dOut == null ? null : dOut.f, dOut == null ? 0 : dOut.off + r * d, d, gs);
                rowLoss.set(r, loss);
            }
        });
    }

    private static void bernoulliGeneric(CpuTensor out, CpuTensor x, double gradScale, CpuTensor rowLoss, CpuTensor dOut) {
        int rows = out.rows(), d = out.cols(), b = x.rows();
        for (int r = 0; r < rows; r++) {
            int xr = r % b;
            double loss = 0;
            for (int c = 0; c < d; c++) {
                double l = out.get(r * d + c), xv = x.get(xr * d + c);
                loss += bernoulliNll(l, xv);
                if (dOut != null) dOut.set(r * d + c, gradScale * (Activation.sigmoid(l) - xv));
            }
            rowLoss.set(r, loss);
        }
    }

    /** -log N(x; mu, exp(lv)) = (log 2 pi + lv + (x - mu)^2 exp(-lv)) / 2 per element. */
    private static void gaussian(Likelihood lik, CpuTensor out, CpuTensor x, CpuTensor logVar, double gradScale,
                                 CpuTensor rowLoss, CpuTensor dOut, CpuTensor dLogVar) {
        int rows = out.rows(), d = out.cols(), b = x.rows();
        boolean learned = lik.learnsVariance();
        double fixedLv = learned ? 0 : lik.fixedLogVar();
        double[] lv = new double[d], prec = new double[d], dlv = new double[d];
        for (int c = 0; c < d; c++) {
            lv[c] = learned ? logVar.get(c) : fixedLv;
            prec[c] = Math.exp(-lv[c]);
        }
        for (int r = 0; r < rows; r++) {
            int xr = r % b;
            double loss = 0;
            for (int c = 0; c < d; c++) {
                double diff = out.get(r * d + c) - x.get(xr * d + c);
                double sq = diff * diff * prec[c];
                loss += 0.5 * (LOG_2PI + lv[c] + sq);
                if (dOut != null) dOut.set(r * d + c, gradScale * diff * prec[c]);
                dlv[c] += 0.5 * (1 - sq);
            }
            rowLoss.set(r, loss);
        }
        if (learned && dOut != null) {
            for (int c = 0; c < d; c++) dLogVar.set(c, gradScale * dlv[c]);
        }
    }

    static void mean(Likelihood lik, CpuTensor out, CpuTensor mean) {
        if (mean.size() != out.size()) {
            throw new IllegalArgumentException("mean " + mean.shape() + " must match out " + out.shape());
        }
        boolean sigmoid = lik.kind() == Likelihood.Kind.BERNOULLI;
        for (int k = 0; k < out.size(); k++) {
            double v = out.get(k);
            mean.set(k, sigmoid ? Activation.sigmoid(v) : v);
        }
    }
}
