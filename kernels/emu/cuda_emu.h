// elbo4j CPU emulator: the CUDA device-code features the kernels use, for g++ (C++20) on the host.
//
// The kernels of kernels/*.cu compile unchanged against this header (scripts/build-emu.sh rewrites
// only `extern __shared__ T name[];`, the dynamic shared memory, into a pointer to the launch's
// buffer). A launch runs the blocks of the grid one after another; the threads of a block run as
// cooperative fibers on one OS thread, switching only at __syncthreads() and warp shuffles, so a
// kernel sees one legal schedule of the GPU (see kernels/README.md, "Emulated device").
//
// Not a GPU: no memory model, no inter-block concurrency; CUDA's math library is glibc's results moved
// within CUDA's documented ulp errors (cuda_math_emu.h, applied to the kernels by build-emu.sh).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <math.h>

#include "cuda_math_emu.h"  // emu_math::, where build-emu.sh sends the kernels' transcendentals

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#ifdef ELBO4J_EMU_RACE
// The race checker (race.cpp) finds static shared memory by its section.
#define __shared__ static __attribute__((section("elbo4j_shared")))
#else
#define __shared__ static
#endif

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
};

struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
struct alignas(4) uchar4 { unsigned char x, y, z, w; };
struct alignas(16) double2 { double x, y; };
struct alignas(16) ulonglong2 { unsigned long long x, y; };

inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline uchar4 make_uchar4(unsigned char x, unsigned char y, unsigned char z, unsigned char w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }
inline ulonglong2 make_ulonglong2(unsigned long long x, unsigned long long y) { return {x, y}; }

// The running thread's coordinates (the scheduler sets them before it resumes a fiber).
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

namespace emu {
void syncthreads();                       // block barrier (every thread of the block must arrive)
void shfl_exchange(const void* v, void* out, int bytes, unsigned mask, int lane_mask, int width);
void* dynamic_smem();                     // the launch's dynamic shared memory (sharedMemBytes)
#ifdef ELBO4J_EMU_RACE
void race_fence();                        // __threadfence (race.cpp)
void race_atomic(const void* p, int bytes);  // an atomic read-modify-write of p, before it happens
#endif
}  // namespace emu

inline void __syncthreads() { emu::syncthreads(); }
#ifdef ELBO4J_EMU_RACE
inline void __threadfence() { emu::race_fence(); }
// An atomic is a synchronisation, not a plain access: its own load and store are not instrumented.
#define EMU_ATOMIC(p) emu::race_atomic((p), sizeof *(p))
#define EMU_ATOMIC_FN __attribute__((no_sanitize("thread")))
#else
inline void __threadfence() {}
#define EMU_ATOMIC(p)
#define EMU_ATOMIC_FN
#endif

template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    T r;
    emu::shfl_exchange(&v, &r, sizeof(T), mask, lane_mask, width);
    return r;
}

// One OS thread runs every fiber: atomics are plain read-modify-writes.
EMU_ATOMIC_FN inline unsigned atomicAdd(unsigned* p, unsigned v) { EMU_ATOMIC(p); unsigned o = *p; *p = o + v; return o; }
EMU_ATOMIC_FN inline int atomicAdd(int* p, int v) { EMU_ATOMIC(p); int o = *p; *p = o + v; return o; }
EMU_ATOMIC_FN inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { EMU_ATOMIC(p); auto o = *p; *p = o + v; return o; }
EMU_ATOMIC_FN inline int atomicCAS(int* p, int cmp, int v) { EMU_ATOMIC(p); int o = *p; if (o == cmp) *p = v; return o; }
EMU_ATOMIC_FN inline unsigned atomicCAS(unsigned* p, unsigned cmp, unsigned v) { EMU_ATOMIC(p); unsigned o = *p; if (o == cmp) *p = v; return o; }
EMU_ATOMIC_FN inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long cmp, unsigned long long v) {
    EMU_ATOMIC(p); auto o = *p; if (o == cmp) *p = v; return o;
}

EMU_ATOMIC_FN inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    EMU_ATOMIC(p); auto o = *p; if (v < o) *p = v; return o;
}

template <typename T>
inline T __ldcg(const T* p) { return *p; }

// IEEE round-to-nearest operations: with -ffp-contract=off g++ emits each one separately rounded.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32); }
inline float __int_as_float(int v) { return std::bit_cast<float>(v); }
inline int __float_as_int(float v) { return std::bit_cast<int>(v); }

// CUDA's integer min/max overloads in the global namespace (float/double ones come from <cmath>).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
using std::fmax;
using std::fmin;
