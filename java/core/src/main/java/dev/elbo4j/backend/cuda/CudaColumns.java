package dev.elbo4j.backend.cuda;

/**
 * The row-chunked column sums of {@code kernels/columns.cuh}, shared by the bias, log-variance,
 * sparsity and flow gradients: each caller's own kernel is pass 1 (chunk partials in the backend's
 * column scratch), {@code elbo4j_column_sum_f32} of {@code kernels/columns.cu} the fixed-order second pass.
 */
final class CudaColumns {
    private CudaColumns() {
    }

    /** The chunk partials of a row-chunked column sum over rows x cols (kernels/columns.cuh); 0 for one chunk. */
    static long partials(CudaBackend be, int rows, int cols) {
        int chunks = Kernels.columnChunks(rows);
        return chunks > 1 ? be.columnScratch((long) chunks * cols * Double.BYTES) : 0;
    }

    /**
     * Launches pass 1 of a row-chunked column sum (its arguments already in the backend's {@link CudaBackend#args}) over one
     * wave of (column tile, chunk) items, then, for several chunks, the fixed-order second pass:
     * {@code out[c] = scale * sum of the chunk partials}.
     */
    static void launch(CudaBackend be, KernelSpec pass1, int rows, int cols, long partial, long out, double scale) {
        int chunks = Kernels.columnChunks(rows);
        long tiles = Kernels.ceilDiv(cols, Kernels.COLS_TILE_X);
        be.launch(pass1, Kernels.blocks(tiles * chunks, 1, be.wave(pass1)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        if (chunks > 1) sumPartials(be, partial, out, chunks, cols, scale);
    }

    /**
     * The fixed-order second pass alone: {@code out[c] = scale * sum of chunks x cols partials}
     * (doubles, chunk-major) for a pass 1 that is not one of {@link #launch}'s column tiles (the conv
     * bias gradient's per-channel chunks).
     */
    static void sumPartials(CudaBackend be, long partial, long out, int chunks, int cols, double scale) {
        be.args().clear().ptr(partial).ptr(out).i32(chunks).i32(cols).f64(scale);
        be.launch(Kernels.COLUMN_SUM, Kernels.blocks(Kernels.ceilDiv(cols, Kernels.COLS_TILE_X), 1, be.wave(Kernels.COLUMN_SUM)),
                1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
    }
}
