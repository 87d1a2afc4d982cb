// The bias + activation epilogue of a linear layer (the GEMM itself is cuBLAS), forward and
// backward. Reference: CpuLinear.biasActivation / biasActivationBackward; semantics:
// Backend.biasActivation / biasActivationBackward.
//
// `act` is the ordinal of dev.elbo4j.backend.Activation: 0 identity, 1 relu, 2 tanh, 3 sigmoid.
// Each entry point switches on it once, outside the loops, into a template.
//
// Shapes: y, dy rows x cols (row-major), bias and d_bias cols.
#include "common.cuh"

using namespace elbo4j;

enum Act : int { kIdentity = 0, kRelu = 1, kTanh = 2, kSigmoid = 3 };

// Forward, from the pre-activation s = y + bias (float add, as the reference). Identity and ReLU
// are exact; tanhf and the float sigmoid are within 2 and 3 ulp of the reference's double
// functions rounded to float.
template <int A>
static __device__ __forceinline__ float act_forward(float s) {
    if constexpr (A == kRelu) {
        return java_max0(s);
    } else if constexpr (A == kTanh) {
        return tanhf(s);
    } else if constexpr (A == kSigmoid) {
        if (s >= 0.0f) return 1.0f / (1.0f + expf(-s));
        const float e = expf(s);
        return e / (1.0f + e);
    } else {
        return s;
    }
}

// Backward: dy * act'(y) from the output y, rounded exactly as CpuLinear (the derivative in double,
// rounded to float, times dy in float): exact.
template <int A>
static __device__ __forceinline__ float act_backward(float g, float y) {
    if constexpr (A == kRelu) {
        return y > 0.0f ? g : 0.0f;
    } else if constexpr (A == kTanh) {
        const double yd = y;
        return mul_rn(g, static_cast<float>(sub_rn(1.0, mul_rn(yd, yd))));
    } else if constexpr (A == kSigmoid) {
        const double yd = y;
        return mul_rn(g, static_cast<float>(mul_rn(yd, sub_rn(1.0, yd))));
    } else {
        return g;
    }
}

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
// A block is a 32 x 8 tile over (columns, rows): lane x of warp y walks rows y, y + 8, ... of
// column c = tile * 32 + x, so each warp reads one 128-byte line per row, and keeps its sum in
// double. The 8 partial sums of a column are then added in warp order. No atomics, no workspace;
// the bias gradient is written completely (no read of its old value).
using ColumnPartials = double[ELBO4J_COLS_TILE_Y][ELBO4J_COLS_TILE_X];

template <int A>
static __device__ __forceinline__ void bias_act_backward(const float* __restrict__ y, float* __restrict__ dy,
                                                         float* __restrict__ d_bias, int rows, int cols,
                                                         ColumnPartials& part) {
    const int tx = threadIdx.x, ty = threadIdx.y;
    for (int c0 = blockIdx.x * ELBO4J_COLS_TILE_X; c0 < cols; c0 += gridDim.x * ELBO4J_COLS_TILE_X) {
        const int c = c0 + tx;
        double s = 0.0;
        if (c < cols) {
            for (int r = ty; r < rows; r += ELBO4J_COLS_TILE_Y) {
                const long long at = static_cast<long long>(r) * cols + c;
                float g = dy[at];
                if constexpr (A != kIdentity) {
                    g = act_backward<A>(g, y[at]);
                    dy[at] = g;
                }
                s += g;
            }
        }
        part[ty][tx] = s;
        __syncthreads();
        if (ty == 0 && c < cols) {
            double t = 0.0;
#pragma unroll
            for (int k = 0; k < ELBO4J_COLS_TILE_Y; ++k) t += part[k][tx];
            d_bias[c] = static_cast<float>(t);
        }
        __syncthreads();
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_bias_act_backward_f32(const float* __restrict__ y, float* __restrict__ dy, float* __restrict__ d_bias,
                             int rows, int cols, int act) {
    __shared__ ColumnPartials part;  // one array for all four instantiations (2 KiB)
    switch (act) {
        case kRelu: bias_act_backward<kRelu>(y, dy, d_bias, rows, cols, part); break;
        case kTanh: bias_act_backward<kTanh>(y, dy, d_bias, rows, cols, part); break;
        case kSigmoid: bias_act_backward<kSigmoid>(y, dy, d_bias, rows, cols, part); break;
        default: bias_act_backward<kIdentity>(y, dy, d_bias, rows, cols, part); break;
    }
}
