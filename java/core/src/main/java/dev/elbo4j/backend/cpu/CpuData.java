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
        for (int r = 0; r < rows; r++) {
            int ex = index.i[index.off + from + r];
            if (ex < 0 || ex >= n) {
                throw new IndexOutOfBoundsException("gather: index " + ex + " outside data set of " + n);
            }
        }
        CpuParallel.rows(rows, d, (lo, hi) -> {
            int[] w = new int[4];
            boolean direct = !out.isF64();
            float[] row = direct ? out.f : new float[d];
            for (int r = lo; r < hi; r++) {
                int at = direct ? out.off + r * d : 0;
                int ex = index.i[index.off + from + r];
                int src = data.off + ex * d;
                byte[] px = data.b;
                if (mode == Binarization.NONE) {
                    for (int c = 0; c < d; c++) row[at + c] = (px[src + c] & 0xff) / 255f;
                } else {
                    long first = (long) ex * d;
                    for (int c = 0; c < d; c++) {
                        long j = first + c;
                        if (c == 0 || (j & 3) == 0) Philox.block(key, j >>> 2, w);
                        row[at + c] = Philox.uniform(w[(int) (j & 3)]) < (px[src + c] & 0xff) / 255f ? 1f : 0f;
                    }
                }
                if (!direct) {
                    for (int c = 0; c < d; c++) out.d[out.off + r * d + c] = row[c];
                }
            }
        });
    }
}
