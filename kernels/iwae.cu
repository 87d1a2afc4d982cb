// The importance-weighted objective (IWAE, Burda et al. 2015): the normalised importance weights
// and the loss per input, the weighting of the decoder-output gradient (with the learned-variance
// column sums), and the backward to the encoder's statistics.
// Reference: dev.elbo4j.backend.cpu.CpuIwae; semantics: Backend.iwaeWeights / iwaeScaleRows /
// iwaeLatentBackward.
//
// Shapes: row_loss, log_ratio, weights R = L*B (element l*B + b is sample l of input b); loss B;
// d_out R x D; log_var, d_log_var D; stats, d_stats B x 2Z; eps, z, dz R x Z.
//
// Arithmetic is in double, operation for operation as the reference (the _rn helpers of
// common.cuh, never contracted), with every sum over l or r in increasing order in one thread:
// results differ from the CPU only where CUDA's and Java's double exp/log differ by an ulp. These
// kernels touch R x Z (latent) or R x D (scaling) elements: they are small next to the GEMMs.
#include "columns.cuh"

using namespace elbo4j;

// One thread per input b: lw = log_ratio - row_loss over the L samples, m = max, the softmax
// weights and loss[b] = -(m + log sum exp(lw - m) - log L).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_iwae_weights_f32(const float* __restrict__ row_loss, const float* __restrict__ log_ratio,
                        float* __restrict__ weights, float* __restrict__ loss, int batch, int samples) {
    for (long long b = global_thread(); b < batch; b += grid_threads()) {
        double m = -INFINITY;
        for (int l = 0; l < samples; ++l) {
            const long long r = static_cast<long long>(l) * batch + b;
            const double lw = sub_rn(static_cast<double>(log_ratio[r]), static_cast<double>(row_loss[r]));
            // Java's Math.max: NaN wins (fmax would drop it).
            m = (lw != lw || m != m) ? (lw != lw ? lw : m) : (lw > m ? lw : m);
        }
        double s = 0.0;
        for (int l = 0; l < samples; ++l) {
            const long long r = static_cast<long long>(l) * batch + b;
            const double lw = sub_rn(static_cast<double>(log_ratio[r]), static_cast<double>(row_loss[r]));
            s = add_rn(s, exp(sub_rn(lw, m)));
        }
        for (int l = 0; l < samples; ++l) {
            const long long r = static_cast<long long>(l) * batch + b;
            const double lw = sub_rn(static_cast<double>(log_ratio[r]), static_cast<double>(row_loss[r]));
            weights[r] = static_cast<float>(exp(sub_rn(lw, m)) / s);
        }
        loss[b] = static_cast<float>(-sub_rn(add_rn(m, log(s)), log(static_cast<double>(samples))));
    }
}

// d_log_var[c] = scale * sum_r weights[r] (1 - g^2 exp(log_var[c])) / 2 with g = d_out[r, c] before
// scaling: a row-chunked column sum (columns.cuh; chunks > 1 leave partials for
// elbo4j_column_sum_f32). Launched before elbo4j_iwae_scale_rows_f32.
namespace {
struct IwaeDlogvarTerm {
    const float* __restrict__ weights;
    const float* __restrict__ d_out;
    const float* __restrict__ log_var;
    int cols;
    __device__ double column(int c) const { return exp(static_cast<double>(log_var[c])); }
    __device__ double operator()(int r, int c, double var) const {
        const double g = d_out[static_cast<long long>(r) * cols + c];
        const double term = mul_rn(0.5, sub_rn(1.0, mul_rn(mul_rn(g, g), var)));
        return mul_rn(static_cast<double>(weights[r]), term);
    }
};
}  // namespace

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_iwae_dlogvar_f32(const float* __restrict__ weights, const float* __restrict__ d_out,
                        const float* __restrict__ log_var, double* __restrict__ partial, float* __restrict__ d_log_var,
                        int rows, int cols, int chunk_rows, double scale) {
    __shared__ ColumnTile part;
    chunked_column_sum(rows, cols, chunk_rows, partial, part, IwaeDlogvarTerm{weights, d_out, log_var, cols},
                       ScaleStore{d_log_var, scale});
}

// Element-wise, in place: d_out[r, c] *= scale * weights[r], the product in double, rounded once.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_iwae_scale_rows_f32(const float* __restrict__ weights, float* __restrict__ d_out, long long n, int cols,
                           double scale) {
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const double f = mul_rn(scale, static_cast<double>(weights[row_col(i, cols).row]));
        d_out[i] = static_cast<float>(mul_rn(static_cast<double>(d_out[i]), f));
    }
}

// One thread per (b, k), looping over the L samples in order: g = dz + scale w z,
// d_stats[b, k] = sum_l g, d_stats[b, Z + k] = exp(lv / 2) / 2 sum_l g eps - scale / 2.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_iwae_latent_backward_f32(const float* __restrict__ stats, const float* __restrict__ eps,
                                const float* __restrict__ z, const float* __restrict__ dz,
                                const float* __restrict__ weights, float* __restrict__ d_stats,
                                int batch, int latent, int samples, double scale) {
    const long long n = static_cast<long long>(batch) * latent;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const RowCol bk = row_col(i, latent);
        const unsigned int b = bk.row, k = bk.col;
        const long long mu_at = static_cast<long long>(b) * 2 * latent + k, lv_at = mu_at + latent;
        const double lv = stats[lv_at];
        double gmu = 0.0, glv = 0.0;
        for (int l = 0; l < samples; ++l) {
            const long long at = static_cast<long long>(l) * n + i, r = static_cast<long long>(l) * batch + b;
            const double sw = mul_rn(scale, static_cast<double>(weights[r]));
            const double g = add_rn(static_cast<double>(dz[at]), mul_rn(sw, static_cast<double>(z[at])));
            gmu = add_rn(gmu, g);
            glv = add_rn(glv, mul_rn(g, static_cast<double>(eps[at])));
        }
        d_stats[mu_at] = static_cast<float>(gmu);
        d_stats[lv_at] = static_cast<float>(sub_rn(mul_rn(mul_rn(0.5, exp(mul_rn(0.5, lv))), glv), mul_rn(0.5, scale)));
    }
}
