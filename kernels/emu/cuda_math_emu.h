// elbo4j CPU emulator: CUDA's math library as glibc's result moved by up to CUDA's documented error.
//
// scripts/build-emu.sh rewrites every call of the functions below in the kernel sources
// (`exp(` -> `emu_math::exp(`, float and double overloads as CUDA's headers resolve them), so a
// kernel's transcendental returns glibc's (nearly correctly rounded) result moved by a
// deterministic pseudo-random k ulps, |k| <= n, where n is the maximum ulp error CUDA documents for
// that function and precision (CUDA C++ Programming Guide, "Mathematical Functions", the standard
// functions' single- and double-precision tables; the kernels are built without --use_fast_math,
// scripts/build-kernels.sh):
//
//   float   expf 2, exp2f 2, expm1f 1, logf 1, log2f 1, log10f 2, log1pf 1,
//           sinf 2, cosf 2, sincosf 2, tanf 4, tanhf 2, powf 8
//   double  exp 1, exp2 1, expm1 1, log 1, log2 1, log10 1, log1p 1,
//           sin 2, cos 2, sincos 2, tan 2, tanh 1, pow 2
//
// (Double sin, cos and sincos are 1 ulp in older editions of the guide and 2 in CUDA 12's; powf is
// 8 in older editions and 4 in newer ones: the larger figure is used.) k is a hash of the function
// and the argument bits, so an input gives the same output in every launch, schedule and graph
// replay. Kept as they are: NaN and infinite results, zeros, results CUDA gives exactly (exp(0) = 1,
// cos(0) = 1, pow(x, 0) = pow(1, y) = 1, tanh's +-1), and the sign (a nonzero result stays nonzero:
// it stops at the smallest subnormal) and range (|sin|, |cos|, |tanh| <= 1; no step to infinity).
// sqrt, fabs, floor, ceil and the _rn intrinsics are IEEE (exact or correctly rounded) in CUDA too
// and are not touched.
//
// Environment (read once, when the library loads):
//   ELBO4J_EMU_MATH=cuda (default) as above; =glibc: glibc's results unchanged (for debugging).
//   ELBO4J_EMU_MATH_SCALE=m: move by up to m n ulps instead of n (a debug switch: m = 8 or 64 shows
//   which tolerances would not absorb a larger error); m = 0 is glibc's results.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <bit>

namespace emu_math {

namespace detail {

// The multiplier of CUDA's documented bound: 1 by default, 0 for glibc's results.
inline int read_scale() {
    const char* mode = std::getenv("ELBO4J_EMU_MATH");
    if (mode != nullptr && *mode != '\0' && std::strcmp(mode, "cuda") != 0) {
        if (std::strcmp(mode, "glibc") == 0) return 0;
        std::fprintf(stderr, "elbo4j emulator: ELBO4J_EMU_MATH=%s is neither 'cuda' nor 'glibc'\n", mode);
        std::abort();
    }
    const char* scale = std::getenv("ELBO4J_EMU_MATH_SCALE");
    if (scale == nullptr || *scale == '\0') return 1;
    char* end = nullptr;
    const long m = std::strtol(scale, &end, 10);
    if (*end != '\0' || m < 0 || m > 1000000) {
        std::fprintf(stderr, "elbo4j emulator: ELBO4J_EMU_MATH_SCALE=%s is not an integer in 0..1000000\n", scale);
        std::abort();
    }
    return static_cast<int>(m);
}

inline const int scale = read_scale();

// Function identifiers for the hash (float and double versions differ).
enum Fn : uint64_t {
    kExpF = 1, kExp2F, kExpm1F, kLogF, kLog2F, kLog10F, kLog1pF, kSinF, kCosF, kTanF, kTanhF, kPowF,
    kExpD = 33, kExp2D, kExpm1D, kLogD, kLog2D, kLog10D, kLog1pD, kSinD, kCosD, kTanD, kTanhD, kPowD,
};

inline uint64_t mix(uint64_t z) {  // splitmix64's finaliser
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// The offset in ulps for this function and these argument bits: uniform in [-n scale, n scale].
inline int64_t offset(uint64_t fn, uint64_t a, uint64_t b, int n) {
    const int64_t w = static_cast<int64_t>(n) * scale;
    if (w == 0) return 0;
    const uint64_t h = mix(mix(fn * 0x100000001b3ull ^ a) ^ b);
    return static_cast<int64_t>(h % static_cast<uint64_t>(2 * w + 1)) - w;
}

// r moved by k ulps away from (k > 0) or towards (k < 0) zero, keeping its sign, never to zero
// and never above `cap` in magnitude (the largest finite value, or 1 for a bounded function).
template <typename F, typename U>
inline F step(F r, int64_t k, U cap_bits) {
    if (k == 0 || !std::isfinite(r) || r == F(0)) return r;
    const U bits = std::bit_cast<U>(r);
    const U sign = bits & (U(1) << (sizeof(U) * 8 - 1));
    const U mag = bits & ~sign;
    if (mag > cap_bits) return r;  // glibc already outside the range: leave it
    U m;
    if (k > 0) {
        const U up = static_cast<U>(k);
        m = cap_bits - mag < up ? cap_bits : mag + up;
    } else {
        const U down = static_cast<U>(-k);
        m = mag <= down ? U(1) : mag - down;
    }
    return std::bit_cast<F>(static_cast<U>(sign | m));
}

inline float stepf(float r, uint64_t fn, float x, int n, bool bounded = false) {
    const uint32_t cap = bounded ? std::bit_cast<uint32_t>(1.0f) : 0x7f7fffffu;
    if (bounded && std::fabs(r) == 1.0f) return r;
    return step<float, uint32_t>(r, offset(fn, std::bit_cast<uint32_t>(x), 0, n), cap);
}

inline double stepd(double r, uint64_t fn, double x, int n, bool bounded = false) {
    const uint64_t cap = bounded ? std::bit_cast<uint64_t>(1.0) : 0x7fefffffffffffffull;
    if (bounded && std::fabs(r) == 1.0) return r;
    return step<double, uint64_t>(r, offset(fn, std::bit_cast<uint64_t>(x), 0, n), cap);
}

}  // namespace detail

// CUDA's maximum ulp errors (see the table above), by function.
constexpr int kUlpExpF = 2, kUlpExp2F = 2, kUlpExpm1F = 1, kUlpLogF = 1, kUlpLog2F = 1, kUlpLog10F = 2,
              kUlpLog1pF = 1, kUlpSinF = 2, kUlpCosF = 2, kUlpTanF = 4, kUlpTanhF = 2, kUlpPowF = 8;
constexpr int kUlpExpD = 1, kUlpExp2D = 1, kUlpExpm1D = 1, kUlpLogD = 1, kUlpLog2D = 1, kUlpLog10D = 1,
              kUlpLog1pD = 1, kUlpSinD = 2, kUlpCosD = 2, kUlpTanD = 2, kUlpTanhD = 1, kUlpPowD = 2;

using namespace detail;

// Exponentials: exp(+-0) = 1 exactly.
inline float expf(float x) { return x == 0.0f ? 1.0f : stepf(::expf(x), kExpF, x, kUlpExpF); }
inline double exp(double x) { return x == 0.0 ? 1.0 : stepd(::exp(x), kExpD, x, kUlpExpD); }
inline float exp(float x) { return expf(x); }
inline float exp2f(float x) { return x == 0.0f ? 1.0f : stepf(::exp2f(x), kExp2F, x, kUlpExp2F); }
inline double exp2(double x) { return x == 0.0 ? 1.0 : stepd(::exp2(x), kExp2D, x, kUlpExp2D); }
inline float exp2(float x) { return exp2f(x); }
inline float expm1f(float x) { return stepf(::expm1f(x), kExpm1F, x, kUlpExpm1F); }
inline double expm1(double x) { return stepd(::expm1(x), kExpm1D, x, kUlpExpm1D); }
inline float expm1(float x) { return expm1f(x); }

// Logarithms: log(1) = 0 and log1p(0) = 0 are zeros, which stay.
inline float logf(float x) { return stepf(::logf(x), kLogF, x, kUlpLogF); }
inline double log(double x) { return stepd(::log(x), kLogD, x, kUlpLogD); }
inline float log(float x) { return logf(x); }
inline float log2f(float x) { return stepf(::log2f(x), kLog2F, x, kUlpLog2F); }
inline double log2(double x) { return stepd(::log2(x), kLog2D, x, kUlpLog2D); }
inline float log2(float x) { return log2f(x); }
inline float log10f(float x) { return stepf(::log10f(x), kLog10F, x, kUlpLog10F); }
inline double log10(double x) { return stepd(::log10(x), kLog10D, x, kUlpLog10D); }
inline float log10(float x) { return log10f(x); }
inline float log1pf(float x) { return stepf(::log1pf(x), kLog1pF, x, kUlpLog1pF); }
inline double log1p(double x) { return stepd(::log1p(x), kLog1pD, x, kUlpLog1pD); }
inline float log1p(float x) { return log1pf(x); }

// Trigonometric and hyperbolic: |sin|, |cos|, |tanh| <= 1, and +-1 stays; cos(0) = 1.
inline float sinf(float x) { return stepf(::sinf(x), kSinF, x, kUlpSinF, true); }
inline double sin(double x) { return stepd(::sin(x), kSinD, x, kUlpSinD, true); }
inline float sin(float x) { return sinf(x); }
inline float cosf(float x) { return stepf(::cosf(x), kCosF, x, kUlpCosF, true); }
inline double cos(double x) { return stepd(::cos(x), kCosD, x, kUlpCosD, true); }
inline float cos(float x) { return cosf(x); }
inline void sincosf(float x, float* s, float* c) { *s = sinf(x); *c = cosf(x); }
inline void sincos(double x, double* s, double* c) { *s = sin(x); *c = cos(x); }
inline void sincos(float x, float* s, float* c) { sincosf(x, s, c); }
inline float tanf(float x) { return stepf(::tanf(x), kTanF, x, kUlpTanF); }
inline double tan(double x) { return stepd(::tan(x), kTanD, x, kUlpTanD); }
inline float tan(float x) { return tanf(x); }
inline float tanhf(float x) { return stepf(::tanhf(x), kTanhF, x, kUlpTanhF, true); }
inline double tanh(double x) { return stepd(::tanh(x), kTanhD, x, kUlpTanhD, true); }
inline float tanh(float x) { return tanhf(x); }

// pow: pow(x, +-0) = 1 and pow(1, y) = 1 exactly; the hash covers both arguments.
inline float powf(float x, float y) {
    const float r = ::powf(x, y);
    if (y == 0.0f || x == 1.0f) return r;
    const int64_t k = offset(kPowF, std::bit_cast<uint32_t>(x), std::bit_cast<uint32_t>(y), kUlpPowF);
    return step<float, uint32_t>(r, k, 0x7f7fffffu);
}
inline double pow(double x, double y) {
    const double r = ::pow(x, y);
    if (y == 0.0 || x == 1.0) return r;
    const int64_t k = offset(kPowD, std::bit_cast<uint64_t>(x), std::bit_cast<uint64_t>(y), kUlpPowD);
    return step<double, uint64_t>(r, k, 0x7fefffffffffffffull);
}
inline float pow(float x, float y) { return powf(x, y); }

}  // namespace emu_math
