// Adam(W) over one flat parameter buffer, one launch per step. Reference: CpuOptim.adam (the
// float path); semantics: Backend.adam.
//
//   m = b1 m + (1 - b1) g
//   v = b2 v + (1 - b2) g g
//   p = p (1 - lr wd) - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc_i = 1 - beta_i^step
//
// The host folds the step-dependent constants exactly as CpuOptim does (in double, then rounded
// to float) and every float operation below is a separately rounded IEEE operation in the
// reference's order, so the result is bit-identical to the CPU.
//
// With step_ptr != null the bias corrections are computed on the device from *step_ptr (the Adam
// step, counting from 1) for graph replays; thread 0 of each block computes them in double with
// CUDA's pow and shares them, so they can differ from the host's Math.pow by an ulp before
// rounding to float.
#include "common.cuh"

using namespace elbo4j;

struct AdamConst {
    float b1, b2, c1, c2, eps, decay, step_size, inv_sqrt_bc2;
};

static __device__ __forceinline__ float adam_one(float p, float g, float& m, float& v, const AdamConst& k) {
    const float mk = add_rn(mul_rn(k.b1, m), mul_rn(k.c1, g));
    const float vk = add_rn(mul_rn(k.b2, v), mul_rn(mul_rn(k.c2, g), g));
    m = mk;
    v = vk;
    const float denom = add_rn(mul_rn(__fsqrt_rn(vk), k.inv_sqrt_bc2), k.eps);
    return sub_rn(mul_rn(p, k.decay), div_rn(mul_rn(k.step_size, mk), denom));
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_adam_f32(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m, float* __restrict__ v,
                long long n, float b1, float b2, float c1, float c2, float eps, float decay,
                float step_size, float inv_sqrt_bc2,
                const unsigned long long* __restrict__ step_ptr, double lr, double beta1, double beta2) {
    AdamConst k{b1, b2, c1, c2, eps, decay, step_size, inv_sqrt_bc2};
    if (step_ptr != nullptr) {
        __shared__ float folded[2];
        if (threadIdx.x == 0) {
            const double step = static_cast<double>(*step_ptr);
            const double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
            folded[0] = static_cast<float>(lr / bc1);
            folded[1] = static_cast<float>(1.0 / sqrt(bc2));
        }
        __syncthreads();
        k.step_size = folded[0];
        k.inv_sqrt_bc2 = folded[1];
    }
    if (aligned16(param) && aligned16(grad) && aligned16(m) && aligned16(v)) {
        const long long n4 = n / 4;
        for (long long i = global_thread(); i < n4; i += grid_threads()) {
            float4 p4 = load4(param + 4 * i), m4 = load4(m + 4 * i), v4 = load4(v + 4 * i);
            const float4 g4 = load4(grad + 4 * i);
            p4.x = adam_one(p4.x, g4.x, m4.x, v4.x, k);
            p4.y = adam_one(p4.y, g4.y, m4.y, v4.y, k);
            p4.z = adam_one(p4.z, g4.z, m4.z, v4.z, k);
            p4.w = adam_one(p4.w, g4.w, m4.w, v4.w, k);
            store4(param + 4 * i, p4);
            store4(m + 4 * i, m4);
            store4(v + 4 * i, v4);
        }
        for (long long i = 4 * n4 + global_thread(); i < n; i += grid_threads()) {
            param[i] = adam_one(param[i], grad[i], m[i], v[i], k);
        }
    } else {
        for (long long i = global_thread(); i < n; i += grid_threads()) {
            param[i] = adam_one(param[i], grad[i], m[i], v[i], k);
        }
    }
}

// The graph step's Adam: the same update, applied only when the step guard's state[0] says the
// step was finite (kernels/step.cu), with the step-dependent constants read from a schedule the
// host folded for this epoch exactly as for elbo4j_adam_f32 (so replay and eager agree bit for
// bit, whatever the learning-rate schedule): row r = *step - first holds
// {decay, step_size, inv_sqrt_bc2} for Adam step first + r (*step counts from 1 and was advanced
// by the guard). first (state[8..9]) and the row count (state[10]) are device words written with
// the table, since a replayed graph keeps its launch arguments. A step outside the table updates
// nothing and sets state[6].
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_adam_guarded_f32(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                        float* __restrict__ v, long long n, float b1, float b2, float c1, float c2, float eps,
                        const float* __restrict__ table, const unsigned long long* __restrict__ step,
                        unsigned int* __restrict__ state) {
    if (state[0] == 0u) return;
    const unsigned long long first = static_cast<unsigned long long>(state[8]) | (static_cast<unsigned long long>(state[9]) << 32);
    const long long r = static_cast<long long>(*step - first);
    if (*step < first || r >= static_cast<long long>(state[10])) {
        if (blockIdx.x == 0 && threadIdx.x == 0) state[6] = 1u;
        return;
    }
    const AdamConst k{b1, b2, c1, c2, eps, table[3 * r], table[3 * r + 1], table[3 * r + 2]};
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        param[i] = adam_one(param[i], grad[i], m[i], v[i], k);
    }
}
