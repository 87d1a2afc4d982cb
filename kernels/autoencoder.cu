// Denoising and sparse autoencoders: input corruption (Gaussian or masking noise) and the KL
// sparsity penalty on the code's mean activations, forward and backward.
// Reference: dev.elbo4j.backend.cpu.CpuAutoencoder; semantics: Backend.corrupt, sparsityForward,
// sparsityBackward.
//
// Shapes: x, out R x D (element j = r * D + d); code, d_code B x Z; rho_hat, kl Z.
//
// Arithmetic is in double, operation for operation as the reference (no FMA contraction), rounded
// once to float. The noise is element j of the key exactly as Philox.normals / Philox.uniforms
// (normals agree except where CUDA's and Java's double log/sin/cos differ by an ulp next to a float
// rounding boundary; uniforms and masks are exact).
#include "columns.cuh"

using namespace elbo4j;

// out may be x itself (each element is read, then written, by one thread).
// kind: 0 none (copy), 1 gaussian (x + level * eps), 2 mask (u < level ? 0 : x); the
// dev.elbo4j.backend.Corruption ordinals. One thread per Philox block of four elements, so one
// generator call serves four pixels whatever the row length (elements are numbered across rows).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_corrupt_f32(const float* x, float* out, long long n, int kind, double level,
                   unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                   unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const long long blocks = ceil_div(n, 4);
    for (long long q = global_thread(); q < blocks; q += grid_threads()) {
        const long long j0 = 4 * q;
        const uint4 w = kind == 0 ? make_uint4(0, 0, 0, 0) : philox(static_cast<unsigned long long>(q), key);
        const float4 e4 = kind == 1 ? normals4(w) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const long long j = j0 + e;
            if (j >= n) break;
            const float v = x[j];
            float r;
            if (kind == 1) {
                r = static_cast<float>(add_rn(static_cast<double>(v), mul_rn(level, static_cast<double>(lane_of(e4, e)))));
            } else if (kind == 2) {
                r = static_cast<double>(uniform01(word(w, e))) < level ? 0.0f : v;
            } else {
                r = v;
            }
            out[j] = r;
        }
    }
}

// rho_hat[k] = the batch mean of code[:, k] (a row-chunked column sum in double, columns.cuh), and
// kl[k] = KL(rho || mean) from the unrounded mean. One chunk finishes here; several leave partials
// for elbo4j_sparsity_finish_f32.
namespace {
struct CodeTerm {
    const float* __restrict__ code;
    int units;
    __device__ double column(int) const { return 0.0; }
    __device__ double operator()(int r, int k, double) const { return code[static_cast<long long>(r) * units + k]; }
};

struct SparsityFinish {
    float* __restrict__ rho_hat;
    float* __restrict__ kl;
    int batch;
    double rho;
    __device__ void operator()(int k, double s) const {
        const double q = s / static_cast<double>(batch);
        const double one_minus = sub_rn(1.0, rho);
        const double v = add_rn(mul_rn(rho, log(rho / q)), mul_rn(one_minus, log(one_minus / sub_rn(1.0, q))));
        rho_hat[k] = static_cast<float>(q);
        kl[k] = static_cast<float>(v);
    }
};
}  // namespace

extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_sparsity_forward_f32(const float* __restrict__ code, double* __restrict__ partial, float* __restrict__ rho_hat,
                            float* __restrict__ kl, int batch, int units, int chunk_rows, double rho) {
    __shared__ ColumnTile part;
    chunked_column_sum(batch, units, chunk_rows, partial, part, CodeTerm{code, units}, SparsityFinish{rho_hat, kl, batch, rho});
}

// The second pass of elbo4j_sparsity_forward_f32 for several chunks.
extern "C" __global__ void __launch_bounds__(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y)
elbo4j_sparsity_finish_f32(const double* __restrict__ partial, float* __restrict__ rho_hat, float* __restrict__ kl,
                           int chunks, int units, int batch, double rho) {
    __shared__ ColumnTile part;
    column_sum(partial, chunks, units, part, SparsityFinish{rho_hat, kl, batch, rho});
}

// One thread per element of d_code: d_code[b, k] += scale * ((1 - rho) / (1 - rho_hat[k]) - rho / rho_hat[k]).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_sparsity_backward_f32(const float* __restrict__ rho_hat, float* __restrict__ d_code,
                             int batch, int units, double rho, double scale) {
    const long long n = static_cast<long long>(batch) * units;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const unsigned int k = row_col(i, units).col;
        const double q = rho_hat[k];
        const double g = mul_rn(scale, sub_rn(sub_rn(1.0, rho) / sub_rn(1.0, q), rho / q));
        d_code[i] = static_cast<float>(add_rn(static_cast<double>(d_code[i]), g));
    }
}
