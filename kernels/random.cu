// Raw random streams of a key: Philox words, uniforms, normals, and the device-side step counter.
//
// Element j of a draw is a pure function of (key, j) (see common.cuh), so each thread produces
// one Philox block (four consecutive elements) and the result does not depend on the launch
// configuration. Outputs are written completely; nothing is read.
#include "common.cuh"

using namespace elbo4j;

// out[4i .. 4i+3] = the words of block first_block + i, i < blocks. For the parity test of the
// generator against dev.elbo4j.rng.Philox (integers, so equality is exact).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_philox_u32(unsigned int* __restrict__ out, long long first_block, long long blocks,
                  unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                  unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const bool vec = aligned16(out);
    for (long long i = global_thread(); i < blocks; i += grid_threads()) {
        const uint4 w = philox(static_cast<unsigned long long>(first_block + i), key);
        unsigned int* o = out + 4 * i;
        if (vec) {
            *reinterpret_cast<uint4*>(o) = w;
        } else {
            o[0] = w.x;
            o[1] = w.y;
            o[2] = w.z;
            o[3] = w.w;
        }
    }
}

// Writes elements [4q, 4q+4) ∩ [0, n) of a float stream whose block q has values v.
static __device__ __forceinline__ void store_block(float* out, long long n, long long q, const float4& v, bool vec) {
    const long long j = 4 * q;
    if (vec && j + 4 <= n) {
        store4(out + j, v);
    } else {
        for (int lane = 0; lane < 4 && j + lane < n; ++lane) out[j + lane] = lane_of(v, lane);
    }
}

// out[j] = uniform float of element j, j < n (Philox.uniforms): exact.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_uniform_f32(float* __restrict__ out, long long n,
                   unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                   unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const bool vec = aligned16(out);
    const long long blocks = ceil_div(n, 4);
    for (long long q = global_thread(); q < blocks; q += grid_threads()) {
        const uint4 w = philox(static_cast<unsigned long long>(q), key);
        store_block(out, n, q, make_float4(uniform01(w.x), uniform01(w.y), uniform01(w.z), uniform01(w.w)), vec);
    }
}

// out[j] = standard normal of element j, j < n (Philox.normals; Backend.normal): Box-Muller in
// double, rounded to float.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_normal_f32(float* __restrict__ out, long long n,
                  unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                  unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const bool vec = aligned16(out);
    const long long blocks = ceil_div(n, 4);
    for (long long q = global_thread(); q < blocks; q += grid_threads()) {
        store_block(out, n, q, normals4(philox(static_cast<unsigned long long>(q), key)), vec);
    }
}

// *counter += delta, one thread: the last node of a captured training step, so the next replay
// of the graph reads the next step through step_ptr.
extern "C" __global__ void __launch_bounds__(32)
elbo4j_counter_add_u64(unsigned long long* __restrict__ counter, unsigned long long delta) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *counter += delta;
}
