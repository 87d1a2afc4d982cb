// elbo4j device code: sums over the batch dimension (per-column sums of a rows x cols matrix) as a
// row-chunked grid, deterministic whatever the order the blocks run in.
//
// The rows are cut into chunks of `chunk_rows` rows (Kernels.columnChunkRows: a function of the
// row count alone, never of the GPU). A work item is one (column tile, chunk) pair: a 32 x 8 block
// whose lane x of warp y takes column tile * 32 + x and rows y, y + 8, ... of the chunk, loading
// kColumnBatch rows into registers before it stores or adds anything, so the loads of a batch are
// in flight together. The 8 per-warp sums of a column are added in warp order into the chunk's
// partial: partial[chunk * cols + c] (double). A second pass (elbo4j_column_sum_f32) adds the
// chunks of each column in a fixed order. A single chunk skips the second pass and writes the
// result directly. The grid is at most one wave (host: the kernel's occupancy x SMs) and strides
// over the work items, so its size changes which block computes an item, not a single bit.
#pragma once

#include "common.cuh"

namespace elbo4j {

// Rows a thread loads into registers before it stores or adds.
constexpr int kColumnBatch = 4;

using ColumnTile = double[ELBO4J_COLS_TILE_Y][ELBO4J_COLS_TILE_X];

// The end of a work item: s is this thread's sum over its rows of column c. Every thread of the
// block calls it (it synchronises).
static __device__ __forceinline__ void column_tile_finish(ColumnTile& part, double s, int c, int cols, int chunk,
                                                          int chunks, double* __restrict__ partial,
                                                          float* __restrict__ direct, double scale) {
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        double t = 0.0;
#pragma unroll
        for (int k = 0; k < ELBO4J_COLS_TILE_Y; ++k) t = add_rn(t, part[k][threadIdx.x]);
        if (chunks == 1) {
            direct[c] = static_cast<float>(mul_rn(scale, t));
        } else {
            partial[static_cast<long long>(chunk) * cols + c] = t;
        }
    }
    __syncthreads();
}

// out[c] = scale * sum over chunks k of partial[k * cols + c]: lane y of the tile adds chunks y,
// y + 8, ... in order, then the 8 sums are added in order. Grid-stride over column tiles.
static __device__ __forceinline__ void column_sum(const double* __restrict__ partial, float* __restrict__ out,
                                                  int chunks, int cols, double scale, ColumnTile& part) {
    const int tiles = (cols + ELBO4J_COLS_TILE_X - 1) / ELBO4J_COLS_TILE_X;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const int c = tile * ELBO4J_COLS_TILE_X + threadIdx.x;
        double s = 0.0;
        if (c < cols) {
            for (int k = threadIdx.y; k < chunks; k += ELBO4J_COLS_TILE_Y) {
                s = add_rn(s, partial[static_cast<long long>(k) * cols + c]);
            }
        }
        column_tile_finish(part, s, c, cols, 0, 1, nullptr, out, scale);
    }
}

}  // namespace elbo4j
