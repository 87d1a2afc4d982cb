// Self-test of the emulator's CUDA math (kernels/emu/cuda_math_emu.h; scripts/build-emu.sh
// --selftest): every function the kernels may call returns glibc's result moved by at most CUDA's
// documented ulp error n (times ELBO4J_EMU_MATH_SCALE), some results do move (by as much as n
// either way), the same argument always gives the same bits, and special values keep their
// meaning. Under ELBO4J_EMU_MATH=glibc every result is glibc's.
#include "cuda_math_emu.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <type_traits>

namespace em = emu_math;

namespace {

int failures;

void expect(bool ok, const char* what) {
    if (!ok) {
        printf("FAIL %s\n", what);
        ++failures;
    }
}

// Signed distance in ulps from a to b (same sign, both finite).
int64_t ulps(float a, float b) {
    auto key = [](float v) {
        const int32_t i = std::bit_cast<int32_t>(v);
        return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
    };
    return key(b) - key(a);
}
int64_t ulps(double a, double b) {
    auto key = [](double v) {
        const int64_t i = std::bit_cast<int64_t>(v);
        return i < 0 ? -(i & 0x7fffffffffffffffll) : i;
    };
    return key(b) - key(a);
}

uint64_t state = 0x243f6a8885a308d3ull;
uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}
double uniform(double lo, double hi) { return lo + (hi - lo) * (static_cast<double>(next() >> 11) * 0x1p-53); }

// One function against glibc over `count` arguments in [lo, hi]: within n scale ulps, every result
// finite where glibc's is, deterministic; with scale > 0 some move, and both extremes are reached.
template <typename T, typename F, typename G>
void check(const char* name, F emulated, G glibc, int n, double lo, double hi, int count = 20000) {
    const int64_t w = static_cast<int64_t>(n) * emu_math::detail::scale;
    int moved = 0, hit_low = 0, hit_high = 0, bad = 0;
    for (int i = 0; i < count; ++i) {
        const T x = static_cast<T>(uniform(lo, hi));
        const T r = emulated(x), g = glibc(x);
        if (std::bit_cast<std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>(r)
            != std::bit_cast<std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>(emulated(x))) ++bad;
        if (!std::isfinite(g)) {
            if (!(std::isnan(g) ? std::isnan(r) : r == g)) ++bad;
            continue;
        }
        if (!std::isfinite(r) || std::signbit(r) != std::signbit(g) || (g != 0) != (r != 0)) {
            ++bad;
            continue;
        }
        const int64_t d = ulps(g, r) * (std::signbit(g) ? -1 : 1);  // away from zero is positive
        if (d > w || d < -w) ++bad;
        if (d != 0) ++moved;
        if (d == w) ++hit_high;
        if (d == -w) ++hit_low;
    }
    char what[160];
    snprintf(what, sizeof what, "%s: %d of %d results off by more than %lld ulps, non-finite or not deterministic",
             name, bad, count, static_cast<long long>(w));
    expect(bad == 0, what);
    if (w > 0) {
        snprintf(what, sizeof what, "%s: moved %d of %d, %d by +%lld, %d by -%lld", name, moved, count, hit_high,
                 static_cast<long long>(w), hit_low, static_cast<long long>(w));
        expect(moved > count / 4 && hit_high > 0 && hit_low > 0, what);
    } else {
        snprintf(what, sizeof what, "%s: %d of %d results differ from glibc's", name, moved, count);
        expect(moved == 0, what);
    }
}

template <typename T>
bool same(T a, T b) { return std::isnan(a) ? std::isnan(b) : (a == b && std::signbit(a) == std::signbit(b)); }

}  // namespace

int main() {
    const int s = em::detail::scale;
    printf("emu math selftest: scale %d (ELBO4J_EMU_MATH=%s)\n", s, s == 0 ? "glibc" : "cuda");

    // The functions the kernels call, over the ranges they see, and the rest of the table.
    check<float>("expf", [](float x) { return em::expf(x); }, [](float x) { return ::expf(x); }, em::kUlpExpF, -100, 80);
    check<float>("exp(float)", [](float x) { return em::exp(x); }, [](float x) { return ::expf(x); }, em::kUlpExpF, -20, 20);
    check<float>("log1pf", [](float x) { return em::log1pf(x); }, [](float x) { return ::log1pf(x); }, em::kUlpLog1pF, 0, 1);
    check<float>("logf", [](float x) { return em::logf(x); }, [](float x) { return ::logf(x); }, em::kUlpLogF, 1e-30, 1e30);
    check<float>("tanhf", [](float x) { return em::tanhf(x); }, [](float x) { return ::tanhf(x); }, em::kUlpTanhF, -5, 5);
    check<float>("sinf", [](float x) { return em::sinf(x); }, [](float x) { return ::sinf(x); }, em::kUlpSinF, -10, 10);
    check<float>("cosf", [](float x) { return em::cosf(x); }, [](float x) { return ::cosf(x); }, em::kUlpCosF, -10, 10);
    check<float>("expm1f", [](float x) { return em::expm1f(x); }, [](float x) { return ::expm1f(x); }, em::kUlpExpm1F, -5, 5);
    check<float>("exp2f", [](float x) { return em::exp2f(x); }, [](float x) { return ::exp2f(x); }, em::kUlpExp2F, -50, 50);
    check<float>("log2f", [](float x) { return em::log2f(x); }, [](float x) { return ::log2f(x); }, em::kUlpLog2F, 1e-3, 1e3);
    check<float>("log10f", [](float x) { return em::log10f(x); }, [](float x) { return ::log10f(x); }, em::kUlpLog10F, 1e-3, 1e3);
    check<float>("tanf", [](float x) { return em::tanf(x); }, [](float x) { return ::tanf(x); }, em::kUlpTanF, -1.5, 1.5);
    check<float>("powf(x, 0.7)", [](float x) { return em::powf(x, 0.7f); }, [](float x) { return ::powf(x, 0.7f); },
                 em::kUlpPowF, 0, 100);
    check<double>("exp", [](double x) { return em::exp(x); }, [](double x) { return ::exp(x); }, em::kUlpExpD, -700, 700);
    check<double>("log", [](double x) { return em::log(x); }, [](double x) { return ::log(x); }, em::kUlpLogD, 1e-300, 1e300);
    check<double>("log1p", [](double x) { return em::log1p(x); }, [](double x) { return ::log1p(x); }, em::kUlpLog1pD, -0.99, 10);
    check<double>("tanh", [](double x) { return em::tanh(x); }, [](double x) { return ::tanh(x); }, em::kUlpTanhD, -10, 10);
    check<double>("sin", [](double x) { return em::sin(x); }, [](double x) { return ::sin(x); }, em::kUlpSinD, -7, 7);
    check<double>("cos", [](double x) { return em::cos(x); }, [](double x) { return ::cos(x); }, em::kUlpCosD, -7, 7);
    check<double>("sincos: sin", [](double x) { double a, b; em::sincos(x, &a, &b); return a; },
                  [](double x) { return ::sin(x); }, em::kUlpSinD, 0, 6.3);
    check<double>("sincos: cos", [](double x) { double a, b; em::sincos(x, &a, &b); return b; },
                  [](double x) { return ::cos(x); }, em::kUlpCosD, 0, 6.3);
    check<double>("expm1", [](double x) { return em::expm1(x); }, [](double x) { return ::expm1(x); }, em::kUlpExpm1D, -5, 5);
    check<double>("exp2", [](double x) { return em::exp2(x); }, [](double x) { return ::exp2(x); }, em::kUlpExp2D, -50, 50);
    check<double>("log2", [](double x) { return em::log2(x); }, [](double x) { return ::log2(x); }, em::kUlpLog2D, 1e-3, 1e3);
    check<double>("log10", [](double x) { return em::log10(x); }, [](double x) { return ::log10(x); }, em::kUlpLog10D, 1e-3, 1e3);
    check<double>("tan", [](double x) { return em::tan(x); }, [](double x) { return ::tan(x); }, em::kUlpTanD, -1.5, 1.5);
    check<double>("pow(0.9, y)", [](double y) { return em::pow(0.9, y); }, [](double y) { return ::pow(0.9, y); },
                  em::kUlpPowD, 1, 6000);
    check<double>("pow(x, 1000)", [](double x) { return em::pow(x, 1000.0); }, [](double x) { return ::pow(x, 1000.0); },
                  em::kUlpPowD, 0.5, 1.0);

    // Special values: NaN stays NaN, infinities and zeros stay, exact results stay exact, a
    // nonzero result stays nonzero with its sign, bounded functions stay within their bounds.
    const float nanf = std::numeric_limits<float>::quiet_NaN(), inff = std::numeric_limits<float>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    expect(std::isnan(em::expf(nanf)) && std::isnan(em::exp(nan)) && std::isnan(em::log(nan)) && std::isnan(em::tanhf(nanf))
               && std::isnan(em::log1pf(nanf)) && std::isnan(em::pow(nan, 2.0)) && std::isnan(em::sin(nan)),
           "NaN in, NaN out");
    expect(std::isnan(em::log(-1.0)) && std::isnan(em::logf(-1.0f)) && std::isnan(em::log1p(-2.0)), "log of a negative is NaN");
    expect(same(em::expf(0.0f), 1.0f) && same(em::expf(-0.0f), 1.0f) && same(em::exp(0.0), 1.0) && same(em::exp(-0.0), 1.0),
           "exp(+-0) = 1");
    expect(same(em::log(1.0), 0.0) && same(em::logf(1.0f), 0.0f) && same(em::log1p(0.0), 0.0) && same(em::log1pf(-0.0f), -0.0f),
           "log(1) = 0, log1p(+-0) = +-0");
    expect(same(em::log(0.0), -inf) && same(em::logf(0.0f), -inff) && same(em::log1p(-1.0), -inf) && same(em::log(inf), inf),
           "log(0) = -inf, log1p(-1) = -inf, log(inf) = inf");
    expect(same(em::exp(inf), inf) && same(em::exp(-inf), 0.0) && same(em::expf(inff), inff) && same(em::expf(-inff), 0.0f)
               && same(em::exp(1000.0), inf) && same(em::expf(-200.0f), 0.0f),
           "exp(+inf) = inf, exp(-inf) = 0, overflow and underflow as glibc");
    bool tiny = true;
    for (double x = -745.0; x < -700.0; x += 0.37) tiny = tiny && em::exp(x) > 0.0;
    for (float x = -103.0f; x < -80.0f; x += 0.11f) tiny = tiny && em::expf(x) > 0.0f;
    expect(tiny, "exp of a large negative argument stays positive where glibc's is");
    bool big = true;
    for (double x = 709.0; x < 709.78; x += 0.001) big = big && std::isfinite(em::exp(x));
    for (float x = 88.0f; x < 88.72f; x += 0.001f) big = big && std::isfinite(em::expf(x));
    expect(big, "exp below overflow stays finite");
    bool bounded = true;
    for (double x = -40.0; x < 40.0; x += 0.013) {
        bounded = bounded && std::fabs(em::tanh(x)) <= 1.0 && std::fabs(em::sin(x)) <= 1.0 && std::fabs(em::cos(x)) <= 1.0
                  && std::fabs(em::tanhf(static_cast<float>(x))) <= 1.0f && std::signbit(em::tanh(x)) == std::signbit(x);
    }
    expect(bounded, "|tanh|, |sin|, |cos| <= 1 and tanh keeps its sign");
    expect(same(em::tanh(30.0), 1.0) && same(em::tanh(-30.0), -1.0) && same(em::tanhf(20.0f), 1.0f) && same(em::tanhf(-20.0f), -1.0f)
               && same(em::tanh(inf), 1.0) && same(em::tanhf(-inff), -1.0f) && same(em::tanh(-0.0), -0.0) && same(em::tanhf(0.0f), 0.0f),
           "tanh saturates to +-1 exactly, tanh(+-0) = +-0");
    expect(same(em::cos(0.0), 1.0) && same(em::cosf(0.0f), 1.0f) && same(em::sin(-0.0), -0.0) && same(em::sinf(0.0f), 0.0f),
           "cos(0) = 1, sin(+-0) = +-0");
    double sc = 5.0, cc = 5.0;
    em::sincos(0.0, &sc, &cc);
    expect(same(sc, 0.0) && same(cc, 1.0), "sincos(0) = (0, 1)");
    expect(same(em::pow(0.3, 0.0), 1.0) && same(em::pow(1.0, 123.4), 1.0) && same(em::powf(7.0f, -0.0f), 1.0f)
               && same(em::pow(0.0, 2.0), 0.0) && same(em::pow(2.0, 1e6), inf),
           "pow(x, 0) = pow(1, y) = 1, zeros and infinities stay");

    // The same input in another order gives the same bits (a hash of the argument, no state).
    const double probe = 0.123456789;
    const double first = em::exp(probe);
    for (int i = 0; i < 1000; ++i) (void) em::exp(uniform(-5, 5));
    expect(std::bit_cast<uint64_t>(em::exp(probe)) == std::bit_cast<uint64_t>(first), "exp(x) does not depend on earlier calls");

    printf("%s\n", failures ? "emu math selftest: FAILED" : "emu math selftest: all passed");
    return failures ? 1 : 0;
}
