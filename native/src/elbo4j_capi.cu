// The C ABI of include/elbo4j.h: host launchers for the fused kernels, compiled together with the
// kernels themselves (latent.cu and likelihood.cu are included below, so the .so carries exactly the
// device code the Java backend's fatbin carries for these entry points). The launch configuration
// replicates dev.elbo4j.backend.cuda.CudaBackend / Kernels (grid sizes are functions of the shapes
// and the SM count, as there), so results are bit-identical to the Java backend's.
#include "elbo4j.h"

#include "latent.cu"
#include "likelihood.cu"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>

#define ELBO4J_TRY(expr)                          \
    do {                                          \
        elbo4j_status s_ = (expr);                \
        if (s_ != ELBO4J_SUCCESS) return s_;      \
    } while (0)

namespace {

// Kernels.MAX_ROW_BLOCKS: a likelihood launch has at most this many row blocks.
constexpr int kMaxRowBlocks = 1024;
constexpr int kMaxDevices = 64;

thread_local char g_error[512];
std::atomic<int> g_sms[kMaxDevices];  // 0: not looked up yet

elbo4j_status fail(elbo4j_status status, const char* fn, const char* fmt, ...) {
    int n = std::snprintf(g_error, sizeof g_error, "%s: ", fn);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && n < static_cast<int>(sizeof g_error)) std::vsnprintf(g_error + n, sizeof g_error - n, fmt, ap);
    va_end(ap);
    return status;
}

elbo4j_status cuda_fail(const char* fn, const char* call, cudaError_t e) {
    return fail(ELBO4J_ERROR_CUDA, fn, "%s failed: %s (%d): %s", call, cudaGetErrorName(e), static_cast<int>(e),
                cudaGetErrorString(e));
}

long long host_ceil_div(long long a, long long b) { return (a + b - 1) / b; }

// Kernels.blocks: enough blocks to cover the work once, at least 1, at most max_blocks.
int host_blocks(long long work, int per_block, int max_blocks) {
    long long b = host_ceil_div(std::max(work, 1LL), per_block);
    return static_cast<int>(std::max(1LL, std::min(b, static_cast<long long>(max_blocks))));
}

int host_next_pow2(int n) {
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

// Kernels.latentGroup.
int host_latent_group(int latent) { return std::min(32, host_next_pow2(static_cast<int>(host_ceil_div(latent, 4)) + 1)); }

// Kernels.rowsPerBlock.
int host_rows_per_block(int rows) {
    int b = std::max(1, std::min(rows, kMaxRowBlocks));
    return static_cast<int>(host_ceil_div(std::max(rows, 1), b));
}

// 8 x SMs of the current device (CudaBackend's maxBlocks: one wave of 256-thread blocks).
elbo4j_status max_blocks(const char* fn, int* out) {
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaGetDevice", e);
    int sms = dev >= 0 && dev < kMaxDevices ? g_sms[dev].load(std::memory_order_relaxed) : 0;
    if (sms == 0) {
        e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        if (e != cudaSuccess) return cuda_fail(fn, "cudaDeviceGetAttribute(cudaDevAttrMultiProcessorCount)", e);
        if (dev >= 0 && dev < kMaxDevices) g_sms[dev].store(sms, std::memory_order_relaxed);
    }
    *out = std::max(1, sms) * 8;
    return ELBO4J_SUCCESS;
}

// One buffer argument of a call.
struct Arg {
    const char* name;
    const void* ptr;
    long long elements;
    bool output;
    bool optional;
};

bool overlaps(const Arg& a, const Arg& b) {
    uintptr_t a0 = reinterpret_cast<uintptr_t>(a.ptr), a1 = a0 + 4ull * a.elements;
    uintptr_t b0 = reinterpret_cast<uintptr_t>(b.ptr), b1 = b0 + 4ull * b.elements;
    return a0 < b1 && b0 < a1;
}

// The host-only checks of a call's buffers: null, alignment, overlap of outputs with other arguments.
elbo4j_status check_layout(const char* fn, const Arg* args, int n) {
    for (int i = 0; i < n; ++i) {
        const Arg& a = args[i];
        if (a.ptr == nullptr) {
            if (a.optional) continue;
            return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "%s is NULL", a.name);
        }
        if (reinterpret_cast<uintptr_t>(a.ptr) % 4 != 0) {
            return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "%s at %p is not 4-byte aligned (float32)", a.name, a.ptr);
        }
    }
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
            const Arg& a = args[i];
            const Arg& b = args[j];
            if ((a.output || b.output) && a.ptr && b.ptr && overlaps(a, b)) {
                const Arg& out = a.output ? a : b;
                const Arg& other = a.output ? b : a;
                return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "output %s overlaps %s", out.name, other.name);
            }
        }
    }
    return ELBO4J_SUCCESS;
}

// The checks that ask CUDA: every buffer is memory the current device can access.
elbo4j_status check_memory(const char* fn, const Arg* args, int n) {
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaGetDevice", e);
    for (int i = 0; i < n; ++i) {
        const Arg& a = args[i];
        if (a.ptr == nullptr) continue;
        cudaPointerAttributes attr;
        e = cudaPointerGetAttributes(&attr, a.ptr);
        if (e != cudaSuccess) return cuda_fail(fn, "cudaPointerGetAttributes", e);
        if (attr.type == cudaMemoryTypeUnregistered) {
            return fail(ELBO4J_ERROR_MEMORY, fn, "%s at %p is host memory the device cannot access (a CPU tensor?)",
                        a.name, a.ptr);
        }
        if (attr.type == cudaMemoryTypeDevice && attr.device != dev) {
            return fail(ELBO4J_ERROR_MEMORY, fn, "%s at %p is on device %d, the current device is %d", a.name, a.ptr,
                        attr.device, dev);
        }
    }
    return ELBO4J_SUCCESS;
}

// All buffer checks, host-only ones first (so they work, and are testable, without a GPU).
elbo4j_status check_buffers(const char* fn, const Arg* args, int n) {
    ELBO4J_TRY(check_layout(fn, args, n));
    return check_memory(fn, args, n);
}

elbo4j_status check_dims(const char* fn, int batch, int samples, int third, const char* third_name, long long* rows) {
    if (batch < 1) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "batch must be >= 1, got %d", batch);
    if (samples < 1) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "samples must be >= 1, got %d", samples);
    if (third < 1) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "%s must be >= 1, got %d", third_name, third);
    *rows = static_cast<long long>(samples) * batch;
    if (*rows > 0x7fffffffLL) {
        return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "rows (samples x batch) = %lld exceeds 2^31 - 1", *rows);
    }
    return ELBO4J_SUCCESS;
}

elbo4j_status launch(const char* fn, const void* kernel, int grid, int block, void** args, elbo4j_stream stream) {
    cudaError_t e = cudaLaunchKernel(kernel, dim3(grid), dim3(block), args, 0, reinterpret_cast<cudaStream_t>(stream));
    if (e != cudaSuccess) return cuda_fail(fn, "cudaLaunchKernel", e);
    g_error[0] = '\0';
    return ELBO4J_SUCCESS;
}

}  // namespace

extern "C" {

int elbo4j_abi_version(void) { return ELBO4J_ABI_VERSION; }

const char* elbo4j_status_string(elbo4j_status status) {
    switch (status) {
        case ELBO4J_SUCCESS: return "ELBO4J_SUCCESS";
        case ELBO4J_ERROR_INVALID_VALUE: return "ELBO4J_ERROR_INVALID_VALUE";
        case ELBO4J_ERROR_MEMORY: return "ELBO4J_ERROR_MEMORY";
        case ELBO4J_ERROR_CUDA: return "ELBO4J_ERROR_CUDA";
    }
    return "ELBO4J_UNKNOWN_STATUS";
}

const char* elbo4j_last_error(void) { return g_error; }

elbo4j_status elbo4j_latent_forward(const float* stats, float* eps, float* z, float* kl, float* log_ratio,
                                    int batch, int latent, int samples,
                                    uint64_t seed, uint32_t rng_stream, uint64_t step, elbo4j_stream stream) {
    const char* fn = "elbo4j_latent_forward";
    long long rows = 0;
    ELBO4J_TRY(check_dims(fn, batch, samples, latent, "latent", &rows));
    if (2LL * latent > 0x7fffffffLL) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "2 x latent exceeds 2^31 - 1");
    if (rng_stream > 0xff) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "rng_stream must be < 256, got %u", rng_stream);
    if (step >= (1ull << 56)) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "step must be < 2^56");
    const Arg args[] = {{"stats", stats, 2LL * batch * latent, false, false},
                        {"eps", eps, rows * latent, true, false},
                        {"z", z, rows * latent, true, false},
                        {"kl", kl, batch, true, true},
                        {"log_ratio", log_ratio, rows, true, true}};
    ELBO4J_TRY(check_buffers(fn, args, 5));
    int maxb = 0;
    ELBO4J_TRY(max_blocks(fn, &maxb));
    int r = static_cast<int>(rows), group = host_latent_group(latent);
    unsigned int seed_lo = static_cast<unsigned int>(seed), seed_hi = static_cast<unsigned int>(seed >> 32);
    unsigned long long st = step;
    const unsigned long long* step_ptr = nullptr;
    void* params[] = {&stats, &eps, &z, &kl, &log_ratio, &batch, &latent, &r, &group,
                      &seed_lo, &seed_hi, &rng_stream, &st, &step_ptr};
    return launch(fn, reinterpret_cast<const void*>(&elbo4j_latent_forward_f32),
                  host_blocks(rows, ELBO4J_BLOCK_LATENT / group, maxb), ELBO4J_BLOCK_LATENT, params, stream);
}

elbo4j_status elbo4j_latent_backward(const float* stats, const float* eps, const float* dz, double kl_weight,
                                     float* d_stats, int batch, int latent, int samples, elbo4j_stream stream) {
    const char* fn = "elbo4j_latent_backward";
    long long rows = 0;
    ELBO4J_TRY(check_dims(fn, batch, samples, latent, "latent", &rows));
    if (2LL * latent > 0x7fffffffLL) return fail(ELBO4J_ERROR_INVALID_VALUE, fn, "2 x latent exceeds 2^31 - 1");
    const Arg args[] = {{"stats", stats, 2LL * batch * latent, false, false},
                        {"eps", eps, rows * latent, false, false},
                        {"dz", dz, rows * latent, false, false},
                        {"d_stats", d_stats, 2LL * batch * latent, true, false}};
    ELBO4J_TRY(check_buffers(fn, args, 4));
    int maxb = 0;
    ELBO4J_TRY(max_blocks(fn, &maxb));
    void* params[] = {&stats, &eps, &dz, &d_stats, &batch, &latent, &samples, &kl_weight};
    return launch(fn, reinterpret_cast<const void*>(&elbo4j_latent_backward_f32),
                  host_blocks(static_cast<long long>(batch) * latent, ELBO4J_BLOCK_ELEMENTWISE, maxb),
                  ELBO4J_BLOCK_ELEMENTWISE, params, stream);
}

elbo4j_status elbo4j_bernoulli(const float* logits, const float* x, float* row_loss, float* d_logits,
                               int batch, int samples, int dim, float grad_scale, elbo4j_stream stream) {
    const char* fn = "elbo4j_bernoulli";
    long long rows = 0;
    ELBO4J_TRY(check_dims(fn, batch, samples, dim, "dim", &rows));
    const Arg args[] = {{"logits", logits, rows * dim, false, false},
                        {"x", x, static_cast<long long>(batch) * dim, false, false},
                        {"row_loss", row_loss, rows, true, false},
                        {"d_logits", d_logits, rows * dim, true, true}};
    ELBO4J_TRY(check_buffers(fn, args, 4));
    int r = static_cast<int>(rows), rpb = host_rows_per_block(r);
    void* params[] = {&logits, &x, &row_loss, &d_logits, &r, &batch, &dim, &rpb, &grad_scale};
    return launch(fn, reinterpret_cast<const void*>(&elbo4j_bernoulli_f32), static_cast<int>(host_ceil_div(r, rpb)),
                  ELBO4J_BLOCK_ROW, params, stream);
}

elbo4j_status elbo4j_gaussian(const float* mean, const float* x, float* row_loss, float* d_mean,
                              int batch, int samples, int dim, double log_var, float grad_scale, elbo4j_stream stream) {
    const char* fn = "elbo4j_gaussian";
    long long rows = 0;
    ELBO4J_TRY(check_dims(fn, batch, samples, dim, "dim", &rows));
    const Arg args[] = {{"mean", mean, rows * dim, false, false},
                        {"x", x, static_cast<long long>(batch) * dim, false, false},
                        {"row_loss", row_loss, rows, true, false},
                        {"d_mean", d_mean, rows * dim, true, true}};
    ELBO4J_TRY(check_buffers(fn, args, 4));
    int r = static_cast<int>(rows), rpb = host_rows_per_block(r), acc_in_shared = 0;
    const float* log_var_ptr = nullptr;
    double* col_partial = nullptr;
    float fixed_prec = static_cast<float>(std::exp(-log_var));  // as CudaBackend: (float) Math.exp(-lv)
    void* params[] = {&mean, &x, &log_var_ptr, &row_loss, &d_mean, &col_partial, &r, &batch, &dim, &rpb,
                      &acc_in_shared, &log_var, &fixed_prec, &grad_scale};
    return launch(fn, reinterpret_cast<const void*>(&elbo4j_gaussian_f32), static_cast<int>(host_ceil_div(r, rpb)),
                  ELBO4J_BLOCK_ROW, params, stream);
}

}  // extern "C"
