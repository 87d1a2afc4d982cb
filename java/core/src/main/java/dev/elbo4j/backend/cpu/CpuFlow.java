package dev.elbo4j.backend.cpu;

import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;

/**
 * CPU reference of {@code kernels/flow.cu}: the K-step planar flow (Rezende and Mohamed 2015),
 * forward and backward, fused over the steps. Semantics: {@link dev.elbo4j.backend.Backend#planarForward}
 * and {@link dev.elbo4j.backend.Backend#planarBackward}.
 *
 * <p>Step k maps z to z + u_hat_k tanh(w_k . z + b_k), with u_hat_k = u_k + (m(w_k . u_k) - w_k . u_k)
 * w_k / |w_k|^2 and m(a) = -1 + softplus(a), so that w_k . u_hat_k = m(w_k . u_k) >= -1; its
 * log-determinant is log|1 + (1 - tanh^2(a)) m(w_k . u_k)|. The working vectors live in the output
 * tensors (zK during the forward, dz0 and the scratch during the backward), read and written with
 * the tensors' rounding, exactly as the kernels do; scalars are double. Every sum runs in index order.
 */
final class CpuFlow {
    private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

    private CpuFlow() {
    }

    /** Numerically stable log(1 + exp(a)). */
    static double softplus(double a) {
        return a > 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a));
    }

    /** The logistic function 1 / (1 + exp(-a)), m'(a). */
    static double sigmoid(double a) {
        return a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a));
    }

    /**
     * Per-step scalars of the flow's parameters: alpha = w.u, n = |w|^2, sp = softplus(alpha),
     * m = m(alpha) = sp - 1, beta = (m - alpha) / n.
     */
    private record Step(double alpha, double norm2, double sp, double m, double beta) {
        /** 1 + h' m written as tanh^2 + h' softplus(alpha): exact where m rounds to -1. */
        double det(double t, double hp) {
            return t * t + hp * sp;
        }
    }

    private static Step[] steps(CpuTensor u, CpuTensor w, int kSteps, int zd) {
        Step[] s = new Step[kSteps];
        for (int k = 0; k < kSteps; k++) {
            double alpha = 0, n = 0;
            for (int j = 0; j < zd; j++) {
                double wj = w.get(k * zd + j);
                alpha += wj * u.get(k * zd + j);
                n += wj * wj;
            }
            double sp = softplus(alpha), m = -1 + sp;
            s[k] = new Step(alpha, n, sp, m, (m - alpha) / n);
        }
        return s;
    }

    static void checkShapes(CpuTensor z0, CpuTensor u, CpuTensor w, CpuTensor b, CpuTensor zK) {
        int zd = z0.cols(), kSteps = b.size();
        if (z0.rows() == 0 || zd == 0) throw new IllegalArgumentException("z0 must be R x Z with R, Z >= 1, got " + z0.shape());
        if (kSteps == 0) throw new IllegalArgumentException("planar flow needs K >= 1 steps, b has " + b.shape());
        if (u.size() != kSteps * zd || u.cols() != zd) {
            throw new IllegalArgumentException("u must be K x Z = " + kSteps + " x " + zd + ", got " + u.shape());
        }
        if (w.size() != kSteps * zd || w.cols() != zd) {
            throw new IllegalArgumentException("w must be K x Z = " + kSteps + " x " + zd + ", got " + w.shape());
        }
        if (zK.rows() != z0.rows() || zK.cols() != zd) {
            throw new IllegalArgumentException("zK must match z0 " + z0.shape() + ", got " + zK.shape());
        }
        if (u.dtype() != z0.dtype() || w.dtype() != z0.dtype() || b.dtype() != z0.dtype() || zK.dtype() != z0.dtype()) {
            throw new IllegalArgumentException("planar flow tensors must share one dtype");
        }
    }

    static void forward(CpuTensor z0, CpuTensor u, CpuTensor w, CpuTensor b, CpuTensor zK, CpuTensor logDet,
                        CpuTensor kl, CpuTensor logRatio) {
        checkShapes(z0, u, w, b, zK);
        int rows = z0.rows(), zd = z0.cols(), kSteps = b.size();
        if (logDet.size() != rows) throw new IllegalArgumentException("logDet needs " + rows + " elements, has " + logDet.shape());
        if (kl != null && (kl.size() == 0 || rows % kl.size() != 0)) {
            throw new IllegalArgumentException("kl must have B elements with R = L*B = " + rows + ", has " + kl.shape());
        }
        if (logRatio != null && logRatio.size() != rows) {
            throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + logRatio.shape());
        }
        Step[] st = steps(u, w, kSteps, zd);
        double[] flowKl = new double[rows];
        for (int r = 0; r < rows; r++) {
            int row = r * zd;
            for (int j = 0; j < zd; j++) zK.set(row + j, z0.get(row + j));
            double ld = 0;
            for (int k = 0; k < kSteps; k++) {
                Step s = st[k];
                double a = b.get(k);
                for (int j = 0; j < zd; j++) a += w.get(k * zd + j) * zK.get(row + j);
                double t = Math.tanh(a);
                for (int j = 0; j < zd; j++) {
                    double uh = u.get(k * zd + j) + s.beta * w.get(k * zd + j);
                    zK.set(row + j, zK.get(row + j) + uh * t);
                }
                ld += Math.log(s.det(t, 1 - t * t));
            }
            logDet.set(r, ld);
            double sq = 0;
            for (int j = 0; j < zd; j++) {
                double a = zK.get(row + j), c = z0.get(row + j);
                sq += a * a - c * c;
            }
            double fk = 0.5 * sq - logDet.get(r);
            flowKl[r] = fk;
            if (logRatio != null) logRatio.set(r, logRatio.get(r) - fk);
        }
        if (kl != null) {
            int bb = kl.size(), samples = rows / bb;
            for (int i = 0; i < bb; i++) {
                double s = 0;
                for (int l = 0; l < samples; l++) s += flowKl[l * bb + i];
                kl.set(i, kl.get(i) + s / samples);
            }
        }
    }

    /** Elements of one row's scratch: K blocks of [t g (Z), ga z_k (Z), ga, c h'/denominator]. */
    static int scratchPerRow(int kSteps, int zd) {
        return kSteps * (2 * zd + 2);
    }

    static void backward(CpuTensor z0, CpuTensor u, CpuTensor w, CpuTensor b, CpuTensor dzK, double weight,
                         CpuTensor dz0, CpuTensor dU, CpuTensor dW, CpuTensor dB, CpuTensor scratch) {
        checkShapes(z0, u, w, b, dzK);
        checkShapes(z0, u, w, b, dz0);
        int rows = z0.rows(), zd = z0.cols(), kSteps = b.size(), per = scratchPerRow(kSteps, zd), blk = 2 * zd + 2;
        if (dU.size() != u.size() || dW.size() != w.size() || dB.size() != b.size()) {
            throw new IllegalArgumentException("dU, dW, dB must match u " + u.shape() + ", w " + w.shape() + ", b " + b.shape());
        }
        if (scratch.size() < (long) rows * per) {
            throw new IllegalArgumentException("scratch needs R x K(2Z+2) = " + rows + " x " + per + " elements, has " + scratch.shape());
        }
        Step[] st = steps(u, w, kSteps, zd);
        for (int r = 0; r < rows; r++) {
            int row = r * zd, sc = r * per;
            // Forward again, z in dz0's row; z_k to the scratch slot [Z, 2Z), tanh(a_k) to slot 2Z.
            for (int j = 0; j < zd; j++) dz0.set(row + j, z0.get(row + j));
            for (int k = 0; k < kSteps; k++) {
                int at = sc + k * blk;
                double a = b.get(k);
                for (int j = 0; j < zd; j++) {
                    double zj = dz0.get(row + j);
                    scratch.set(at + zd + j, zj);
                    a += w.get(k * zd + j) * zj;
                }
                double t = Math.tanh(a);
                scratch.set(at + 2 * zd, t);
                for (int j = 0; j < zd; j++) {
                    double uh = u.get(k * zd + j) + st[k].beta * w.get(k * zd + j);
                    dz0.set(row + j, dz0.get(row + j) + uh * t);
                }
            }
            // g = dL/dzK = dzK + weight zK, then back through the steps.
            for (int j = 0; j < zd; j++) dz0.set(row + j, dzK.get(row + j) + weight * dz0.get(row + j));
            for (int k = kSteps - 1; k >= 0; k--) {
                int at = sc + k * blk;
                Step s = st[k];
                double t = scratch.get(at + 2 * zd), hp = 1 - t * t, hpp = -2 * t * hp;
                double denom = s.det(t, hp);
                double ga = 0;
                for (int j = 0; j < zd; j++) {
                    double uh = u.get(k * zd + j) + s.beta * w.get(k * zd + j);
                    ga += dz0.get(row + j) * uh;
                }
                // dz_{k+1}/da = u_hat h'(a); the log-det enters the loss with -weight
                ga = hp * ga - weight * hpp * s.m / denom;
                for (int j = 0; j < zd; j++) {
                    scratch.set(at + zd + j, ga * scratch.get(at + zd + j));
                    scratch.set(at + j, t * dz0.get(row + j));
                }
                scratch.set(at + 2 * zd, ga);
                scratch.set(at + 2 * zd + 1, -weight * hp / denom);
                for (int j = 0; j < zd; j++) dz0.set(row + j, dz0.get(row + j) + ga * w.get(k * zd + j));
            }
            for (int j = 0; j < zd; j++) dz0.set(row + j, dz0.get(row + j) - weight * z0.get(row + j));
        }
        reduce(u, w, st, scratch, rows, zd, kSteps, dU, dW, dB);
    }

    /**
     * Sums the scratch over rows (in row order) into the gradients of u_hat, w (direct), b and m, and
     * applies the chain rule of u_hat = u + beta(u, w) w and m = m(w.u) to write dU, dW, dB.
     */
    private static void reduce(CpuTensor u, CpuTensor w, Step[] st, CpuTensor scratch, int rows, int zd, int kSteps,
                               CpuTensor dU, CpuTensor dW, CpuTensor dB) {
        int per = scratchPerRow(kSteps, zd), blk = 2 * zd + 2;
        double[] sum = new double[blk];
        for (int k = 0; k < kSteps; k++) {
            java.util.Arrays.fill(sum, 0);
            for (int r = 0; r < rows; r++) {
                int at = r * per + k * blk;
                for (int e = 0; e < blk; e++) sum[e] += scratch.get(at + e);
            }
            Step s = st[k];
            double gm = sum[2 * zd + 1];
            double dBetaDAlpha = (sigmoid(s.alpha) - 1) / s.norm2;
            double dBetaDNorm = -(s.m - s.alpha) / (s.norm2 * s.norm2);
            double mp = sigmoid(s.alpha);
            double sw = 0;
            for (int j = 0; j < zd; j++) sw += sum[j] * w.get(k * zd + j);
            for (int j = 0; j < zd; j++) {
                double wj = w.get(k * zd + j), uj = u.get(k * zd + j), gu = sum[j];
                dU.set(k * zd + j, gu + (sw * dBetaDAlpha + gm * mp) * wj);
                dW.set(k * zd + j, sum[zd + j] + s.beta * gu + sw * (dBetaDAlpha * uj + dBetaDNorm * 2 * wj) + gm * mp * uj);
            }
            dB.set(k, sum[2 * zd]);
        }
    }

    static void niceSplit(CpuTensor x, RngKey key, CpuTensor a, CpuTensor b) {
        int n = x.rows(), d = x.cols(), ca = (d + 1) / 2, cb = d / 2;
        if (a.rows() != n || a.cols() != ca || b.rows() != n || b.cols() != cb || (cb == 0 && b.size() != 0)) {
            throw new IllegalArgumentException("niceSplit of x " + x.shape() + " needs a " + n + " x " + ca + " and b " + n + " x " + cb
                    + ", got a " + a.shape() + ", b " + b.shape());
        }
        float[] u = new float[d];
        for (int r = 0; r < n; r++) {
            if (key != null) Philox.uniforms(key, (long) r * d, u, 0, d);
            for (int c = 0; c < d; c++) {
                double v = x.get(r * d + c);
                if (key != null) v = (Math.rint(255 * v) + (double) u[c]) / 256;
                if (c % 2 == 0) a.set(r * ca + c / 2, v);
                else b.set(r * cb + c / 2, v);
            }
        }
    }

    static void niceAdd(CpuTensor y, CpuTensor shift, double sign) {
        if (y.size() != shift.size()) throw new IllegalArgumentException("niceAdd: y " + y.shape() + " and shift " + shift.shape() + " differ in size");
        for (int i = 0; i < y.size(); i++) y.set(i, y.get(i) + sign * shift.get(i));
    }

    /** log p_H(z): standard logistic or standard normal. */
    static double logPrior(double z, boolean logistic) {
        return logistic ? -softplus(z) - softplus(-z) : -0.5 * z * z - HALF_LOG_2PI;
    }

    /** d log p_H / dz. */
    static double dLogPrior(double z, boolean logistic) {
        return logistic ? -Math.tanh(0.5 * z) : -z;
    }

    static void nicePrior(CpuTensor h, CpuTensor s, boolean logistic, boolean accumulate, double gradScale,
                          CpuTensor rowLogP, CpuTensor dh, CpuTensor ds) {
        int n = h.rows(), c = h.cols();
        if (s.size() != c) throw new IllegalArgumentException("nicePrior: s needs " + c + " elements for h " + h.shape() + ", has " + s.shape());
        if (rowLogP.size() != n) throw new IllegalArgumentException("nicePrior: rowLogP needs " + n + " elements, has " + rowLogP.shape());
        if (dh != null && (dh.size() != h.size() || ds == null || ds.size() != c)) {
            throw new IllegalArgumentException("nicePrior: dh must match h " + h.shape() + " and ds have " + c + " elements");
        }
        for (int r = 0; r < n; r++) {
            double lp = 0;
            for (int j = 0; j < c; j++) {
                double sj = s.get(j), e = Math.exp(sj), z = e * h.get(r * c + j);
                lp += logPrior(z, logistic) + sj;
                if (dh != null) dh.set(r * c + j, -gradScale * e * dLogPrior(z, logistic));
            }
            rowLogP.set(r, accumulate ? rowLogP.get(r) + lp : lp);
        }
        if (dh != null) {
            for (int j = 0; j < c; j++) {
                double e = Math.exp(s.get(j)), g = 0;
                for (int r = 0; r < n; r++) {
                    double z = e * h.get(r * c + j);
                    g += dLogPrior(z, logistic) * z + 1;
                }
                ds.set(j, -gradScale * g);
            }
        }
    }

    static void nicePriorSample(RngKey key, CpuTensor s, boolean logistic, CpuTensor h) {
        int n = h.rows(), c = h.cols();
        if (s.size() != c) throw new IllegalArgumentException("nicePriorSample: s needs " + c + " elements for h " + h.shape() + ", has " + s.shape());
        int total = n * c;
        float[] z = new float[total];
        if (logistic) {
            int[] w = new int[4];
            for (int i = 0; i < total; i += 4) {
                Philox.block(key, i >>> 2, w);
                for (int lane = 0; lane < 4 && i + lane < total; lane++) {
                    double v = (double) Philox.uniform(w[lane]) + 0x1p-25;
                    z[i + lane] = (float) (Math.log(v) - Math.log1p(-v));
                }
            }
        } else {
            Philox.normals(key, 0, z, 0, total);
        }
        for (int i = 0; i < total; i++) h.set(i, (double) z[i] * Math.exp(-s.get(i % c)));
    }
}
