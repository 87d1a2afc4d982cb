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

// What becomes of a column's total: out[c] = scale * total, rounded once (the common case). A kernel
// with more to do (e.g. the sparsity penalty's KL) passes its own functor (c, total).
struct ScaleStore {
    float* __restrict__ out;
    double scale;
    __device__ void operator()(int c, double total) const { out[c] = static_cast<float>(mul_rn(scale, total)); }
};

// The end of a work item: s is this thread's sum over its rows of column c. Every thread of the
// block calls it (it synchronises). One chunk: finish(c, total); several: the chunk's partial.
template <class Finish>
static __device__ __forceinline__ void column_tile_finish(ColumnTile& part, double s, int c, int cols, int chunk,
                                                          int chunks, double* __restrict__ partial, const Finish& finish) {
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        double t = 0.0;
#pragma unroll
        for (int k = 0; k < ELBO4J_COLS_TILE_Y; ++k) t = add_rn(t, part[k][threadIdx.x]);
        if (chunks == 1) {
            finish(c, t);
        } else {
            partial[static_cast<long long>(chunk) * cols + c] = t;
        }
    }
    __syncthreads();
}

// Pass 1 of a row-chunked column sum of term(r, c, term.column(c)) over the rows (a pure function:
// it loads, never stores, so a batch of kColumnBatch rows is loaded before anything is added).
// column(c) is computed once per column and work item (e.g. exp of a per-column parameter).
template <class Term, class Finish>
static __device__ __forceinline__ void chunked_column_sum(int rows, int cols, int chunk_rows, double* __restrict__ partial,
                                                          ColumnTile& part, const Term& term, const Finish& finish) {
    const int tiles = (cols + ELBO4J_COLS_TILE_X - 1) / ELBO4J_COLS_TILE_X;
    const int chunks = rows > 0 ? (rows + chunk_rows - 1) / chunk_rows : 1;
    const long long items = static_cast<long long>(tiles) * chunks;
    constexpr int kStride = ELBO4J_COLS_TILE_Y;
    for (long long item = blockIdx.x; item < items; item += gridDim.x) {
        const int tile = static_cast<int>(item % tiles), chunk = static_cast<int>(item / tiles);
        const int c = tile * ELBO4J_COLS_TILE_X + threadIdx.x;
        const int r0 = chunk * chunk_rows, r1 = min(rows, r0 + chunk_rows);
        double s = 0.0;
        if (c < cols) {
            const double p = term.column(c);
            int r = r0 + threadIdx.y;
            for (; r + (kColumnBatch - 1) * kStride < r1; r += kColumnBatch * kStride) {
                double v[kColumnBatch];
#pragma unroll
                for (int k = 0; k < kColumnBatch; ++k) v[k] = term(r + k * kStride, c, p);
#pragma unroll
                for (int k = 0; k < kColumnBatch; ++k) s = add_rn(s, v[k]);
            }
            for (; r < r1; r += kStride) s = add_rn(s, term(r, c, p));
        }
        column_tile_finish(part, s, c, cols, chunk, chunks, partial, finish);
    }
}

// The second pass: finish(c, sum over chunks k of partial[k * cols + c]); lane y of the tile adds
// chunks y, y + 8, ... in order, then the 8 sums are added in order. Grid-stride over column tiles.
template <class Finish>
static __device__ __forceinline__ void column_sum(const double* __restrict__ partial, int chunks, int cols,
                                                  ColumnTile& part, const Finish& finish) {
    const int tiles = (cols + ELBO4J_COLS_TILE_X - 1) / ELBO4J_COLS_TILE_X;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const int c = tile * ELBO4J_COLS_TILE_X + threadIdx.x;
        double s = 0.0;
        if (c < cols) {
            for (int k = threadIdx.y; k < chunks; k += ELBO4J_COLS_TILE_Y) {
                s = add_rn(s, partial[static_cast<long long>(k) * cols + c]);
            }
        }
        column_tile_finish(part, s, c, cols, 0, 1, nullptr, finish);
    }
}

}  // namespace elbo4j
