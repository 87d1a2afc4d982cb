// Binary RBMs: the fused Gibbs half-sweep and the free energy (the products v W and h W^T before
// them are cuBLAS GEMMs). Reference: CpuRbm; semantics: Backend.rbmGibbsHalf, Backend.rbmFreeEnergy.
//
// Gibbs half-sweep, element j = r * cols + c of act (R x C), in place:
//   a = beta (act + bias[c]) + (1 - beta) base[c]   in double (base null: 0), rounded once to float
//   p = sigmoid(a) in double, rounded once; sample = u(j) < p ? 1 : 0
// u(j) is word j % 4 of Philox block j / 4 of the key (uniform01): one thread per Philox block, so
// one generator call serves four consecutive elements, exactly as CpuRbm draws them.
//
// Free energy of row r of v (R x V) with hAct = v W (R x H):
//   out[r] = -sum_i (beta b_i + (1 - beta) base_i) v[r, i] - sum_j softplus(beta (hAct[r, j] + c_j))
// One block of ELBO4J_BLOCK_ROW threads per row (grid-stride over rows); each thread adds its
// strided terms in double, then the block's fixed tree (block_sum): deterministic.
#include "common.cuh"

using namespace elbo4j;

static __device__ __forceinline__ double rbm_sigmoid_d(double v) {
    if (v >= 0.0) return 1.0 / (1.0 + exp(-v));
    const double e = exp(v);
    return e / (1.0 + e);
}

static __device__ __forceinline__ double rbm_softplus_d(double x) {
    return java_max0(x) + log1p(exp(-fabs(x)));
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_rbm_gibbs_f32(float* act, const float* __restrict__ bias, const float* __restrict__ base,
                     float* prob, float* __restrict__ sample, int rows, int cols, double beta,
                     unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                     unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const long long n = static_cast<long long>(rows) * cols;
    const long long blocks = ceil_div(n, 4);
    const double one_minus = sub_rn(1.0, beta);
    for (long long i = global_thread(); i < blocks; i += grid_threads()) {
        uint4 w = make_uint4(0, 0, 0, 0);
        if (sample != nullptr) w = philox(static_cast<unsigned long long>(i), key);
        // The 4 elements' columns: one 32-bit division, then a step with wrap-around.
        unsigned int c = row_col(4 * i, cols).col;
        for (int k = 0; k < 4; ++k, c = c + 1 == static_cast<unsigned int>(cols) ? 0u : c + 1) {
            const long long j = 4 * i + k;
            if (j >= n) break;
            const double bb = static_cast<double>(bias[c]);
            const double ba = base == nullptr ? 0.0 : static_cast<double>(base[c]);
            const double a = add_rn(mul_rn(beta, add_rn(static_cast<double>(act[j]), bb)), mul_rn(one_minus, ba));
            const float af = static_cast<float>(a);
            act[j] = af;
            const float p = static_cast<float>(rbm_sigmoid_d(static_cast<double>(af)));
            if (prob != nullptr) prob[j] = p;
            if (sample != nullptr) sample[j] = uniform01(word(w, k)) < p ? 1.0f : 0.0f;
        }
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ROW)
elbo4j_rbm_free_energy_f32(const float* __restrict__ v, const float* __restrict__ h_act,
                           const float* __restrict__ vis_bias, const float* __restrict__ hid_bias,
                           const float* __restrict__ base, float* __restrict__ out,
                           int rows, int vis, int hid, double beta) {
    __shared__ double scratch[ELBO4J_BLOCK_ROW / 32 + 1];
    const double one_minus = sub_rn(1.0, beta);
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        double s = 0.0;
        const float* vr = v + static_cast<long long>(r) * vis;
        const float* hr = h_act + static_cast<long long>(r) * hid;
        for (int i = threadIdx.x; i < vis; i += blockDim.x) {
            const double ba = base == nullptr ? 0.0 : static_cast<double>(base[i]);
            const double coef = add_rn(mul_rn(beta, static_cast<double>(vis_bias[i])), mul_rn(one_minus, ba));
            s = sub_rn(s, mul_rn(coef, static_cast<double>(vr[i])));
        }
        for (int j = threadIdx.x; j < hid; j += blockDim.x) {
            const double x = mul_rn(beta, add_rn(static_cast<double>(hr[j]), static_cast<double>(hid_bias[j])));
            s = sub_rn(s, rbm_softplus_d(x));
        }
        const double total = block_sum<ELBO4J_BLOCK_ROW>(s, scratch);
        if (threadIdx.x == 0) out[r] = static_cast<float>(total);
    }
}
