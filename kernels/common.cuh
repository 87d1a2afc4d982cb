// elbo4j device code: shared pieces of every kernel file.
//
//   - hardware limits and the block sizes the host launches with (mirrored, and checked by a
//     test, in dev.elbo4j.backend.cuda.Kernels);
//   - Philox4x32-10 with the counter layout of dev.elbo4j.rng.Philox, bit for bit;
//   - IEEE arithmetic without FMA contraction where a kernel must round exactly like the Java
//     reference (Java never fuses a*b+c; nvcc does by default);
//   - deterministic warp / block reductions: a fixed tree, no atomics on floating-point values.
//
// Everything here is header-only and internal (static inline); the entry points are the
// extern "C" __global__ functions of the .cu files.
#pragma once

#include <cstdint>

// ---- launch configuration shared with the host ------------------------------------------------
// Block sizes are macros so that __launch_bounds__ and the host agree on one number. The host
// (Kernels.java) uses the same values; KernelSourceTest parses this file and compares.

// Element-wise kernels (activations, Adam, gather, fill, random streams): 256 threads = 8 warps,
// the smallest block that still reaches full occupancy on sm_80..sm_90 (max 2048 resident threads
// per SM on sm_80/sm_90, 1536 on sm_86/sm_89; 8 blocks of 256 fill both) with few registers.
#define ELBO4J_BLOCK_ELEMENTWISE 256
// One block per likelihood row: 128 threads (4 warps). A 784-pixel row is 196 float4 chunks, so
// every thread handles one or two chunks; the cross-warp step of the row reduction is 4 values.
#define ELBO4J_BLOCK_ROW 128
// ... with at least 8 such blocks resident per SM (1024 threads: half of sm_80/sm_90's 2048, two
// thirds of sm_86/sm_89's 1536): an explicit minimum lets ptxas use up to 64 registers; with the
// bare bound it chose fewer on sm_86/sm_89 and spilled.
#define ELBO4J_ROW_MIN_BLOCKS 8
// Latent kernels: 256 threads, split into groups of `group` lanes (power of two <= 32), one row
// per group.
#define ELBO4J_BLOCK_LATENT 256
// ... with 2 blocks resident per SM: the double Box-Muller, exp and a row's state are live together
// and need ~92 registers; with the bare bound ptxas capped the kernel at 64 and spilled. 512
// threads per SM is plenty for a kernel that touches a few thousand elements per training step.
#define ELBO4J_LATENT_MIN_BLOCKS 2
// Column reductions (bias gradient): a 32 x 8 tile; the 32 lanes of a warp read 32 consecutive
// columns of a row (one 128-byte line), the 8 warps take every 8th row.
#define ELBO4J_COLS_TILE_X 32
#define ELBO4J_COLS_TILE_Y 8
// Full reductions (sum, accumulate): 256 threads per block, at most 256 blocks (the partial-sum
// buffer the host allocates holds ELBO4J_REDUCE_MAX_BLOCKS doubles).
#define ELBO4J_BLOCK_REDUCE 256
#define ELBO4J_REDUCE_MAX_BLOCKS 256

namespace elbo4j {

// ---- hardware limits (identical on every target: sm_80, sm_86, sm_89, sm_90) --------------------
constexpr int kWarpSize = 32;                    // threads per warp, all NVIDIA GPUs
constexpr int kMaxThreadsPerBlock = 1024;        // per block, compute capability >= 2.0
constexpr int kMaxStaticSharedBytes = 48 * 1024; // per block without a cudaFuncSetAttribute opt-in
constexpr unsigned kFullMask = 0xffffffffu;      // all 32 lanes take part in a shuffle

static_assert(ELBO4J_BLOCK_ELEMENTWISE % kWarpSize == 0 && ELBO4J_BLOCK_ELEMENTWISE <= kMaxThreadsPerBlock, "block");
static_assert(ELBO4J_BLOCK_ROW % kWarpSize == 0 && ELBO4J_BLOCK_ROW <= kMaxThreadsPerBlock, "block");
static_assert(ELBO4J_BLOCK_LATENT % kWarpSize == 0 && ELBO4J_BLOCK_LATENT <= kMaxThreadsPerBlock, "block");
static_assert(ELBO4J_COLS_TILE_X == kWarpSize, "a column tile row is one warp");
static_assert(ELBO4J_COLS_TILE_X * ELBO4J_COLS_TILE_Y <= kMaxThreadsPerBlock, "block");
static_assert(ELBO4J_BLOCK_REDUCE % kWarpSize == 0 && ELBO4J_BLOCK_REDUCE <= kMaxThreadsPerBlock, "block");

__host__ __device__ constexpr long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

// ---- IEEE operations without contraction ---------------------------------------------------------
// The Java reference evaluates a*b + c as two rounded operations. Where a kernel promises the same
// bits, it spells each operation with an _rn intrinsic, which nvcc never fuses into an FMA.
static __device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
static __device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
static __device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
static __device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
static __device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
static __device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
static __device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

// Java's Math.max(v, 0f): NaN stays NaN, -0 becomes +0 (fmaxf would turn NaN into 0).
static __device__ __forceinline__ float java_max0(float v) { return (v > 0.0f || v != v) ? v : 0.0f; }
static __device__ __forceinline__ double java_max0(double v) { return (v > 0.0 || v != v) ? v : 0.0; }
// Java's Math.max(a, b) in double: a NaN on either side is the result, +0 is above -0.
static __device__ __forceinline__ double java_max(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

// ---- Philox4x32-10 ------------------------------------------------------------------------------
// Salmon et al., SC'11; the constants and round function of Random123 and dev.elbo4j.rng.Philox.
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

// A draw, named as in dev.elbo4j.rng.RngKey: key = (seed lo, seed hi); counter words 2 and 3 =
// (step lo, (stream << 24) | (step >> 32 & 0xffffff)). Words 0 and 1 are the block index j / 4.
struct PhiloxKey {
    uint32_t k0, k1, c2, c3;
};

// Every kernel that draws takes (seed_lo, seed_hi, stream, step, step_ptr). When step_ptr is not
// null the step is read from device memory instead of the argument: a CUDA graph captures kernel
// arguments by value, so a replayed graph draws fresh noise only if the step lives on the device
// and a kernel in the graph advances it (elbo4j_counter_add_u64). The host validates the argument
// step (< 2^56, RngKey's range); a device step is the caller's responsibility.
static __host__ __device__ __forceinline__ PhiloxKey make_key(uint32_t seed_lo, uint32_t seed_hi, uint32_t stream,
                                                     unsigned long long step, const unsigned long long* step_ptr) {
    if (step_ptr != nullptr) step = *step_ptr;
    PhiloxKey k;
    k.k0 = seed_lo;
    k.k1 = seed_hi;
    k.c2 = static_cast<uint32_t>(step);
    k.c3 = (stream << 24) | (static_cast<uint32_t>(step >> 32) & 0xffffffu);
    return k;
}

// High word of a 32 x 32-bit product (a single IMAD.HI on the device; the host path lets
// kernels/test/rng_selftest.cu check the generator against Random123 and the Java reference).
static __host__ __device__ __forceinline__ uint32_t mulhi32(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// The four 32-bit words of block `block` (elements 4*block .. 4*block + 3) of the draw `key`.
static __host__ __device__ __forceinline__ uint4 philox(unsigned long long block, const PhiloxKey& key) {
    uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
    uint32_t c2 = key.c2, c3 = key.c3, k0 = key.k0, k1 = key.k1;
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += kPhiloxW0;
            k1 += kPhiloxW1;
        }
        const uint32_t hi0 = mulhi32(kPhiloxM0, c0), lo0 = kPhiloxM0 * c0;
        const uint32_t hi1 = mulhi32(kPhiloxM1, c2), lo1 = kPhiloxM1 * c2;
        const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    return make_uint4(c0, c1, c2, c3);
}

static __host__ __device__ __forceinline__ uint32_t word(const uint4& w, int lane) {
    return lane == 0 ? w.x : lane == 1 ? w.y : lane == 2 ? w.z : w.w;
}

// Uniform float in [0, 1): the top 24 bits times 2^-24, exact in float (Philox.uniform).
static __host__ __device__ __forceinline__ float uniform01(uint32_t w) {
    return static_cast<float>(w >> 8) * 0x1p-24f;
}

// Box-Muller on one pair of words, in double, operation for operation as Philox.boxMuller:
// u1 = (a + 1) 2^-32 in (0, 1], t = 2 pi (b 2^-32), r = sqrt(-2 ln u1); (r cos t, r sin t).
// CUDA's double log, sin and cos are within 1 (log) and 2 (sin, cos) ulp of the exact value, like
// Java's, so the float-rounded results agree except next to a float rounding boundary.
constexpr double kTwoPi = 6.283185307179586;  // the double 2 * Math.PI
static __host__ __device__ __forceinline__ double2 box_muller(uint32_t a, uint32_t b) {
    const double u1 = (static_cast<double>(a) + 1.0) * 0x1p-32;
    const double t = kTwoPi * (static_cast<double>(b) * 0x1p-32);
    const double r = sqrt(-2.0 * log(u1));
    double s, c;
    sincos(t, &s, &c);
    return make_double2(r * c, r * s);
}

// The four standard normals of one Philox block, rounded to float as Philox.normals does.
static __host__ __device__ __forceinline__ float4 normals4(const uint4& w) {
    const double2 g01 = box_muller(w.x, w.y), g23 = box_muller(w.z, w.w);
    return make_float4(static_cast<float>(g01.x), static_cast<float>(g01.y),
                       static_cast<float>(g23.x), static_cast<float>(g23.y));
}

static __host__ __device__ __forceinline__ float lane_of(const float4& v, int lane) {
    return lane == 0 ? v.x : lane == 1 ? v.y : lane == 2 ? v.z : v.w;
}

// ---- deterministic reductions --------------------------------------------------------------------
// A butterfly over `width` lanes (power of two <= 32): every lane ends with the same bits, because
// each step adds the same two values (a + b == b + a in IEEE arithmetic) in a fixed tree. All 32
// lanes of the warp must call it.
template <typename T>
static __device__ __forceinline__ T group_sum(T v, int width) {
    for (int offset = width >> 1; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset, width);
    return v;
}

template <typename T>
static __device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int offset = kWarpSize >> 1; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
    return v;
}

// Sum over a block of kBlock threads (a multiple of 32); the result is valid in every thread.
// `scratch` holds kBlock / 32 + 1 values of shared memory. Every thread must call it; it contains
// __syncthreads() and leaves `scratch` free for reuse.
template <int kBlock, typename T>
static __device__ __forceinline__ T block_sum(T v, T* scratch) {
    static_assert(kBlock % kWarpSize == 0 && kBlock <= kMaxThreadsPerBlock, "block size");
    constexpr int kWarps = kBlock / kWarpSize;
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T w = lane < kWarps ? scratch[lane] : T(0);
        w = warp_sum(w);
        if (lane == 0) scratch[kWarps] = w;
    }
    __syncthreads();
    const T total = scratch[kWarps];
    __syncthreads();
    return total;
}

// ---- vector access ------------------------------------------------------------------------------
static __device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

static __device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
static __device__ __forceinline__ void store4(float* p, const float4& v) { *reinterpret_cast<float4*>(p) = v; }

// Grid-stride loop bounds in 64-bit, so index + stride cannot overflow for any int-sized tensor.
static __device__ __forceinline__ long long global_thread() {
    return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
}
static __device__ __forceinline__ long long grid_threads() {
    return static_cast<long long>(gridDim.x) * blockDim.x;
}

// Row and column of element i of a matrix with `cols` columns, by a 32-bit division (a 64-bit one is
// a subroutine of some 70 instructions, a 32-bit one a few): no tensor has more than 2^31 - 1
// elements (dev.elbo4j.tensor.Shape refuses more, Kernels.blocks a larger work count), so i fits.
// The loop counter itself stays 64-bit: with a 32-bit counter ptxas 13.0 spilled registers here.
struct RowCol {
    unsigned int row, col;
};
static __device__ __forceinline__ RowCol row_col(long long i, int cols) {
    const unsigned int j = static_cast<unsigned int>(i), n = static_cast<unsigned int>(cols);
    const unsigned int r = j / n;
    return {r, j - r * n};
}

}  // namespace elbo4j
