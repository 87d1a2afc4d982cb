package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Corruption;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;

/**
 * CPU reference of {@code kernels/autoencoder.cu}: input corruption of denoising autoencoders and
 * the KL sparsity penalty of sparse autoencoders (forward and backward). Arithmetic in double,
 * rounded once to the output's dtype; sums over the batch run in row order.
 */
final class CpuAutoencoder {
    private CpuAutoencoder() {
    }

    /** See {@link dev.elbo4j.backend.Backend#corrupt}. */
    static void corrupt(Corruption kind, double level, RngKey key, CpuTensor x, CpuTensor out) {
        if (x.size() != out.size() || x.rows() != out.rows()) {
            throw new IllegalArgumentException("corrupt: out " + out.shape() + " must match x " + x.shape());
        }
        kind.checkLevel(level);
        int n = x.size();
        switch (kind) {
            case NONE -> {
                for (int j = 0; j < n; j++) out.set(j, x.get(j));
            }
            case GAUSSIAN -> {
                // Normals are element j = r*D + d of the key, rounded to float (Philox.normals) on both paths.
                CpuParallel.rows(n, 16, (from, to) -> {
                    double[] eps = new double[to - from];
                    Philox.normals(key, from, eps, 0, to - from);
                    for (int j = from; j < to; j++) out.set(j, x.get(j) + level * eps[j - from]);
                });
            }
            case MASK -> CpuParallel.rows(n, 4, (from, to) -> {
                float[] u = new float[to - from];
                Philox.uniforms(key, from, u, 0, to - from);
                for (int j = from; j < to; j++) out.set(j, u[j - from] < level ? 0.0 : x.get(j));
            });
        }
    }

    /** KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q)), in double. */
    static double bernoulliKl(double rho, double q) {
        return rho * Math.log(rho / q) + (1 - rho) * Math.log((1 - rho) / (1 - q));
    }

    /** See {@link dev.elbo4j.backend.Backend#sparsityForward}. */
    static void sparsityForward(CpuTensor code, double rho, CpuTensor rhoHat, CpuTensor kl) {
        int b = code.rows(), z = code.cols();
        checkRho(rho);
        if (b == 0 || rhoHat.size() != z || kl.size() != z) {
            throw new IllegalArgumentException("sparsity: code " + code.shape() + " needs rhoHat and kl of " + z
                    + " elements, got " + rhoHat.shape() + ", " + kl.shape());
        }
        for (int k = 0; k < z; k++) {
            double s = 0;
            for (int r = 0; r < b; r++) s += code.get(r * z + k);
            double q = s / b;
            rhoHat.set(k, q);
            kl.set(k, bernoulliKl(rho, q));
        }
    }

    /** See {@link dev.elbo4j.backend.Backend#sparsityBackward}. */
    static void sparsityBackward(CpuTensor rhoHat, double rho, double scale, CpuTensor dCode) {
        int z = dCode.cols(), b = dCode.rows();
        checkRho(rho);
        if (rhoHat.size() != z) {
            throw new IllegalArgumentException("sparsity backward: rhoHat " + rhoHat.shape() + " must have " + z
                    + " elements for dCode " + dCode.shape());
        }
        double[] g = new double[z];
        for (int k = 0; k < z; k++) {
            double q = rhoHat.get(k);
            g[k] = scale * ((1 - rho) / (1 - q) - rho / q);
        }
        for (int r = 0; r < b; r++) {
            for (int k = 0; k < z; k++) dCode.set(r * z + k, dCode.get(r * z + k) + g[k]);
        }
    }

    static void checkRho(double rho) {
        if (!(rho > 0 && rho < 1)) throw new IllegalArgumentException("sparsity target rho must be in (0, 1), got " + rho);
    }
}
