package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Binarization;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;

/** CPU reference of {@code kernels/data.cu}: batch gather, scaling and binarisation. */
final class CpuData {
    private CpuData() {
    }

    static void gather(CpuTensor data, CpuTensor index, int from, Binarization mode, RngKey key, CpuTensor out) {
        int n = data.rows(), d = data.cols(), rows = out.rows();
        if (out.cols() != d || from < 0 || from + rows > index.size()) {
            throw new IllegalArgumentException("gather: data " + data.shape() + ", index " + index.shape() + " from " + from
                    + " into " + out.shape());
        }
        int[] w = new int[4];
        for (int r = 0; r < rows; r++) {
            int ex = index.i[index.off + from + r];
            if (ex < 0 || ex >= n) {
                throw new IndexOutOfBoundsException("gather: index " + ex + " outside data set of " + n);
            }
            int src = data.off + ex * d;
            long first = (long) ex * d;
            for (int c = 0; c < d; c++) {
                float p = (data.b[src + c] & 0xff) / 255f;
                float v;
                if (mode == Binarization.NONE) {
                    v = p;
                } else {
                    long j = first + c;
                    if (c == 0 || (j & 3) == 0) Philox.block(key, j >>> 2, w);
                    v = Philox.uniform(w[(int) (j & 3)]) < p ? 1f : 0f;
                }
                out.set(r * d + c, v);
            }
        }
    }
}
