// The bias + activation epilogue of a linear layer (the GEMM itself is cuBLAS), forward and
// backward. Reference: CpuLinear.biasActivation / biasActivationBackward; semantics:
// Backend.biasActivation / biasActivationBackward.
//
// `act` is the ordinal of dev.elbo4j.backend.Activation (activation.cuh). Each entry point switches
// on it once, outside the loops, into a template.
//
// Shapes: y, dy rows x cols (row-major), bias and d_bias cols.
#include "activation.cuh"
#include "columns.cuh"

using namespace elbo4j;

// ---- forward: y = act(y + bias), in place; grid-stride over float4 chunks -------------------------
template <int A>
static __device__ __forceinline__ void bias_act(float* __restrict__ y, const float* __restrict__ bias, int rows, int cols) {
    const long long n = static_cast<long long>(rows) * cols;
    if (cols % 4 == 0 && aligned16(y)) {
        // Every chunk lies inside one row (cols % 4 == 0), so its bias is bias[c .. c + 3].
        const bool bias_vec = bias != nullptr && aligned16(bias);
        const long long n4 = n / 4;
        for (long long i = global_thread(); i < n4; i += grid_threads()) {
            const unsigned c = static_cast<unsigned>(4 * i) % static_cast<unsigned>(cols);
            float4 v = load4(y + 4 * i);
            float4 b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (bias_vec) b = load4(bias + c);
            else if (bias != nullptr) b = make_float4(bias[c], bias[c + 1], bias[c + 2], bias[c + 3]);
            v.x = act_forward<A>(add_rn(v.x, b.x));
            v.y = act_forward<A>(add_rn(v.y, b.y));
            v.z = act_forward<A>(add_rn(v.z, b.z));
            v.w = act_forward<A>(add_rn(v.w, b.w));
            store4(y + 4 * i, v);
        }
    } else {
        for (long long i = global_thread(); i < n; i += grid_threads()) {
            const unsigned c = static_cast<unsigned>(i) % static_cast<unsigned>(cols);
            y[i] = act_forward<A>(add_rn(y[i], bias != nullptr ? bias[c] : 0.0f));
        }
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_bias_act_f32(float* __restrict__ y, const float* __restrict__ bias, int rows, int cols, int act) {
    switch (act) {
        case kRelu: bias_act<kRelu>(y, bias, rows, cols); break;
        case kTanh: bias_act<kTanh>(y, bias, rows, cols); break;
        case kSigmoid: bias_act<kSigmoid>(y, bias, rows, cols); break;
        default: bias_act<kIdentity>(y, bias, rows, cols); break;
    }
}

// ---- backward without a bias gradient: dy *= act'(y), element-wise --------------------------------
template <int A>
static __device__ __forceinline__ void act_backward_all(const float* __restrict__ y, float* __restrict__ dy, long long n) {
    if (aligned16(y) && aligned16(dy)) {
        const long long n4 = n / 4;
        for (long long i = global_thread(); i < n4; i += grid_threads()) {
            const float4 v = load4(y + 4 * i);
            float4 g = load4(dy + 4 * i);
            g.x = act_backward<A>(g.x, v.x);
            g.y = act_backward<A>(g.y, v.y);
            g.z = act_backward<A>(g.z, v.z);
            g.w = act_backward<A>(g.w, v.w);
            store4(dy + 4 * i, g);
        }
        for (long long i = 4 * n4 + global_thread(); i < n; i += grid_threads()) dy[i] = act_backward<A>(dy[i], y[i]);
    } else {
        for (long long i = global_thread(); i < n; i += grid_threads()) dy[i] = act_backward<A>(dy[i], y[i]);
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_act_backward_f32(const float* __restrict__ y, float* __restrict__ dy, long long n, int act) {
    switch (act) {
        case kRelu: act_backward_all<kRelu>(y, dy, n); break;
        case kTanh: act_backward_all<kTanh>(y, dy, n); break;
        case kSigmoid: act_backward_all<kSigmoid>(y, dy, n); break;
        default: break;  // identity: dy is already the pre-activation gradient
    }
}

// ---- backward with the bias gradient: dy *= act'(y), then d_bias[c] = sum_r dy[r, c] ------------
// A row-chunked column sum (columns.cuh): a work item is a 32-column tile of a chunk of rows; lane
// x of warp y takes rows y, y + 8, ... of the chunk in batches of kColumnBatch, loading dy and y of
// the whole batch before it stores the new dy, so the loads of a batch overlap instead of each
// waiting for the store before it. Sums in double; the chunk partials go to `partial` (chunks > 1,
// added by elbo4j_column_sum_f32) or straight to d_bias (one chunk). No atomics; the bias gradient
// is written completely (no read of its old value).
template <int A>
static __device__ __forceinline__ void bias_act_backward(const float* __restrict__ y, float* __restrict__ dy,
                                                         double* __restrict__ partial, float* __restrict__ d_bias,
                                                         int rows, int cols, int chunk_rows, ColumnTile& part) {
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tiles = (cols + ELBO4J_COLS_TILE_X - 1) / ELBO4J_COLS_TILE_X;
    const int chunks = rows > 0 ? (rows + chunk_rows - 1) / chunk_rows : 1;
    const long long items = static_cast<long long>(tiles) * chunks;
    for (long long item = blockIdx.x; item < items; item += gridDim.x) {
        const int tile = static_cast<int>(item % tiles), chunk = static_cast<int>(item / tiles);
        const int c = tile * ELBO4J_COLS_TILE_X + tx;
        const int r0 = chunk * chunk_rows, r1 = min(rows, r0 + chunk_rows);
        double s = 0.0;
        if (c < cols) {
            const float* yc = y + c;
            float* dyc = dy + c;
            int r = r0 + ty;
            constexpr int kStride = ELBO4J_COLS_TILE_Y;
            for (; r + (kColumnBatch - 1) * kStride < r1; r += kColumnBatch * kStride) {
                float g[kColumnBatch], v[kColumnBatch];
#pragma unroll
                for (int k = 0; k < kColumnBatch; ++k) {
                    const long long at = static_cast<long long>(r + k * kStride) * cols;
                    g[k] = dyc[at];
                    if constexpr (A != kIdentity) v[k] = yc[at];
                }
#pragma unroll
                for (int k = 0; k < kColumnBatch; ++k) {
                    if constexpr (A != kIdentity) {
                        g[k] = act_backward<A>(g[k], v[k]);
                        dyc[static_cast<long long>(r + k * kStride) * cols] = g[k];
                    }
                    s = add_rn(s, static_cast<double>(g[k]));
                }
            }
            for (; r < r1; r += kStride) {
                const long long at = static_cast<long long>(r) * cols;
                float g = dyc[at];
                if constexpr (A != kIdentity) {
                    g = act_backward<A>(g, yc[at]);
                    dyc[at] = g;
                }
                s = add_rn(s, static_cast<double>(g));
            }
        }
        column_tile_finish(part, s, c, cols, chunk, chunks, partial, ScaleStore{d_bias, 1.0});
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_bias_act_backward_f32(const float* __restrict__ y, float* __restrict__ dy, double* __restrict__ partial,
                             float* __restrict__ d_bias, int rows, int cols, int chunk_rows, int act) {
    __shared__ ColumnTile part;  // one array for all four instantiations (2 KiB)
    switch (act) {
        case kRelu: bias_act_backward<kRelu>(y, dy, partial, d_bias, rows, cols, chunk_rows, part); break;
        case kTanh: bias_act_backward<kTanh>(y, dy, partial, d_bias, rows, cols, chunk_rows, part); break;
        case kSigmoid: bias_act_backward<kSigmoid>(y, dy, partial, d_bias, rows, cols, chunk_rows, part); break;
        default: bias_act_backward<kIdentity>(y, dy, partial, d_bias, rows, cols, chunk_rows, part); break;
    }
}
