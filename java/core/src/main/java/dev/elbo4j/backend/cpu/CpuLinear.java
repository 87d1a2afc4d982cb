package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;

/** CPU reference of {@code kernels/linear.cu}: GEMM dispatch and the bias + activation epilogue. */
final class CpuLinear {
    /** Rows per block of the bias gradient's column sums (summed in float, blocks in double). */
    static final int BLOCK = 32;

    private final Blas blas;

    CpuLinear(Blas blas) {
        this.blas = blas;
    }

    Blas blas() {
        return blas;
    }

    void gemm(boolean ta, boolean tb, double alpha, CpuTensor a, CpuTensor b, double beta, CpuTensor c) {
        int m = ta ? a.cols() : a.rows();
        int k = ta ? a.rows() : a.cols();
        int kb = tb ? b.cols() : b.rows();
        int n = tb ? b.rows() : b.cols();
        if (k != kb || c.rows() != m || c.cols() != n) {
            throw new IllegalArgumentException("gemm shapes do not agree: op(A) " + m + "x" + k + ", op(B) " + kb + "x" + n
                    + ", C " + c.shape());
        }
        if (c.isF64()) {
            blas.dgemm(ta, tb, m, n, k, alpha, a.d, a.off, a.cols(), b.d, b.off, b.cols(), beta, c.d, c.off, n);
        } else {
            blas.sgemm(ta, tb, m, n, k, (float) alpha, a.f, a.off, a.cols(), b.f, b.off, b.cols(), (float) beta,
                    c.f, c.off, n);
        }
    }

    static void biasActivation(CpuTensor y, CpuTensor bias, Activation act) {
        int rows = y.rows(), cols = y.cols();
        if (bias != null && bias.size() != cols) {
            throw new IllegalArgumentException("bias of " + bias.size() + " for rows of " + cols);
        }
        if (y.isF64()) {
            double[] v = y.d;
            for (int r = 0; r < rows; r++) {
                int o = y.off + r * cols;
                for (int c = 0; c < cols; c++) {
                    v[o + c] = act.apply(v[o + c] + (bias == null ? 0 : bias.d[bias.off + c]));
                }
            }
            return;
        }
        float[] v = y.f;
        CpuParallel.rows(rows, cols, (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = y.off + r * cols;
                switch (act) {
                    case RELU -> {
                        for (int c = 0; c < cols; c++) {
                            float s = v[o + c] + (bias == null ? 0f : bias.f[bias.off + c]);
                            v[o + c] = Math.max(s, 0f);
                        }
                    }
                    case IDENTITY -> {
                        if (bias != null) {
                            for (int c = 0; c < cols; c++) v[o + c] += bias.f[bias.off + c];
                        }
                    }
                    default -> {
                        for (int c = 0; c < cols; c++) {
                            v[o + c] = (float) act.apply(v[o + c] + (bias == null ? 0f : bias.f[bias.off + c]));
                        }
                    }
                }
            }
        });
    }

    static void biasActivationBackward(CpuTensor y, CpuTensor dy, Activation act, CpuTensor dBias) {
        biasActivationBackward(y, dy, act, dBias, CpuParallel.parts(y.rows(), y.cols()));
    }

    /** As above, the rows split into at most {@code parts} ranges (tests: the result is the same for any). */
    static void biasActivationBackward(CpuTensor y, CpuTensor dy, Activation act, CpuTensor dBias, int parts) {
        int rows = y.rows(), cols = y.cols();
        if (dy.size() != y.size() || (dBias != null && dBias.size() != cols)) {
            throw new IllegalArgumentException("bias/activation backward: y " + y.shape() + ", dy " + dy.shape()
                    + (dBias == null ? "" : ", dBias " + dBias.shape()));
        }
        if (y.isF64()) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int k = r * cols + c;
                    dy.d[dy.off + k] *= act.derivativeFromOutput(y.d[y.off + k]);
                }
            }
            if (dBias != null) {
                for (int c = 0; c < cols; c++) {
                    double s = 0;
                    for (int r = 0; r < rows; r++) s += dy.d[dy.off + r * cols + c];
                    dBias.d[dBias.off + c] = s;
                }
            }
            return;
        }
        float[] g = dy.f, v = y.f;
        F32Math math = F32Math.best();
        // Column sums: float within each block of BLOCK rows (vectorised), the blocks' sums then added
        // in double in block order. Blocks start at multiples of BLOCK whatever the split, so the sum
        // is the same on any number of threads (a checkpoint resumes exactly with another --threads).
        int blocks = (rows + BLOCK - 1) / BLOCK;
        float[] blockSums = dBias == null ? null : new float[blocks * cols];
        CpuParallel.split(blocks, Math.max(1, Math.min(parts, blocks)), (p, b0, b1) -> {
            for (int r = b0 * BLOCK, end = Math.min(rows, b1 * BLOCK); r < end; r++) {
                int oy = y.off + r * cols, og = dy.off + r * cols;
                switch (act) {
                    case RELU -> math.reluBackward(v, oy, g, og, cols);
                    case IDENTITY -> {
                    }
                    default -> {
                        for (int c = 0; c < cols; c++) g[og + c] *= (float) act.derivativeFromOutput(v[oy + c]);
                    }
                }
                if (blockSums != null) {
                    int ob = (r / BLOCK) * cols;
                    for (int c = 0; c < cols; c++) blockSums[ob + c] += g[og + c];
                }
            }
        });
        if (dBias != null) {
            double[] s = new double[cols];
            for (int b = 0; b < blocks; b++) {
                for (int c = 0; c < cols; c++) s[c] += blockSums[b * cols + c];
            }
            for (int c = 0; c < cols; c++) dBias.f[dBias.off + c] = (float) s[c];
        }
    }
}
