package dev.elbo4j.backend.cpu;

import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;

/**
 * CPU reference of {@code kernels/latent.cu}: reparameterised sampling, the closed-form KL
 * against N(0, I), the log importance ratio, and their backward. Sums over the latent dimension
 * run in index order in double.
 */
final class CpuLatent {
    private CpuLatent() {
    }

    static void forward(CpuTensor stats, RngKey key, CpuTensor eps, CpuTensor z, CpuTensor kl, CpuTensor logRatio) {
        int b = stats.rows(), zd = stats.cols() / 2;
        checkShapes(stats, eps, z);
        int rows = z.rows();
        if (kl != null && kl.size() != b) {
            throw new IllegalArgumentException("kl needs " + b + " elements, has " + kl.shape());
        }
        if (logRatio != null && logRatio.size() != rows) {
            throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + logRatio.shape());
        }
        // eps: normals of the key, element (l*B + b)*Z + k, i.e. exactly the row-major order of eps.
        normal(key, eps);
        for (int r = 0; r < rows; r++) {
            int src = r % b;
            double lr = 0;
            for (int k = 0; k < zd; k++) {
                double mu = stats.get(src * 2 * zd + k);
                double lv = stats.get(src * 2 * zd + zd + k);
                double e = eps.get(r * zd + k);
                double zz = mu + Math.exp(0.5 * lv) * e;
                if (z.isF64()) {
                    z.d[z.off + r * zd + k] = zz;
                } else {
                    z.f[z.off + r * zd + k] = (float) zz;
                    zz = z.f[z.off + r * zd + k];
                }
                lr += zz * zz - e * e - lv;
            }
            if (logRatio != null) logRatio.set(r, -0.5 * lr);
        }
        if (kl != null) {
            for (int i = 0; i < b; i++) {
                double s = 0;
                for (int k = 0; k < zd; k++) {
                    double mu = stats.get(i * 2 * zd + k);
                    double lv = stats.get(i * 2 * zd + zd + k);
                    s += 1 + lv - mu * mu - Math.exp(lv);
                }
                kl.set(i, -0.5 * s);
            }
        }
    }

    static void backward(CpuTensor stats, CpuTensor eps, CpuTensor dz, double klWeight, CpuTensor dStats) {
        int b = stats.rows(), zd = stats.cols() / 2;
        checkShapes(stats, eps, dz);
        if (dStats.size() != stats.size()) {
            throw new IllegalArgumentException("dStats " + dStats.shape() + " must match stats " + stats.shape());
        }
        int samples = dz.rows() / b;
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < zd; k++) {
                double mu = stats.get(i * 2 * zd + k);
                double lv = stats.get(i * 2 * zd + zd + k);
                double sd = Math.exp(0.5 * lv);
                double gmu = 0, glv = 0;
                for (int l = 0; l < samples; l++) {
                    int at = (l * b + i) * zd + k;
                    double g = dz.get(at);
                    gmu += g;
                    glv += g * eps.get(at);
                }
                dStats.set(i * 2 * zd + k, gmu + klWeight * mu);
                dStats.set(i * 2 * zd + zd + k, 0.5 * sd * glv + klWeight * 0.5 * (Math.exp(lv) - 1));
            }
        }
    }

    /** Normals of {@code key} into z, element j = j-th normal; split across threads (each element is independent). */
    static void normal(RngKey key, CpuTensor z) {
        // About 30 ns per normal (Box-Muller in double): worth splitting from a few thousand on.
        CpuParallel.rows(z.size(), 16, (from, to) -> {
            if (z.isF64()) {
                Philox.normals(key, from, z.d, z.off + from, to - from);
            } else {
                Philox.normals(key, from, z.f, z.off + from, to - from);
            }
        });
    }

    private static void checkShapes(CpuTensor stats, CpuTensor eps, CpuTensor z) {
        int b = stats.rows(), zd = stats.cols() / 2;
        if (stats.cols() % 2 != 0 || b == 0) {
            throw new IllegalArgumentException("stats must be B x 2Z, got " + stats.shape());
        }
        if (z.cols() != zd || eps.cols() != zd || z.rows() != eps.rows() || z.rows() % b != 0 || z.rows() == 0) {
            throw new IllegalArgumentException("latent shapes: stats " + stats.shape() + " needs eps and z of (L*" + b
                    + ") x " + zd + ", got eps " + eps.shape() + ", z " + z.shape());
        }
    }
}
