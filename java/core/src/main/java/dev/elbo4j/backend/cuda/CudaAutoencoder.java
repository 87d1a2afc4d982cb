package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/autoencoder.cu} (denoising and sparse autoencoders): the CUDA side
 * of those {@link Backend} ops (semantics in its javadoc; CPU reference {@code CpuAutoencoder}). Each
 * checks its arguments on the host before it enqueues anything.
 */
final class CudaAutoencoder {
    private CudaAutoencoder() {
    }

    /** {@link Backend#corrupt} with {@code elbo4j_corrupt_f32}: one thread per Philox block of four elements. */
    static void corrupt(CudaBackend be, dev.elbo4j.backend.Corruption kind, double level, RngKey key, Tensor x, Tensor out) {
        DeviceTensor dx = be.f32(x, "x"), o = be.f32(out, "out");
        if (dx.size() != o.size() || dx.rows() != o.rows()) {
            throw new IllegalArgumentException("corrupt: out " + o.shape() + " must match x " + dx.shape());
        }
        if (o.overlaps(dx) && o.address() != dx.address()) {
            throw new IllegalArgumentException("corrupt: out overlaps x without being x");
        }
        kind.checkLevel(level);
        be.prepare();
        long n = dx.size();
        if (n == 0) return;
        be.args().clear().ptr(dx.address()).ptr(o.address()).i64(n).i32(kind.ordinal()).f64(level);
        be.key(key);
        be.launch(Kernels.CORRUPT, Kernels.blocks(Kernels.ceilDiv(n, 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.CORRUPT)));
    }

    /** {@link Backend#sparsityForward} with {@code elbo4j_sparsity_forward_f32}: one thread per code unit. */
    static void sparsityForward(CudaBackend be, Tensor code, double rho, Tensor rhoHat, Tensor kl) {
        DeviceTensor c = be.f32(code, "code"), q = be.f32(rhoHat, "rhoHat"), k = be.f32(kl, "kl");
        int b = c.rows(), z = c.cols();
        if (!(rho > 0 && rho < 1)) throw new IllegalArgumentException("sparsity target rho must be in (0, 1), got " + rho);
        if (b == 0 || q.size() != z || k.size() != z) {
            throw new IllegalArgumentException("sparsity: code " + c.shape() + " needs rhoHat and kl of " + z
                    + " elements, got " + q.shape() + ", " + k.shape());
        }
        if (q.overlaps(c) || k.overlaps(c) || q.overlaps(k)) throw new IllegalArgumentException("sparsity: outputs overlap");
        be.prepare();
        if (z == 0) return;
        long partial = CudaColumns.partials(be, b, z);
        int chunks = Kernels.columnChunks(b);
        long tiles = Kernels.ceilDiv(z, Kernels.COLS_TILE_X);
        be.args().clear().ptr(c.address()).ptr(partial).ptr(q.address()).ptr(k.address()).i32(b).i32(z)
                .i32(Kernels.columnChunkRows(b)).f64(rho);
        be.launch(Kernels.SPARSITY_FORWARD, Kernels.blocks(tiles * chunks, 1, be.wave(Kernels.SPARSITY_FORWARD)), 1,
                Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        if (chunks > 1) {
            be.args().clear().ptr(partial).ptr(q.address()).ptr(k.address()).i32(chunks).i32(z).i32(b).f64(rho);
            be.launch(Kernels.SPARSITY_FINISH, Kernels.blocks(tiles, 1, be.wave(Kernels.SPARSITY_FINISH)), 1,
                    Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        }
    }

    /** {@link Backend#sparsityBackward} with {@code elbo4j_sparsity_backward_f32}: one thread per element of dCode. */
    static void sparsityBackward(CudaBackend be, Tensor rhoHat, double rho, double scale, Tensor dCode) {
        DeviceTensor q = be.f32(rhoHat, "rhoHat"), g = be.f32(dCode, "dCode");
        int b = g.rows(), z = g.cols();
        if (!(rho > 0 && rho < 1)) throw new IllegalArgumentException("sparsity target rho must be in (0, 1), got " + rho);
        if (q.size() != z) {
            throw new IllegalArgumentException("sparsity backward: rhoHat " + q.shape() + " must have " + z
                    + " elements for dCode " + g.shape());
        }
        if (q.overlaps(g)) throw new IllegalArgumentException("sparsity backward: rhoHat overlaps dCode");
        be.prepare();
        long n = g.size();
        if (n == 0) return;
        be.args().clear().ptr(q.address()).ptr(g.address()).i32(b).i32(z).f64(rho).f64(scale);
        be.launch(Kernels.SPARSITY_BACKWARD, Kernels.blocks(n, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.SPARSITY_BACKWARD)));
    }
}
