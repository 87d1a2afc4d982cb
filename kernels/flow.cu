// The K-step planar flow (Rezende and Mohamed 2015) of a VAE posterior: forward (z0 -> zK, the
// summed log-determinant, the flow's KL correction) and backward (dz0 and the gradients of the
// flow parameters u, w, b). Reference: dev.elbo4j.backend.cpu.CpuFlow; semantics:
// Backend.planarForward / planarBackward.
//
// Shapes: z0, zK, dzK, dz0 R x Z (R = L*B rows, row l*B + b is sample l of input b); u, w K x Z;
// b, dB K; log_det, log_ratio R; kl B; scratch R x K(2Z+2).
//
// Step k: a = w_k . z + b_k, z += u_hat_k tanh(a), u_hat_k = u_k + (m - alpha) / |w_k|^2 w_k with
// alpha = w_k . u_k, m = -1 + softplus(alpha) (so w_k . u_hat_k = m >= -1: invertible), and
// log|det| = log(1 + (1 - tanh^2 a) m), computed as log(tanh^2 a + (1 - tanh^2 a) softplus(alpha)).
//
// A row belongs to a group of `group` lanes (a power of two <= 32 chosen by the host from Z alone,
// Kernels.planarGroup: about 4 elements per lane), so a warp covers 32 / group consecutive rows and
// every load and store of z0, zK, dzK, dz0 and a scratch row is a contiguous run per group. Lane g
// of a group owns elements g, g + group, ... of the row; its working vector lives in its output row
// (zK forward, dz0 backward: float, exactly where CpuFlow rounds) and only the owning lane touches an
// element, so no lane reads what another wrote. Dot products are per-lane sums then group_sum's fixed
// butterfly; the per-step scalars (w.u, |w|^2 lane-strided over a warp, then softplus, m, beta) are
// computed once per block into dynamic shared memory (3 doubles per step). Scalars are double,
// operation for operation as the reference; only the order of the dot products' sums differs. The
// gradients of u, w, b are sums over rows of the scratch: a row-chunked column sum (columns.cuh, no
// atomics, deterministic), then one block per step adds the chunks in order and applies the chain
// rule through u_hat and m.
#include "columns.cuh"

using namespace elbo4j;

namespace {

__device__ __forceinline__ double softplus_d(double a) {
    return a > 0.0 ? add_rn(a, log1p(exp(-a))) : log1p(exp(a));
}

__device__ __forceinline__ double sigmoid_d(double a) {
    return a >= 0.0 ? 1.0 / add_rn(1.0, exp(-a)) : exp(a) / add_rn(1.0, exp(a));
}

// alpha = w.u, n = |w|^2, m = -1 + softplus(alpha), beta = (m - alpha) / n for step k.
struct PlanarStep {
    double alpha, norm2, sp, m, beta;
};

// 1 + h' m written as tanh^2 + h' softplus(alpha) (positive even where m rounds to -1), as CpuFlow.
__device__ __forceinline__ double planar_det(double sp, double t, double hp) {
    return add_rn(mul_rn(t, t), mul_rn(hp, sp));
}

// Step k's scalars, the same bits in every lane: lane x sums elements x, x + 32, ..., then warp_sum.
// All 32 lanes of the warp must call it.
__device__ __forceinline__ PlanarStep planar_step(const float* __restrict__ u, const float* __restrict__ w,
                                                  int k, int latent) {
    const int lane = threadIdx.x % kWarpSize;
    double alpha = 0.0, n = 0.0;
    const float* uk = u + static_cast<long long>(k) * latent;
    const float* wk = w + static_cast<long long>(k) * latent;
    for (int j = lane; j < latent; j += kWarpSize) {
        const double wj = wk[j];
        alpha = add_rn(alpha, mul_rn(wj, static_cast<double>(uk[j])));
        n = add_rn(n, mul_rn(wj, wj));
    }
    alpha = warp_sum(alpha);
    n = warp_sum(n);
    PlanarStep s;
    s.alpha = alpha;
    s.norm2 = n;
    s.sp = softplus_d(alpha);
    s.m = add_rn(-1.0, s.sp);
    s.beta = sub_rn(s.m, alpha) / n;
    return s;
}

// Shared memory per step: beta, softplus(alpha), m.
constexpr int kStepScalars = 3;

// Every step's scalars into `out` (kStepScalars x steps doubles of shared memory), warp w of the
// block taking steps w, w + warps, ...; ends with __syncthreads (every thread must call it).
__device__ __forceinline__ void planar_steps(const float* __restrict__ u, const float* __restrict__ w, int latent,
                                             int steps, double* out) {
    const int warps = blockDim.x / kWarpSize;
    for (int k = threadIdx.x / kWarpSize; k < steps; k += warps) {
        const PlanarStep s = planar_step(u, w, k, latent);
        if (threadIdx.x % kWarpSize == 0) {
            out[kStepScalars * k] = s.beta;
            out[kStepScalars * k + 1] = s.sp;
            out[kStepScalars * k + 2] = s.m;
        }
    }
    __syncthreads();
}

// The value lane 0 of the group holds, in every lane of the group (the others pass anything): its
// bits OR-ed with zeros over the butterfly, so exact (a -0 stays -0). All 32 lanes must call it.
__device__ __forceinline__ float group_first(float v, int group) {
    int bits = threadIdx.x % group == 0 ? __float_as_int(v) : 0;
    for (int offset = group >> 1; offset > 0; offset >>= 1) bits |= __shfl_xor_sync(kFullMask, bits, offset, group);
    return __int_as_float(bits);
}

}  // namespace

// A group per input i (of `inputs`; rows = inputs * samples), its rows l * inputs + i in sample
// order: zK, log_det and, if not null, log_ratio[r] -= |zK|^2/2 - |z0|^2/2 - log_det and
// kl[i] += (1/L) sum_l of the same term. Without kl the host passes samples = 1 (a group per row).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_planar_forward_f32(const float* __restrict__ z0, const float* __restrict__ u, const float* __restrict__ w,
                          const float* __restrict__ b, float* __restrict__ zk, float* __restrict__ log_det,
                          float* __restrict__ log_ratio, float* __restrict__ kl, int inputs, int latent, int steps,
                          int samples, int group) {
    extern __shared__ double step_scalars[];
    planar_steps(u, w, latent, steps, step_scalars);
    const int lane = threadIdx.x % kWarpSize, per_warp = kWarpSize / group;
    const int sub = lane / group, g = lane % group;
    const long long warp = global_thread() / kWarpSize, warps = grid_threads() / kWarpSize;
    const bool terms = log_ratio != nullptr || kl != nullptr;
    // The loop bound is warp-uniform, so every lane reaches the shuffles of group_sum.
    for (long long base = warp * per_warp; base < inputs; base += warps * per_warp) {
        const long long i = base + sub;
        const bool live = i < inputs;
        double mean = 0.0;
        for (int l = 0; l < samples; ++l) {
            const long long r = static_cast<long long>(l) * inputs + i;
            float* z = zk + r * latent;
            const float* src = z0 + r * latent;
            if (live) {
                for (int j = g; j < latent; j += group) z[j] = src[j];
            }
            double ld = 0.0;
            for (int k = 0; k < steps; ++k) {
                const double beta = step_scalars[kStepScalars * k], sp = step_scalars[kStepScalars * k + 1];
                const float* uk = u + static_cast<long long>(k) * latent;
                const float* wk = w + static_cast<long long>(k) * latent;
                double p = 0.0;
                if (live) {
                    for (int j = g; j < latent; j += group) p = add_rn(p, mul_rn(static_cast<double>(wk[j]), static_cast<double>(z[j])));
                }
                const double a = add_rn(static_cast<double>(b[k]), group_sum(p, group));
                const double t = tanh(a);
                if (live) {
                    for (int j = g; j < latent; j += group) {
                        const double uh = add_rn(static_cast<double>(uk[j]), mul_rn(beta, static_cast<double>(wk[j])));
                        z[j] = static_cast<float>(add_rn(static_cast<double>(z[j]), mul_rn(uh, t)));
                    }
                }
                ld = add_rn(ld, log(planar_det(sp, t, sub_rn(1.0, mul_rn(t, t)))));
            }
            const float ldf = static_cast<float>(ld);
            if (live && g == 0) log_det[r] = ldf;
            if (terms) {
                double sq = 0.0;
                if (live) {
                    for (int j = g; j < latent; j += group) {
                        const double a = z[j], c = src[j];
                        sq = add_rn(sq, sub_rn(mul_rn(a, a), mul_rn(c, c)));
                    }
                }
                const double fk = sub_rn(mul_rn(0.5, group_sum(sq, group)), static_cast<double>(ldf));
                if (live && g == 0 && log_ratio != nullptr) {
                    log_ratio[r] = static_cast<float>(sub_rn(static_cast<double>(log_ratio[r]), fk));
                }
                mean = add_rn(mean, fk);
            }
        }
        if (live && g == 0 && kl != nullptr) kl[i] = static_cast<float>(add_rn(static_cast<double>(kl[i]), mean / samples));
    }
}

// A group per row: the forward again (z in dz0's row, z_k and tanh(a_k) in the scratch), then back
// through the steps from g = dzK + weight zK, writing the per-row terms of the parameter gradients
// to the scratch and dz0 = g - weight z0. tanh(a_k) and the two per-row scalars of a step's scratch
// block are lane 0's (group_first hands tanh back to the group). weight_ptr (null: weight_arg is the
// weight): the KL weight of the summed loss from device memory (a replayed warm-up step), divided by
// the rows here as the host divides it for the mean loss.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_planar_backward_f32(const float* __restrict__ z0, const float* __restrict__ u, const float* __restrict__ w,
                           const float* __restrict__ b, const float* __restrict__ dzk, float* __restrict__ dz0,
                           float* __restrict__ scratch, int rows, int latent, int steps, int group, double weight_arg,
                           const double* __restrict__ weight_ptr) {
    extern __shared__ double step_scalars[];
    planar_steps(u, w, latent, steps, step_scalars);
    const double weight = weight_ptr != nullptr ? *weight_ptr / static_cast<double>(rows) : weight_arg;
    const long long blk = 2LL * latent + 2, per = blk * steps;
    const int lane = threadIdx.x % kWarpSize, per_warp = kWarpSize / group;
    const int sub = lane / group, g = lane % group;
    const long long warp = global_thread() / kWarpSize, warps = grid_threads() / kWarpSize;
    for (long long base = warp * per_warp; base < rows; base += warps * per_warp) {
        const long long r = base + sub;
        const bool live = r < rows;
        float* gv = dz0 + r * latent;
        const float* src = z0 + r * latent;
        float* sc = scratch + r * per;
        if (live) {
            for (int j = g; j < latent; j += group) gv[j] = src[j];
        }
        for (int k = 0; k < steps; ++k) {
            const double beta = step_scalars[kStepScalars * k];
            const float* uk = u + static_cast<long long>(k) * latent;
            const float* wk = w + static_cast<long long>(k) * latent;
            float* at = sc + k * blk;
            double p = 0.0;
            if (live) {
                for (int j = g; j < latent; j += group) {
                    const float zj = gv[j];
                    at[latent + j] = zj;
                    p = add_rn(p, mul_rn(static_cast<double>(wk[j]), static_cast<double>(zj)));
                }
            }
            const double a = add_rn(static_cast<double>(b[k]), group_sum(p, group));
            const float t = static_cast<float>(tanh(a));
            if (live) {
                if (g == 0) at[2 * latent] = t;
                for (int j = g; j < latent; j += group) {
                    const double uh = add_rn(static_cast<double>(uk[j]), mul_rn(beta, static_cast<double>(wk[j])));
                    gv[j] = static_cast<float>(add_rn(static_cast<double>(gv[j]), mul_rn(uh, static_cast<double>(t))));
                }
            }
        }
        if (live) {
            const float* dr = dzk + r * latent;
            for (int j = g; j < latent; j += group) {
                gv[j] = static_cast<float>(add_rn(static_cast<double>(dr[j]), mul_rn(weight, static_cast<double>(gv[j]))));
            }
        }
        for (int k = steps - 1; k >= 0; --k) {
            const double beta = step_scalars[kStepScalars * k], sp = step_scalars[kStepScalars * k + 1];
            const double m = step_scalars[kStepScalars * k + 2];
            const float* uk = u + static_cast<long long>(k) * latent;
            const float* wk = w + static_cast<long long>(k) * latent;
            float* at = sc + k * blk;
            const double t = group_first(live && g == 0 ? at[2 * latent] : 0.0f, group);
            const double hp = sub_rn(1.0, mul_rn(t, t)), hpp = mul_rn(mul_rn(-2.0, t), hp);
            const double denom = planar_det(sp, t, hp);
            double p = 0.0;
            if (live) {
                for (int j = g; j < latent; j += group) {
                    const double uh = add_rn(static_cast<double>(uk[j]), mul_rn(beta, static_cast<double>(wk[j])));
                    p = add_rn(p, mul_rn(static_cast<double>(gv[j]), uh));
                }
            }
            // dz_{k+1}/da = u_hat h'(a); the log-det enters the loss with -weight
            const double ga = sub_rn(mul_rn(hp, group_sum(p, group)), mul_rn(mul_rn(weight, hpp), m) / denom);
            if (live) {
                for (int j = g; j < latent; j += group) {
                    at[latent + j] = static_cast<float>(mul_rn(ga, static_cast<double>(at[latent + j])));
                    at[j] = static_cast<float>(mul_rn(t, static_cast<double>(gv[j])));
                }
                if (g == 0) {
                    at[2 * latent] = static_cast<float>(ga);
                    at[2 * latent + 1] = static_cast<float>(mul_rn(-weight, hp) / denom);
                }
                for (int j = g; j < latent; j += group) {
                    gv[j] = static_cast<float>(add_rn(static_cast<double>(gv[j]), mul_rn(ga, static_cast<double>(wk[j]))));
                }
            }
        }
        if (live) {
            for (int j = g; j < latent; j += group) {
                gv[j] = static_cast<float>(sub_rn(static_cast<double>(gv[j]), mul_rn(weight, static_cast<double>(src[j]))));
            }
        }
    }
}

// The parameter gradients' row sums, pass 1: the scratch is an R x K(2Z+2) matrix whose column sums
// the flow's parameter gradients need; a row-chunked column sum (columns.cuh) writes each chunk's
// sums (double) to partial[chunk * K(2Z+2) + e], for one chunk as well, since the finish below
// needs every sum of a step in one block.
namespace {
struct ScratchTerm {
    const float* __restrict__ scratch;
    int cols;
    __device__ double column(int) const { return 0.0; }
    __device__ double operator()(int r, int c, double) const {
        return scratch[static_cast<long long>(r) * cols + c];
    }
};

struct PartialStore {
    double* __restrict__ partial;
    __device__ void operator()(int c, double total) const { partial[c] = total; }
};
}  // namespace

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_planar_partials_f32(const float* __restrict__ scratch, double* __restrict__ partial, int rows, int cols,
                           int chunk_rows) {
    __shared__ ColumnTile part;
    chunked_column_sum(rows, cols, chunk_rows, partial, part, ScratchTerm{scratch, cols}, PartialStore{partial});
}

// Pass 2 and the finish, one block per step k (dynamic shared memory: 2Z+2 doubles): the block's
// threads add the chunk partials of the step's 2Z+2 sums, chunks in order, then write dU, dW (chain
// rule through u_hat and m) and dB.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ROW)
elbo4j_planar_reduce_f32(const float* __restrict__ u, const float* __restrict__ w, const double* __restrict__ partial,
                         float* __restrict__ du, float* __restrict__ dw, float* __restrict__ db,
                         int chunks, int latent, int steps) {
    extern __shared__ double sums[];
    const int k = blockIdx.x;
    if (k >= steps) return;
    const long long blk = 2LL * latent + 2, per = blk * steps;
    for (long long e = threadIdx.x; e < blk; e += blockDim.x) {
        double s = 0.0;
        for (int ch = 0; ch < chunks; ++ch) s = add_rn(s, partial[ch * per + k * blk + e]);
        sums[e] = s;
    }
    __syncthreads();
    const PlanarStep st = planar_step(u, w, k, latent);  // every warp of the block: the same bits
    const float* uk = u + static_cast<long long>(k) * latent;
    const float* wk = w + static_cast<long long>(k) * latent;
    const double gm = sums[2 * latent + 1];
    const double sg = sigmoid_d(st.alpha);
    const double d_beta_d_alpha = sub_rn(sg, 1.0) / st.norm2;
    const double d_beta_d_norm = -sub_rn(st.m, st.alpha) / mul_rn(st.norm2, st.norm2);
    double sw = 0.0;
    for (int j = 0; j < latent; ++j) sw = add_rn(sw, mul_rn(sums[j], static_cast<double>(wk[j])));
    for (int j = threadIdx.x; j < latent; j += blockDim.x) {
        const double wj = wk[j], uj = uk[j], gu = sums[j];
        const long long at = static_cast<long long>(k) * latent + j;
        du[at] = static_cast<float>(add_rn(gu, mul_rn(add_rn(mul_rn(sw, d_beta_d_alpha), mul_rn(gm, sg)), wj)));
        const double t1 = add_rn(sums[latent + j], mul_rn(st.beta, gu));
        const double t2 = mul_rn(sw, add_rn(mul_rn(d_beta_d_alpha, uj), mul_rn(mul_rn(d_beta_d_norm, 2.0), wj)));
        dw[at] = static_cast<float>(add_rn(add_rn(t1, t2), mul_rn(mul_rn(gm, sg), uj)));
    }
    if (threadIdx.x == 0) db[k] = static_cast<float>(sums[2 * latent]);
}

// ---- NICE (Dinh et al. 2014): reference CpuFlow.niceSplit / niceAdd / nicePrior / nicePriorSample ----
//
// Shapes: x N x D; a N x ceil(D/2) (even columns), b N x floor(D/2) (odd columns); h, dh N x C;
// s, ds C; row_logp N. All element-wise or per row / per column, no atomics.

// One thread per element of x: a[n, j] = v(x[n, 2j]), b[n, j] = v(x[n, 2j+1]), dequantized
// v = (rint(255 x) + u) / 256 (u: uniform of element n*D + d of the key) when has_key, else v = x.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_nice_split_f32(const float* __restrict__ x, float* __restrict__ a, float* __restrict__ b,
                      int rows, int dim, int has_key,
                      unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                      unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const long long n = static_cast<long long>(rows) * dim;
    const unsigned int ca = (dim + 1) / 2, cb = dim / 2;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const RowCol rc = row_col(i, dim);
        const unsigned int r = rc.row, c = rc.col;
        double v = x[i];
        if (has_key) {
            const float u = uniform01(word(philox(static_cast<unsigned long long>(i >> 2), key), static_cast<int>(i & 3)));
            v = add_rn(rint(mul_rn(255.0, v)), static_cast<double>(u)) / 256.0;
        }
        if (c % 2 == 0) a[r * ca + c / 2] = static_cast<float>(v);  // < n: 32 bits suffice
        else b[r * cb + c / 2] = static_cast<float>(v);
    }
}

// One thread per element: y += sign * shift.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_nice_add_f32(float* __restrict__ y, const float* __restrict__ shift, long long n, double sign) {
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        y[i] = static_cast<float>(add_rn(static_cast<double>(y[i]), mul_rn(sign, static_cast<double>(shift[i]))));
    }
}

namespace {

__device__ __forceinline__ double log_prior(double z, int logistic) {
    return logistic ? -add_rn(softplus_d(z), softplus_d(-z)) : sub_rn(mul_rn(-0.5, mul_rn(z, z)), 0.9189385332046727);
}

__device__ __forceinline__ double d_log_prior(double z, int logistic) {
    return logistic ? -tanh(mul_rn(0.5, z)) : -z;
}

}  // namespace

// One warp per row (lanes over the columns, so each load and dh store of a warp is contiguous):
// lane x adds the terms of columns x, x + 32, ... in order, then warp_sum's fixed butterfly; lane 0
// writes row_logp (or adds it). dh, if not null, is per element. The terms are the reference's
// double operations; only the order of the row sum differs from CpuFlow's column order.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_nice_prior_rows_f32(const float* __restrict__ h, const float* __restrict__ s, float* __restrict__ row_logp,
                           float* __restrict__ dh, int rows, int cols, int logistic, int accumulate, double grad_scale) {
    constexpr int kWarps = ELBO4J_BLOCK_ELEMENTWISE / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    for (int r = blockIdx.x * kWarps + threadIdx.x / kWarpSize; r < rows; r += gridDim.x * kWarps) {
        const float* hr = h + static_cast<long long>(r) * cols;
        float* dr = dh == nullptr ? nullptr : dh + static_cast<long long>(r) * cols;
        double lp = 0.0;
        for (int j = lane; j < cols; j += kWarpSize) {
            const double sj = s[j], e = exp(sj), z = mul_rn(e, static_cast<double>(hr[j]));
            lp = add_rn(lp, add_rn(log_prior(z, logistic), sj));
            if (dr != nullptr) dr[j] = static_cast<float>(mul_rn(mul_rn(-grad_scale, e), d_log_prior(z, logistic)));
        }
        lp = warp_sum(lp);
        if (lane == 0) row_logp[r] = static_cast<float>(accumulate ? add_rn(static_cast<double>(row_logp[r]), lp) : lp);
    }
}

// ds[c] = -grad_scale sum_n (g(z) z + 1), z = exp(s[c]) h[n, c]: a row-chunked column sum
// (columns.cuh; chunks > 1 leave partials for elbo4j_column_sum_f32).
namespace {
struct NiceDsTerm {
    const float* __restrict__ h;
    const float* __restrict__ s;
    int cols, logistic;
    __device__ double column(int c) const { return exp(static_cast<double>(s[c])); }
    __device__ double operator()(int r, int c, double e) const {
        const double z = mul_rn(e, static_cast<double>(h[static_cast<long long>(r) * cols + c]));
        return add_rn(mul_rn(d_log_prior(z, logistic), z), 1.0);
    }
};
}  // namespace

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_nice_prior_ds_f32(const float* __restrict__ h, const float* __restrict__ s, double* __restrict__ partial,
                         float* __restrict__ ds, int rows, int cols, int chunk_rows, int logistic, double grad_scale) {
    __shared__ ColumnTile part;
    chunked_column_sum(rows, cols, chunk_rows, partial, part, NiceDsTerm{h, s, cols, logistic}, ScaleStore{ds, -grad_scale});
}

// One thread per Philox block (4 elements): h = z exp(-s[c]), z logistic (log v - log(1 - v),
// v = uniform + 2^-25) or the normals of elbo4j_normal_f32.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_nice_prior_sample_f32(const float* __restrict__ s, float* __restrict__ h, int rows, int cols, int logistic,
                             unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                             unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const long long n = static_cast<long long>(rows) * cols, blocks = ceil_div(n, 4);
    for (long long q = global_thread(); q < blocks; q += grid_threads()) {
        const uint4 w = philox(static_cast<unsigned long long>(q), key);
        const float4 g = normals4(w);
        // The 4 elements' columns: one 32-bit division, then a step with wrap-around.
        unsigned int c = row_col(4 * q, cols).col;
        for (int lane = 0; lane < 4; ++lane, c = c + 1 == static_cast<unsigned int>(cols) ? 0u : c + 1) {
            const long long i = 4 * q + lane;
            if (i >= n) break;
            float z;
            if (logistic) {
                const double v = add_rn(static_cast<double>(uniform01(word(w, lane))), 0x1p-25);
                z = static_cast<float>(sub_rn(log(v), log1p(-v)));
            } else {
                z = lane_of(g, lane);
            }
            h[i] = static_cast<float>(mul_rn(static_cast<double>(z), exp(-static_cast<double>(s[c]))));
        }
    }
}
