// Fully visible Boltzmann machine trained by exact maximum likelihood: the 2^d states enumerated on
// the device. Reference: CpuFvbm; semantics: Backend.fvbmStep. Three launches, all in double:
//
// states:  lu[st] = sum_{i: bit i of st} (b_i + sum_{j > i: bit j} s_ij), s_ij = (w_ij + w_ji) / 2,
//          i and j ascending (one thread per state; the same additions as the reference, so the
//          same bits).
// moments: one block per pair i <= j (grid-stride over pairs): every block forms
//          log Z = m + log sum_st exp(lu[st] - m), m = max_st lu[st] (strided per thread, then the
//          block's fixed tree), then E[x_i x_j] = sum_{st: bits i, j} exp(lu[st] - log Z) the same
//          way, written at [i, j] and [j, i]; block 0 also writes log Z. Every block computes the
//          same log Z (same inputs, same order). The max is exact in any order.
// grad:    one thread per output: (i, j) of the d x d gradient, then one per row of the loss.
//          i == j: dBias_i = E[x_i] - sum_r x_ri / R (subtracted row by row), dW_ii = 0;
//          i != j: dW_ij = E[x_i x_j] / 2 - sum_r x_ri x_rj / (2R) (rows with x_ri = 0 skipped);
//          row r:  loss_r = -(e_r - log Z), e_r = sum_i (b_i x_ri + sum_{j > i} s_ij x_ri x_rj).
//          The operations and their order are the reference's, so given the same moments and log Z
//          the outputs have the same bits.
#include "common.cuh"

using namespace elbo4j;

// IEEE double division (never contracted; nvcc without fast math rounds it to nearest).
static __device__ __forceinline__ double fvbm_div(double a, double b) { return a / b; }

static __device__ __forceinline__ double fvbm_sym(const float* __restrict__ w, int d, int i, int j) {
    return fvbm_div(add_rn(static_cast<double>(w[i * d + j]), static_cast<double>(w[j * d + i])), 2.0);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_fvbm_states_f32(const float* __restrict__ bias, const float* __restrict__ weight,
                       double* __restrict__ lu, int d) {
    const long long states = 1LL << d;
    for (long long st = global_thread(); st < states; st += grid_threads()) {
        double e = 0.0;
        for (int i = 0; i < d; ++i) {
            if (((st >> i) & 1) == 0) continue;
            e = add_rn(e, static_cast<double>(bias[i]));
            for (int j = i + 1; j < d; ++j) {
                if (((st >> j) & 1) != 0) e = add_rn(e, fvbm_sym(weight, d, i, j));
            }
        }
        lu[st] = e;
    }
}

// Max over a block (valid in every thread): java_max is exact, so the tree's shape changes nothing.
static __device__ __forceinline__ double fvbm_block_max(double v, double* scratch) {
    constexpr int kWarps = ELBO4J_BLOCK_REDUCE / kWarpSize;
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    for (int offset = kWarpSize >> 1; offset > 0; offset >>= 1) v = java_max(v, __shfl_xor_sync(kFullMask, v, offset));
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        double m = lane < kWarps ? scratch[lane] : -INFINITY;
        for (int offset = kWarpSize >> 1; offset > 0; offset >>= 1) m = java_max(m, __shfl_xor_sync(kFullMask, m, offset));
        if (lane == 0) scratch[kWarps] = m;
    }
    __syncthreads();
    const double total = scratch[kWarps];
    __syncthreads();
    return total;
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_REDUCE)
elbo4j_fvbm_moments_f32(const double* __restrict__ lu, double* __restrict__ second,
                        double* __restrict__ log_z, int d) {
    __shared__ double scratch[ELBO4J_BLOCK_REDUCE / 32 + 1];
    const long long states = 1LL << d;
    double m = -INFINITY;
    for (long long st = threadIdx.x; st < states; st += blockDim.x) m = java_max(m, lu[st]);
    m = fvbm_block_max(m, scratch);
    double z = 0.0;
    for (long long st = threadIdx.x; st < states; st += blockDim.x) z = add_rn(z, exp(sub_rn(lu[st], m)));
    z = block_sum<ELBO4J_BLOCK_REDUCE>(z, scratch);
    const double lz = add_rn(m, log(z));
    if (blockIdx.x == 0 && threadIdx.x == 0) log_z[0] = lz;
    const int pairs = d * (d + 1) / 2;
    for (int p = blockIdx.x; p < pairs; p += gridDim.x) {
        // p -> (i, j), i <= j, row by row: row i holds d - i pairs
        int i = 0, first = 0;
        while (first + (d - i) <= p) first += d - i++;
        const int j = i + (p - first);
        const long long mask = (1LL << i) | (1LL << j);
        double s = 0.0;
        for (long long st = threadIdx.x; st < states; st += blockDim.x) {
            if ((st & mask) == mask) s = add_rn(s, exp(sub_rn(lu[st], lz)));
        }
        s = block_sum<ELBO4J_BLOCK_REDUCE>(s, scratch);
        if (threadIdx.x == 0) {
            second[i * d + j] = s;
            second[j * d + i] = s;
        }
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_fvbm_grad_f32(const float* __restrict__ x, const float* __restrict__ bias, const float* __restrict__ weight,
                     const double* __restrict__ second, const double* __restrict__ log_z,
                     float* __restrict__ row_loss, float* __restrict__ d_bias, float* __restrict__ d_weight,
                     int rows, int d) {
    const long long grads = static_cast<long long>(d) * d, n = grads + rows;
    const double lz = log_z[0], two_rows = mul_rn(2.0, static_cast<double>(rows));
    for (long long k = global_thread(); k < n; k += grid_threads()) {
        if (k < grads) {
            const RowCol ij = row_col(k, d);
            const int i = static_cast<int>(ij.row), j = static_cast<int>(ij.col);
            if (i == j) {
                double g = second[k];
                for (int r = 0; r < rows; ++r) {
                    g = sub_rn(g, fvbm_div(static_cast<double>(x[static_cast<long long>(r) * d + i]), static_cast<double>(rows)));
                }
                d_bias[i] = static_cast<float>(g);
                d_weight[k] = 0.0f;
            } else {
                double g = fvbm_div(second[k], 2.0);
                for (int r = 0; r < rows; ++r) {
                    const double xi = static_cast<double>(x[static_cast<long long>(r) * d + i]);
                    if (xi == 0.0) continue;
                    const double xj = static_cast<double>(x[static_cast<long long>(r) * d + j]);
                    g = sub_rn(g, fvbm_div(mul_rn(xi, xj), two_rows));
                }
                d_weight[k] = static_cast<float>(g);
            }
        } else {
            const int r = static_cast<int>(k - grads);
            const float* xr = x + static_cast<long long>(r) * d;
            double e = 0.0;
            for (int i = 0; i < d; ++i) {
                const double xi = static_cast<double>(xr[i]);
                e = add_rn(e, mul_rn(static_cast<double>(bias[i]), xi));
                for (int j = i + 1; j < d; ++j) {
                    e = add_rn(e, mul_rn(mul_rn(fvbm_sym(weight, d, i, j), xi), static_cast<double>(xr[j])));
                }
            }
            row_loss[r] = static_cast<float>(-sub_rn(e, lz));
        }
    }
}
