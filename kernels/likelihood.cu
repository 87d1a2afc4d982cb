// The negative log-likelihood of each decoder row and its gradient with respect to the decoder
// output, in one pass over the data (the gradient of an element does not depend on the reduced
// loss). Reference: dev.elbo4j.backend.cpu.CpuLikelihood; semantics: Backend.likelihood and
// Backend.likelihoodMean.
//
// Shapes: out (L*B) x D, x B x D (row r of out is compared with row r mod B of x), row_loss L*B,
// d_out (L*B) x D or null, log_var D (learned Gaussian) or null, d_log_var D.
//
// Launch: one block of ELBO4J_BLOCK_ROW threads per contiguous range of rows_per_block rows; the
// threads stride over the row in float4 chunks (scalar when D % 4 != 0 or a pointer is not
// 16-byte aligned) and the row sum is a fixed-tree block reduction in double. Element values are
// computed in float in the reference's order of operations; sums in double.
#include "columns.cuh"

using namespace elbo4j;

constexpr double kLog2Pi = 1.8378770664093453;  // the double Math.log(2 * Math.PI)

// ---- Bernoulli with logits ----------------------------------------------------------------------
// -log p = softplus(l) - x l = max(l, 0) - x l + log1p(exp(-|l|)); d/dl = sigmoid(l) - x.
// As CpuLikelihood.bernoulliF32: the term in float (no fused multiply-add), summed in double.
struct BernoulliTerm {
    float loss;  // -log p for the element, in float as the reference
    float grad;  // grad_scale * (sigmoid(l) - x)
};

static __device__ __forceinline__ BernoulliTerm bernoulli_term(float l, float xv, float gs) {
    const float e = expf(-fabsf(l));
    BernoulliTerm t;
    t.loss = add_rn(sub_rn(java_max0(l), mul_rn(xv, l)), log1pf(e));
    const float d = add_rn(1.0f, e);
    const float sig = l >= 0.0f ? div_rn(1.0f, d) : div_rn(e, d);
    t.grad = mul_rn(gs, sub_rn(sig, xv));
    return t;
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ROW, ELBO4J_ROW_MIN_BLOCKS)
elbo4j_bernoulli_f32(const float* __restrict__ out, const float* __restrict__ x,
                     float* __restrict__ row_loss, float* __restrict__ d_out,
                     int rows, int batch, int cols, int rows_per_block, float grad_scale) {
    __shared__ double scratch[ELBO4J_BLOCK_ROW / kWarpSize + 1];
    const bool grad = d_out != nullptr;
    const bool vec = cols % 4 == 0 && aligned16(out) && aligned16(x) && (!grad || aligned16(d_out));
    const int r0 = blockIdx.x * rows_per_block, r1 = min(rows, r0 + rows_per_block);
    for (int r = r0; r < r1; ++r) {
        const float* o = out + static_cast<long long>(r) * cols;
        const float* xr = x + static_cast<long long>(r % batch) * cols;
        float* g = grad ? d_out + static_cast<long long>(r) * cols : nullptr;
        double acc = 0.0;
        if (vec) {
            for (int c = 4 * threadIdx.x; c < cols; c += 4 * ELBO4J_BLOCK_ROW) {
                const float4 l = load4(o + c), xv = load4(xr + c);
                const BernoulliTerm t0 = bernoulli_term(l.x, xv.x, grad_scale);
                const BernoulliTerm t1 = bernoulli_term(l.y, xv.y, grad_scale);
                const BernoulliTerm t2 = bernoulli_term(l.z, xv.z, grad_scale);
                const BernoulliTerm t3 = bernoulli_term(l.w, xv.w, grad_scale);
                acc += static_cast<double>(t0.loss);
                acc += static_cast<double>(t1.loss);
                acc += static_cast<double>(t2.loss);
                acc += static_cast<double>(t3.loss);
                const float4 d = make_float4(t0.grad, t1.grad, t2.grad, t3.grad);
                if (grad) store4(g + c, d);
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += ELBO4J_BLOCK_ROW) {
                const BernoulliTerm t = bernoulli_term(o[c], xr[c], grad_scale);
                acc += static_cast<double>(t.loss);
                if (grad) g[c] = t.grad;
            }
        }
        acc = block_sum<ELBO4J_BLOCK_ROW>(acc, scratch);
        if (threadIdx.x == 0) row_loss[r] = static_cast<float>(acc);
    }
}

// ---- Gaussian, fixed or learned log-variance -----------------------------------------------------
// -log N(x; mu, exp(lv)) = (log 2 pi + lv + (x - mu)^2 exp(-lv)) / 2; d/dmu = (mu - x) exp(-lv);
// d/dlv = (1 - (x - mu)^2 exp(-lv)) / 2. The reference works in double; here diff, sq and the
// gradient are float (a few ulp apart), the sums double.
//
// For the learned variance (log_var != null) and a gradient (col_partial != null), each thread
// also sums d/dlv over the block's rows for the columns it owns, in row order; the block writes
// its column sums to col_partial[blockIdx.x * D + c] and elbo4j_gaussian_dlogvar_f32 adds the
// blocks in block order. The per-block sums live in dynamic shared memory (D doubles) when
// acc_in_shared != 0 (D <= 6144), else directly in col_partial (thread-private elements).
struct GaussianTerm {
    double loss;  // -log N for the element
    double dlv;   // d loss / d lv (unscaled)
    float grad;   // grad_scale * d loss / d mu
};

static __device__ __forceinline__ GaussianTerm gaussian_term(float mu, float xv, double lv, float prec, float gs) {
    const float diff = sub_rn(mu, xv);
    const float sq = mul_rn(mul_rn(diff, diff), prec);
    GaussianTerm t;
    t.loss = 0.5 * (kLog2Pi + lv + static_cast<double>(sq));
    t.dlv = 0.5 * (1.0 - static_cast<double>(sq));
    t.grad = mul_rn(mul_rn(gs, diff), prec);
    return t;
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ROW, ELBO4J_ROW_MIN_BLOCKS)
elbo4j_gaussian_f32(const float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ log_var,
                    float* __restrict__ row_loss, float* __restrict__ d_out, double* __restrict__ col_partial,
                    int rows, int batch, int cols, int rows_per_block, int acc_in_shared,
                    double fixed_log_var, float fixed_prec, float grad_scale) {
    extern __shared__ double col_shared[];
    __shared__ double scratch[ELBO4J_BLOCK_ROW / kWarpSize + 1];
    const bool grad = d_out != nullptr;
    const bool learned = log_var != nullptr;
    const bool cols_wanted = learned && col_partial != nullptr;
    double* col_acc = cols_wanted ? (acc_in_shared ? col_shared : col_partial + static_cast<long long>(blockIdx.x) * cols)
                                  : nullptr;
    const bool vec = cols % 4 == 0 && aligned16(out) && aligned16(x) && (!grad || aligned16(d_out));
    // Thread t owns columns 4t + 4kT .. +3 (vector path) or t + kT (scalar path), the same in the
    // zeroing, the accumulation and the write-back, so col_acc needs no synchronisation.
    if (cols_wanted) {
        if (vec) {
            for (int c = 4 * threadIdx.x; c < cols; c += 4 * ELBO4J_BLOCK_ROW) {
                col_acc[c] = col_acc[c + 1] = col_acc[c + 2] = col_acc[c + 3] = 0.0;
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += ELBO4J_BLOCK_ROW) col_acc[c] = 0.0;
        }
    }
    const int r0 = blockIdx.x * rows_per_block, r1 = min(rows, r0 + rows_per_block);
    for (int r = r0; r < r1; ++r) {
        const float* o = out + static_cast<long long>(r) * cols;
        const float* xr = x + static_cast<long long>(r % batch) * cols;
        float* g = grad ? d_out + static_cast<long long>(r) * cols : nullptr;
        double acc = 0.0;
        if (vec) {
            for (int c = 4 * threadIdx.x; c < cols; c += 4 * ELBO4J_BLOCK_ROW) {
                const float4 mu = load4(o + c), xv = load4(xr + c);
                double lv[4] = {fixed_log_var, fixed_log_var, fixed_log_var, fixed_log_var};
                float4 prec = make_float4(fixed_prec, fixed_prec, fixed_prec, fixed_prec);
                if (learned) {
                    // log_var is a view into the flat parameter buffer: not necessarily aligned.
                    const float l0 = log_var[c], l1 = log_var[c + 1], l2 = log_var[c + 2], l3 = log_var[c + 3];
                    lv[0] = l0;
                    lv[1] = l1;
                    lv[2] = l2;
                    lv[3] = l3;
                    prec = make_float4(expf(-l0), expf(-l1), expf(-l2), expf(-l3));
                }
                const GaussianTerm t0 = gaussian_term(mu.x, xv.x, lv[0], prec.x, grad_scale);
                const GaussianTerm t1 = gaussian_term(mu.y, xv.y, lv[1], prec.y, grad_scale);
                const GaussianTerm t2 = gaussian_term(mu.z, xv.z, lv[2], prec.z, grad_scale);
                const GaussianTerm t3 = gaussian_term(mu.w, xv.w, lv[3], prec.w, grad_scale);
                acc += t0.loss;
                acc += t1.loss;
                acc += t2.loss;
                acc += t3.loss;
                if (cols_wanted) {
                    col_acc[c] += t0.dlv;
                    col_acc[c + 1] += t1.dlv;
                    col_acc[c + 2] += t2.dlv;
                    col_acc[c + 3] += t3.dlv;
                }
                const float4 d = make_float4(t0.grad, t1.grad, t2.grad, t3.grad);
                if (grad) store4(g + c, d);
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += ELBO4J_BLOCK_ROW) {
                const float lvf = learned ? log_var[c] : 0.0f;
                const double lv = learned ? static_cast<double>(lvf) : fixed_log_var;
                const float prec = learned ? expf(-lvf) : fixed_prec;
                const GaussianTerm t = gaussian_term(o[c], xr[c], lv, prec, grad_scale);
                acc += t.loss;
                if (cols_wanted) col_acc[c] += t.dlv;
                if (grad) g[c] = t.grad;
            }
        }
        acc = block_sum<ELBO4J_BLOCK_ROW>(acc, scratch);
        if (threadIdx.x == 0) row_loss[r] = static_cast<float>(acc);
    }
    if (cols_wanted && acc_in_shared) {
        double* dst = col_partial + static_cast<long long>(blockIdx.x) * cols;
        if (vec) {
            for (int c = 4 * threadIdx.x; c < cols; c += 4 * ELBO4J_BLOCK_ROW) {
                dst[c] = col_acc[c];
                dst[c + 1] = col_acc[c + 1];
                dst[c + 2] = col_acc[c + 2];
                dst[c + 3] = col_acc[c + 3];
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += ELBO4J_BLOCK_ROW) dst[c] = col_acc[c];
        }
    }
}

// d_log_var[c] = grad_scale * sum over blocks b of col_partial[b * D + c]: the second pass of a
// row-chunked column sum (columns.cuh), the blocks as chunks, added in a fixed order.
extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_gaussian_dlogvar_f32(const double* __restrict__ col_partial, float* __restrict__ d_log_var,
                            int blocks, int cols, double grad_scale) {
    __shared__ ColumnTile part;
    column_sum(col_partial, blocks, cols, part, ScaleStore{d_log_var, grad_scale});
}

// ---- likelihood mean ----------------------------------------------------------------------------
// Bernoulli: mean = sigmoid(out), the numerically stable form of Activation.sigmoid. (The Gaussian
// mean is the output itself: the host copies it.)
static __device__ __forceinline__ float sigmoid_f(float v) {
    if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
    const float e = expf(v);
    return e / (1.0f + e);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_sigmoid_f32(const float* __restrict__ in, float* __restrict__ out, long long n) {
    if (aligned16(in) && aligned16(out)) {
        const long long n4 = n / 4;
        for (long long i = global_thread(); i < n4; i += grid_threads()) {
            const float4 v = load4(in + 4 * i);
            store4(out + 4 * i, make_float4(sigmoid_f(v.x), sigmoid_f(v.y), sigmoid_f(v.z), sigmoid_f(v.w)));
        }
        for (long long i = 4 * n4 + global_thread(); i < n; i += grid_threads()) out[i] = sigmoid_f(in[i]);
    } else {
        for (long long i = global_thread(); i < n; i += grid_threads()) out[i] = sigmoid_f(in[i]);
    }
}
