// Classification terms of the conditional and semi-supervised models: the softmax cross-entropy,
// the unlabelled bound of M2 (Kingma et al. 2014) over all classes, the per-row scaling of a
// gradient, and the latent backward with a KL weight per row.
// Reference: dev.elbo4j.backend.cpu.CpuClassify; semantics: Backend.softmaxCrossEntropy,
// unlabelledBound, scaleRows, latentBackwardRows.
//
// Shapes: logits, target, d_logits B x C; rec, kl, weights C*B (element c*B + b: input b with
// class c); u, loss B; x R x N with w R; stats, d_stats R x 2Z with eps, dz R x Z, kl_weights R.
//
// The row kernels (cross-entropy, unlabelled bound) give one thread to each of the B rows: C is a
// handful of classes, and B a batch, so there is nothing to split further. Their arithmetic is in
// double in the reference's order (no FMA contraction); exp and log may differ from Java's by an
// ulp in double, far below the float rounding of the outputs.
#include "common.cuh"

using namespace elbo4j;

// log sum_c exp(row[c]), the maximum subtracted first, as CpuClassify.logSumExp.
static __device__ __forceinline__ double classify_log_sum_exp(const float* __restrict__ row, int classes) {
    double m = -INFINITY;
    for (int c = 0; c < classes; ++c) m = java_max(m, static_cast<double>(row[c]));
    double s = 0.0;
    for (int c = 0; c < classes; ++c) s = add_rn(s, exp(sub_rn(static_cast<double>(row[c]), m)));
    return add_rn(m, log(s));
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_softmax_xent_f32(const float* __restrict__ logits, const float* __restrict__ target,
                        float* __restrict__ loss, float* __restrict__ d_logits,
                        int batch, int classes, double grad_scale) {
    for (long long b = global_thread(); b < batch; b += grid_threads()) {
        const float* l = logits + b * classes;
        const float* t = target + b * classes;
        const double lse = classify_log_sum_exp(l, classes);
        double acc = 0.0, mass = 0.0;
        for (int c = 0; c < classes; ++c) {
            const double tc = t[c];
            acc = add_rn(acc, mul_rn(tc, sub_rn(lse, static_cast<double>(l[c]))));
            mass = add_rn(mass, tc);
        }
        loss[b] = static_cast<float>(acc);
        if (d_logits != nullptr) {
            float* g = d_logits + b * classes;
            for (int c = 0; c < classes; ++c) {
                const double q = exp(sub_rn(static_cast<double>(l[c]), lse));
                g[c] = static_cast<float>(mul_rn(grad_scale, sub_rn(mul_rn(q, mass), static_cast<double>(t[c]))));
            }
        }
    }
}

// u[b] = sum_c q (L + log q), weights = q, d_logits = grad_scale q (L + log q - u), with
// L = rec + kl_weight kl + offset; two passes over the classes, as CpuClassify.unlabelledBound.
// kl_weight_ptr (null: kl_weight_arg is the weight): the KL weight read from device memory (a
// replayed step during a KL warm-up).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_unlabelled_bound_f32(const float* __restrict__ logits, const float* __restrict__ rec,
                            const float* __restrict__ kl, float* __restrict__ u, float* __restrict__ weights,
                            float* __restrict__ d_logits, int batch, int classes, double kl_weight_arg,
                            double offset, double grad_scale, const double* __restrict__ kl_weight_ptr) {
    const double kl_weight = kl_weight_ptr != nullptr ? *kl_weight_ptr : kl_weight_arg;
    for (long long b = global_thread(); b < batch; b += grid_threads()) {
        const float* l = logits + b * classes;
        const double lse = classify_log_sum_exp(l, classes);
        double s = 0.0;
        for (int c = 0; c < classes; ++c) {
            const long long at = static_cast<long long>(c) * batch + b;
            const double log_q = sub_rn(static_cast<double>(l[c]), lse);
            const double lc = add_rn(add_rn(static_cast<double>(rec[at]), mul_rn(kl_weight, static_cast<double>(kl[at]))), offset);
            s = add_rn(s, mul_rn(exp(log_q), add_rn(lc, log_q)));
        }
        u[b] = static_cast<float>(s);
        for (int c = 0; c < classes; ++c) {
            const long long at = static_cast<long long>(c) * batch + b;
            const double log_q = sub_rn(static_cast<double>(l[c]), lse);
            const double q = exp(log_q);
            weights[at] = static_cast<float>(q);
            if (d_logits != nullptr) {
                const double lc = add_rn(add_rn(static_cast<double>(rec[at]), mul_rn(kl_weight, static_cast<double>(kl[at]))), offset);
                d_logits[b * classes + c] = static_cast<float>(mul_rn(mul_rn(grad_scale, q), sub_rn(add_rn(lc, log_q), s)));
            }
        }
    }
}

// In place x[r, j] *= scale w[r]: the factor and the product in double, rounded once (bit-exact
// with the reference). Grid-stride over the R x N elements.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_scale_rows_f32(float* __restrict__ x, const float* __restrict__ w, int rows, int cols, double scale) {
    const long long n = static_cast<long long>(rows) * cols;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const unsigned int r = row_col(i, cols).row;
        const double f = mul_rn(scale, static_cast<double>(w[r]));
        x[i] = static_cast<float>(mul_rn(static_cast<double>(x[i]), f));
    }
}

// One thread per (r, k), as elbo4j_latent_backward_f32 with one sample and the KL weight
// (kl_weight / kl_rows) kl_weights[r] of the row. kl_weight_ptr (null: kl_weight_arg is the weight):
// the KL weight read from device memory (a replayed step during a KL warm-up).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_latent_backward_rows_f32(const float* __restrict__ stats, const float* __restrict__ eps,
                                const float* __restrict__ dz, const float* __restrict__ kl_weights,
                                float* __restrict__ d_stats, int rows, int latent, double kl_weight_arg, int kl_rows,
                                const double* __restrict__ kl_weight_ptr) {
    const double kl_scale = (kl_weight_ptr != nullptr ? *kl_weight_ptr : kl_weight_arg) / static_cast<double>(kl_rows);
    const long long n = static_cast<long long>(rows) * latent;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const RowCol rc = row_col(i, latent);
        const unsigned int r = rc.row, k = rc.col;
        const long long mu_at = static_cast<long long>(r) * 2 * latent + k, lv_at = mu_at + latent;
        const double mu = stats[mu_at], lv = stats[lv_at];
        const double sd = exp(0.5 * lv);
        const double a = mul_rn(kl_scale, static_cast<double>(kl_weights[r]));
        const double g = dz[i];
        d_stats[mu_at] = static_cast<float>(add_rn(g, mul_rn(a, mu)));
        d_stats[lv_at] = static_cast<float>(add_rn(mul_rn(mul_rn(0.5, sd), mul_rn(g, static_cast<double>(eps[i]))),
                                                   mul_rn(mul_rn(a, 0.5), sub_rn(exp(lv), 1.0))));
    }
}
