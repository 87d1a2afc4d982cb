package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/random.cu}: {@link Backend#normal} (CPU reference
 * {@code CpuLatent.normal}) and the backend's own uniform floats and raw Philox words (references in
 * {@code dev.elbo4j.rng.Philox}). Each checks its arguments on the host before it enqueues anything.
 */
final class CudaRandom {
    private CudaRandom() {
    }

    static void normal(CudaBackend be, RngKey key, Tensor z) {
        DeviceTensor d = be.f32(z, "z");
        be.prepare();
        if (d.size() == 0) return;
        be.args().clear().ptr(d.address()).i64(d.size());
        be.key(key);
        be.launch(Kernels.NORMAL_F32, Kernels.blocks(Kernels.ceilDiv(d.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.NORMAL_F32)));
    }

    static void uniform(CudaBackend be, RngKey key, Tensor out) {
        DeviceTensor d = be.f32(out, "out");
        be.prepare();
        if (d.size() == 0) return;
        be.args().clear().ptr(d.address()).i64(d.size());
        be.key(key);
        be.launch(Kernels.UNIFORM_F32, Kernels.blocks(Kernels.ceilDiv(d.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.UNIFORM_F32)));
    }

    static void philoxWords(CudaBackend be, RngKey key, long firstBlock, Tensor out) {
        DeviceTensor d = be.dev(out, "out");
        if (d.dtype() != DType.I32 || d.size() % 4 != 0) {
            throw new IllegalArgumentException("philoxWords needs an I32 tensor of 4 x blocks elements, got " + d);
        }
        if (firstBlock < 0) throw new IllegalArgumentException("negative first block " + firstBlock);
        be.prepare();
        long blocks = d.size() / 4;
        if (blocks == 0) return;
        be.args().clear().ptr(d.address()).i64(firstBlock).i64(blocks);
        be.key(key);
        be.launch(Kernels.PHILOX_U32, Kernels.blocks(blocks, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.PHILOX_U32)));
    }
}
