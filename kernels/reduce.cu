// Whole-tensor sums in double: Backend.sum (out[0] = sum) and Backend.accumulate
// (out[0] += scale * sum), in one launch and a fixed order.
//
// Launch: G = min(ceil(n / (4 * ELBO4J_BLOCK_REDUCE)), ELBO4J_REDUCE_MAX_BLOCKS) blocks of
// ELBO4J_BLOCK_REDUCE threads, G a function of n alone. Block b sums its grid-stride share in
// double (a fixed tree at the end) into partials[b]; the last block to finish (an integer ticket,
// the only atomic) adds partials[0 .. G) in index order, whatever order the blocks finished in, and
// resets the ticket to 0 so the next launch, or the next replay of a graph, starts clean. Same
// input, same G: same bits on every run.
//
// partials holds ELBO4J_REDUCE_MAX_BLOCKS doubles and counter one zero-initialised unsigned int;
// both belong to the stream the kernel runs on (launches on one stream never overlap).
#include "common.cuh"

using namespace elbo4j;

template <typename T>
static __device__ __forceinline__ double sum_range(const T* __restrict__ x, long long n) {
    double s = 0.0;
    for (long long i = global_thread(); i < n; i += grid_threads()) s += static_cast<double>(x[i]);
    return s;
}

// float: float4 loads for the body when x is 16-byte aligned; the tail is scalar.
static __device__ __forceinline__ double sum_range(const float* __restrict__ x, long long n) {
    double s = 0.0;
    long long done = 0;
    if (aligned16(x)) {
        const long long n4 = n / 4;
        for (long long i = global_thread(); i < n4; i += grid_threads()) {
            const float4 v = load4(x + 4 * i);
            s += static_cast<double>(v.x);
            s += static_cast<double>(v.y);
            s += static_cast<double>(v.z);
            s += static_cast<double>(v.w);
        }
        done = 4 * n4;
    }
    for (long long i = done + global_thread(); i < n; i += grid_threads()) s += static_cast<double>(x[i]);
    return s;
}

template <typename T>
static __device__ __forceinline__ void sum_kernel(const T* __restrict__ x, long long n, double* __restrict__ partials,
                                                  unsigned int* __restrict__ counter, double* __restrict__ out,
                                                  double scale, int accumulate) {
    __shared__ double scratch[ELBO4J_BLOCK_REDUCE / kWarpSize + 1];
    __shared__ bool last;
    const double block_total = block_sum<ELBO4J_BLOCK_REDUCE>(sum_range(x, n), scratch);
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = block_total;
        __threadfence();  // publish the partial before taking a ticket
        last = atomicAdd(counter, 1u) == gridDim.x - 1;
        __threadfence();  // and order the ticket before the reads of the other blocks' partials
    }
    __syncthreads();
    if (!last) return;
    double s = 0.0;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += ELBO4J_BLOCK_REDUCE) s += __ldcg(partials + b);  // L2, not a stale L1 line
    s = block_sum<ELBO4J_BLOCK_REDUCE>(s, scratch);
    if (threadIdx.x == 0) {
        out[0] = accumulate ? out[0] + scale * s : s;
        *counter = 0u;
    }
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_REDUCE)
elbo4j_sum_f32(const float* __restrict__ x, long long n, double* __restrict__ partials, unsigned int* __restrict__ counter,
               double* __restrict__ out, double scale, int accumulate) {
    sum_kernel(x, n, partials, counter, out, scale, accumulate);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_REDUCE)
elbo4j_sum_f64(const double* __restrict__ x, long long n, double* __restrict__ partials, unsigned int* __restrict__ counter,
               double* __restrict__ out, double scale, int accumulate) {
    sum_kernel(x, n, partials, counter, out, scale, accumulate);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_REDUCE)
elbo4j_sum_i32(const int* __restrict__ x, long long n, double* __restrict__ partials, unsigned int* __restrict__ counter,
               double* __restrict__ out, double scale, int accumulate) {
    sum_kernel(x, n, partials, counter, out, scale, accumulate);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_REDUCE)
elbo4j_sum_u8(const unsigned char* __restrict__ x, long long n, double* __restrict__ partials, unsigned int* __restrict__ counter,
              double* __restrict__ out, double scale, int accumulate) {
    sum_kernel(x, n, partials, counter, out, scale, accumulate);
}
