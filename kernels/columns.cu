// The second pass of the row-chunked column sums (columns.cuh): the per-chunk partials of a
// batch-dimension reduction added in a fixed order. Reference: the column sums of CpuLinear
// (bias gradient); semantics: Backend.biasActivationBackward.
#include "columns.cuh"

using namespace elbo4j;

// out[c] = scale * sum over k < chunks of partial[k * cols + c] (in double, rounded once). A 32 x 8
// block per column tile, grid-stride over the tiles.
extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_column_sum_f32(const double* __restrict__ partial, float* __restrict__ out, int chunks, int cols, double scale) {
    __shared__ ColumnTile part;
    column_sum(partial, chunks, cols, part, ScaleStore{out, scale});
}
