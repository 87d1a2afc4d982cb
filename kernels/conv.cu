// 2-D convolutions as im2col + GEMM (the GEMM itself is cuBLAS): the unfolding of image patches
// and its adjoint, the channels-first / channels-last permutations, and the per-channel bias +
// activation with its backward. Reference: CpuConv; semantics: Backend.im2col, col2im,
// toChannelsFirst, toChannelsLast, channelBiasActivation, channelBiasActivationBackward
// (docs/CONV.md).
//
// Images are rows: an NCHW batch is B x (C*H*W), image b in row b, channel c's plane at
// [c*H*W, (c+1)*H*W). The im2col matrix is (B*OH*OW) x (C*KH*KW): row (b*OH + oh)*OW + ow, column
// (c*KH + kh)*KW + kw. Index arithmetic is 32-bit: the host (CudaConv) launches only on tensors of
// at most 2^31 - 1 elements (Shape's limit), so every element index fits; grid-stride counters stay
// 64-bit so that index + stride cannot wrap.
//
// None of these kernels uses an atomic. im2col and the permutations are copies (exact); col2im is
// a gather, each pixel one thread's fixed-order double sum (exactly CpuConv's); the bias gradient is
// a per-channel sum in a fixed tree (deterministic, a function of the shape only).
#include "activation.cuh"

using namespace elbo4j;

// cols[r, k] = x[b, c, oh*s - p + kh, ow*s - p + kw] (0 in the padding). One thread per element of
// cols, so the stores (the larger side: KH*KW / s^2 times the image) are coalesced; the loads of a
// warp are runs of KW consecutive pixels, which every window reading a pixel shares through L1/L2.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_im2col_f32(const float* __restrict__ x, float* __restrict__ cols, int batch, int channels, int height,
                  int width, int kernel_h, int kernel_w, int stride, int padding, int out_h, int out_w) {
    const unsigned kw_n = static_cast<unsigned>(kernel_w), window = static_cast<unsigned>(kernel_h) * kw_n;
    const unsigned patch = static_cast<unsigned>(channels) * window;
    const unsigned pixels = static_cast<unsigned>(out_h) * static_cast<unsigned>(out_w), ow_n = static_cast<unsigned>(out_w);
    const unsigned plane = static_cast<unsigned>(height) * static_cast<unsigned>(width);
    const long long n = static_cast<long long>(batch) * pixels * patch;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const unsigned j = static_cast<unsigned>(i);
        const unsigned r = j / patch, k = j - r * patch;
        const unsigned b = r / pixels, pix = r - b * pixels;
        const unsigned oh = pix / ow_n, ow = pix - oh * ow_n;
        const unsigned c = k / window, kk = k - c * window;
        const unsigned kh = kk / kw_n, kw = kk - kh * kw_n;
        const int yy = static_cast<int>(oh) * stride - padding + static_cast<int>(kh);
        const int xx = static_cast<int>(ow) * stride - padding + static_cast<int>(kw);
        float v = 0.0f;
        if (yy >= 0 && yy < height && xx >= 0 && xx < width) {
            v = x[(b * static_cast<unsigned>(channels) + c) * plane + static_cast<unsigned>(yy * width + xx)];
        }
        cols[j] = v;
    }
}

// dx[b, c, h, w] = sum of cols[(b*OH + oh)*OW + ow, (c*KH + kh)*KW + kw] over the windows that read
// pixel (h, w): kh increasing (outer), kw increasing (inner), in double from 0, rounded once; the
// order and the arithmetic of CpuConv.col2im, so the same bits. The kernel rows that read pixel row
// h are kh = (h + p) mod s, then every s-th, while kh <= h + p and kh < KH; the window row is
// oh = (h + p - kh) / s, counted down from (h + p) / s, and kept when oh < OH. One thread per pixel of
// dx: coalesced stores, no scatter, no atomics.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_col2im_f32(const float* __restrict__ cols, float* __restrict__ dx, int batch, int channels, int height,
                  int width, int kernel_h, int kernel_w, int stride, int padding, int out_h, int out_w) {
    const unsigned window = static_cast<unsigned>(kernel_h) * static_cast<unsigned>(kernel_w);
    const unsigned patch = static_cast<unsigned>(channels) * window;
    const unsigned pixels = static_cast<unsigned>(out_h) * static_cast<unsigned>(out_w);
    const unsigned plane = static_cast<unsigned>(height) * static_cast<unsigned>(width), w_n = static_cast<unsigned>(width);
    const unsigned c_n = static_cast<unsigned>(channels);
    const long long n = static_cast<long long>(batch) * c_n * plane;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const unsigned j = static_cast<unsigned>(i);
        const unsigned pl = j / plane, pix = j - pl * plane;
        const unsigned b = pl / c_n, c = pl - b * c_n;
        const unsigned h = pix / w_n, w = pix - h * w_n;
        const float* __restrict__ base = cols + b * pixels * patch + c * window;
        const int ty = static_cast<int>(h) + padding, tx = static_cast<int>(w) + padding;
        double sum = 0.0;
        for (int oh = ty / stride, kh = ty - oh * stride; kh < kernel_h && oh >= 0; kh += stride, --oh) {
            if (oh >= out_h) continue;
            for (int ow = tx / stride, kw = tx - ow * stride; kw < kernel_w && ow >= 0; kw += stride, --ow) {
                if (ow >= out_w) continue;
                const unsigned at = static_cast<unsigned>(oh * out_w + ow) * patch + static_cast<unsigned>(kh * kernel_w + kw);
                sum = add_rn(sum, static_cast<double>(base[at]));
            }
        }
        dx[j] = static_cast<float>(sum);
    }
}

// A batch of row-major matrices transposed: dst[b][j][i] = src[b][i][j], each matrix rows x cols.
// toChannelsFirst is (rows, cols) = (P, C): channels-last pixel rows to channel planes;
// toChannelsLast is (C, P). A work item is a 32 x 32 tile of one matrix: the 8 warps of the block
// load its rows (lane = column, coalesced) into shared memory and store its columns as rows of dst
// (lane = source row, coalesced); the tile's row of 33 floats puts a column's elements in 32
// different banks. Grid-stride over (matrix, tile row, tile column).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_channels_transpose_f32(const float* __restrict__ src, float* __restrict__ dst, int batch, int rows, int cols) {
    constexpr int kTile = kWarpSize, kLanes = ELBO4J_BLOCK_ELEMENTWISE / kWarpSize;
    static_assert(kTile % kLanes == 0, "a tile is a whole number of passes of the block's warps");
    __shared__ float tile[kTile][kTile + 1];
    const int tx = threadIdx.x % kWarpSize, ty = threadIdx.x / kWarpSize;
    const unsigned tiles_r = (static_cast<unsigned>(rows) + kTile - 1) / kTile;
    const unsigned tiles_c = (static_cast<unsigned>(cols) + kTile - 1) / kTile;
    const unsigned matrix = static_cast<unsigned>(rows) * static_cast<unsigned>(cols);
    const long long items = static_cast<long long>(batch) * tiles_r * tiles_c;
    for (long long item = blockIdx.x; item < items; item += gridDim.x) {
        const unsigned it = static_cast<unsigned>(item);
        const unsigned tc = it % tiles_c, rest = it / tiles_c;
        const unsigned tr = rest % tiles_r, b = rest / tiles_r;
        const float* __restrict__ s = src + b * matrix;
        float* __restrict__ d = dst + b * matrix;
        const int i0 = static_cast<int>(tr) * kTile, j0 = static_cast<int>(tc) * kTile;
#pragma unroll
        for (int k = ty; k < kTile; k += kLanes) {
            const int i = i0 + k, j = j0 + tx;
            if (i < rows && j < cols) tile[k][tx] = s[static_cast<unsigned>(i) * cols + j];
        }
        __syncthreads();
#pragma unroll
        for (int k = ty; k < kTile; k += kLanes) {
            const int j = j0 + k, i = i0 + tx;
            if (j < cols && i < rows) d[static_cast<unsigned>(j) * rows + i] = tile[tx][k];
        }
        __syncthreads();
    }
}

// ---- per-channel bias + activation, in place: y[b, c*P + p] = act(y + bias[c]) ------------------
// The float add and the activation of linear.cu (activation.cuh). Element j is in plane j / P, of
// channel plane % C; with P % 4 == 0 a float4 lies in one plane and shares its bias.
template <int A>
static __device__ __forceinline__ void channel_bias_act(float* __restrict__ y, const float* __restrict__ bias, int batch,
                                                        int channels, int pixels) {
    const unsigned p_n = static_cast<unsigned>(pixels), c_n = static_cast<unsigned>(channels);
    const long long n = static_cast<long long>(batch) * c_n * p_n;
    if (pixels % 4 == 0 && aligned16(y)) {
        for (long long i = global_thread(); i < n / 4; i += grid_threads()) {
            const unsigned j = 4 * static_cast<unsigned>(i);
            const float add = bias != nullptr ? bias[(j / p_n) % c_n] : 0.0f;
            float4 v = load4(y + j);
            v.x = act_forward<A>(add_rn(v.x, add));
            v.y = act_forward<A>(add_rn(v.y, add));
            v.z = act_forward<A>(add_rn(v.z, add));
            v.w = act_forward<A>(add_rn(v.w, add));
            store4(y + j, v);
        }
    } else {
        for (long long i = global_thread(); i < n; i += grid_threads()) {
            const unsigned j = static_cast<unsigned>(i);
            y[j] = act_forward<A>(add_rn(y[j], bias != nullptr ? bias[(j / p_n) % c_n] : 0.0f));
        }
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_channel_bias_act_f32(float* __restrict__ y, const float* __restrict__ bias, int batch, int channels, int pixels,
                            int act) {
    switch (act) {
        case kRelu: channel_bias_act<kRelu>(y, bias, batch, channels, pixels); break;
        case kTanh: channel_bias_act<kTanh>(y, bias, batch, channels, pixels); break;
        case kSigmoid: channel_bias_act<kSigmoid>(y, bias, batch, channels, pixels); break;
        default: channel_bias_act<kIdentity>(y, bias, batch, channels, pixels); break;
    }
}

// ---- backward: dy *= act'(y) in place, then d_bias[c] = sum over b, p of dy[b, c*P + p] -----------
// CpuConv multiplies by the derivative for every activation but the identity, ReLU included
// (g * 0 keeps the sign of g and turns an infinite g into NaN), so ReLU is spelt as that product here
// rather than linear.cu's select.
template <int A>
static __device__ __forceinline__ float channel_act_backward(float g, float y) {
    if constexpr (A == kRelu) {
        return mul_rn(g, y > 0.0f ? 1.0f : 0.0f);
    } else {
        return act_backward<A>(g, y);
    }
}

// Channel c's elements, taken in the order b (outer), p (inner), are one sequence of B * P; it is cut
// into chunks of `chunk_elems` (CudaConv.chunkElements: a function of the shape alone, never of the
// grid or the GPU, so the bits are too). A work item is (chunk, channel), item = chunk * C + c: thread
// t of the 256 takes elements t, t + 256, ... of the chunk (consecutive threads, consecutive pixels
// of a plane: coalesced), four at a time with all loads issued before the first add, stores the new
// dy and adds it to its double sum in element order. The block's sums meet in block_sum's fixed
// tree; one chunk writes d_bias[c] directly, several write partial[chunk * C + c] for the second pass
// (elbo4j_column_sum_f32, the chunks in a fixed order). With d_bias null only the derivative is
// applied.
template <int A>
static __device__ __forceinline__ void channel_bias_act_backward(const float* __restrict__ y, float* __restrict__ dy,
                                                                 double* __restrict__ partial, float* __restrict__ d_bias,
                                                                 int batch, int channels, int pixels, int chunk_elems,
                                                                 double* scratch) {
    constexpr unsigned kThreads = ELBO4J_BLOCK_ELEMENTWISE;
    constexpr int kBatch = 4;
    const unsigned p_n = static_cast<unsigned>(pixels), c_n = static_cast<unsigned>(channels);
    const unsigned total = static_cast<unsigned>(batch) * p_n, per = static_cast<unsigned>(chunk_elems);
    const unsigned chunks = (total + per - 1) / per;
    const unsigned step_b = kThreads / p_n, step_p = kThreads % p_n;  // kThreads elements as (images, pixels)
    const long long items = static_cast<long long>(chunks) * c_n;
    for (long long item = blockIdx.x; item < items; item += gridDim.x) {
        const unsigned it = static_cast<unsigned>(item);
        const unsigned chunk = it / c_n, c = it - chunk * c_n;
        const unsigned e1 = min(total, chunk * per + per);
        unsigned e = chunk * per + threadIdx.x, b = e / p_n, p = e - b * p_n;
        double s = 0.0;
        for (; e + (kBatch - 1) * kThreads < e1; e += kBatch * kThreads) {
            unsigned at[kBatch];
            float g[kBatch], v[kBatch];
#pragma unroll
            for (int k = 0; k < kBatch; ++k) {
                at[k] = (b * c_n + c) * p_n + p;
                b += step_b;
                p += step_p;
                if (p >= p_n) {
                    p -= p_n;
                    ++b;
                }
            }
#pragma unroll
            for (int k = 0; k < kBatch; ++k) {
                g[k] = dy[at[k]];
                if constexpr (A != kIdentity) v[k] = y[at[k]];
            }
#pragma unroll
            for (int k = 0; k < kBatch; ++k) {
                if constexpr (A != kIdentity) {
                    g[k] = channel_act_backward<A>(g[k], v[k]);
                    dy[at[k]] = g[k];
                }
                s = add_rn(s, static_cast<double>(g[k]));
            }
        }
        for (; e < e1; e += kThreads) {
            const unsigned at = (b * c_n + c) * p_n + p;
            float g = dy[at];
            if constexpr (A != kIdentity) {
                g = channel_act_backward<A>(g, y[at]);
                dy[at] = g;
            }
            s = add_rn(s, static_cast<double>(g));
            b += step_b;
            p += step_p;
            if (p >= p_n) {
                p -= p_n;
                ++b;
            }
        }
        if (d_bias != nullptr) {
            const double total_c = block_sum<kThreads>(s, scratch);
            if (threadIdx.x == 0) {
                if (chunks == 1) d_bias[c] = static_cast<float>(total_c);
                else partial[static_cast<long long>(chunk) * c_n + c] = total_c;
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_channel_bias_act_backward_f32(const float* __restrict__ y, float* __restrict__ dy, double* __restrict__ partial,
                                     float* __restrict__ d_bias, int batch, int channels, int pixels, int chunk_elems,
                                     int act) {
    __shared__ double scratch[ELBO4J_BLOCK_ELEMENTWISE / kWarpSize + 1];
    switch (act) {
        case kRelu: channel_bias_act_backward<kRelu>(y, dy, partial, d_bias, batch, channels, pixels, chunk_elems, scratch); break;
        case kTanh: channel_bias_act_backward<kTanh>(y, dy, partial, d_bias, batch, channels, pixels, chunk_elems, scratch); break;
        case kSigmoid: channel_bias_act_backward<kSigmoid>(y, dy, partial, d_bias, batch, channels, pixels, chunk_elems, scratch); break;
        default: channel_bias_act_backward<kIdentity>(y, dy, partial, d_bias, batch, channels, pixels, chunk_elems, scratch); break;
    }
}
