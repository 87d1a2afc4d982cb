package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/latent.cu} (the Gaussian latent's reparameterised sample, its KL
 * and their gradient): the CUDA side of those {@link Backend} ops (semantics in its javadoc; CPU
 * reference {@code CpuLatent}). Each checks its arguments on the host before it enqueues anything.
 */
final class CudaLatent {
    private CudaLatent() {
    }

    static void latentForward(CudaBackend be, Tensor stats, RngKey key, Tensor eps, Tensor z, Tensor kl, Tensor logRatio) {
        DeviceTensor s = be.f32(stats, "stats"), e = be.f32(eps, "eps"), zz = be.f32(z, "z");
        DeviceTensor k = kl == null ? null : be.f32(kl, "kl");
        DeviceTensor lr = logRatio == null ? null : be.f32(logRatio, "logRatio");
        checkLatentShapes(s, e, zz);
        int b = s.rows(), zd = s.cols() / 2, rows = zz.rows();
        if (k != null && k.size() != b) throw new IllegalArgumentException("kl needs " + b + " elements, has " + k.shape());
        if (lr != null && lr.size() != rows) {
            throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + lr.shape());
        }
        be.prepare();
        int group = Kernels.latentGroup(zd);
        int rowsPerBlock = Kernels.BLOCK_LATENT / group;
        be.args().clear().ptr(s.address()).ptr(e.address()).ptr(zz.address()).ptr(k == null ? 0 : k.address())
                .ptr(lr == null ? 0 : lr.address()).i32(b).i32(zd).i32(rows).i32(group);
        be.key(key);
        be.launch(Kernels.LATENT_FORWARD, Kernels.blocks(rows, rowsPerBlock, be.wave(Kernels.LATENT_FORWARD)));
    }

    static void latentBackward(CudaBackend be, Tensor stats, Tensor eps, Tensor dz, double klWeight, Tensor dStats) {
        DeviceTensor s = be.f32(stats, "stats"), e = be.f32(eps, "eps"), g = be.f32(dz, "dz"), ds = be.f32(dStats, "dStats");
        checkLatentShapes(s, e, g);
        if (ds.size() != s.size()) {
            throw new IllegalArgumentException("dStats " + ds.shape() + " must match stats " + s.shape());
        }
        be.prepare();
        int b = s.rows(), zd = s.cols() / 2, samples = g.rows() / b;
        be.args().clear().ptr(s.address()).ptr(e.address()).ptr(g.address()).ptr(ds.address()).i32(b).i32(zd).i32(samples)
                .f64(klWeight).ptr(be.klWeightAt());
        be.launch(Kernels.LATENT_BACKWARD, Kernels.blocks((long) b * zd, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.LATENT_BACKWARD)));
    }

    static void checkLatentShapes(DeviceTensor stats, DeviceTensor eps, DeviceTensor z) {
        int b = stats.rows(), zd = stats.cols() / 2;
        if (stats.cols() % 2 != 0 || b == 0 || zd == 0) {
            throw new IllegalArgumentException("stats must be B x 2Z, got " + stats.shape());
        }
        if (z.cols() != zd || eps.cols() != zd || z.rows() != eps.rows() || z.rows() % b != 0 || z.rows() == 0) {
            throw new IllegalArgumentException("latent shapes: stats " + stats.shape() + " needs eps and z of (L*" + b
                    + ") x " + zd + ", got eps " + eps.shape() + ", z " + z.shape());
        }
    }
}
