package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * The launcher of {@code kernels/data.cu}'s batch gather with binarisation: the CUDA side of
 * {@link Backend#gather} (semantics in its javadoc; CPU reference {@code CpuData}). It checks its
 * arguments on the host before it enqueues anything; a bad index is found by the device, in the
 * backend's gather error word, and thrown at the backend's next read. The batch-index kernel is
 * {@link BatchCursor}'s.
 */
final class CudaData {
    private CudaData() {
    }

    static void gather(CudaBackend be, Tensor dataset, Tensor index, int from, Binarization mode, RngKey key, Tensor out) {
        DeviceTensor data = be.dev(dataset, "dataset"), idx = be.dev(index, "index");
        if (data.dtype() != DType.U8 || idx.dtype() != DType.I32) {
            throw new IllegalArgumentException("gather needs a U8 data set and an I32 index, got " + data.dtype() + ", "
                    + idx.dtype());
        }
        DeviceTensor o = be.f32(out, "out");
        int n = data.rows(), d = data.cols(), rows = o.rows();
        if (o.cols() != d || from < 0 || (long) from + rows > idx.size()) {
            throw new IllegalArgumentException("gather: data " + data.shape() + ", index " + idx.shape() + " from " + from
                    + " into " + o.shape());
        }
        be.prepare();
        if (o.size() == 0) return;
        int modeCode = switch (mode) {
            case NONE -> 0;
            case DYNAMIC -> 1;
            case FIXED -> 2;
        };
        long work = d % 4 == 0 ? (long) rows * (d / 4) : o.size();
        be.args().clear().ptr(data.address()).ptr(idx.address()).ptr(o.address()).ptr(be.gatherErrorAddress())
                .i32(from).i32(rows).i32(n).i32(d).i32(modeCode);
        be.key(key);
        be.launch(Kernels.GATHER, Kernels.blocks(work, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.GATHER)));
        be.gatherLaunched(n);
    }
}
