// Self-test of the emulator's race checker (scripts/build-emu.sh --race --selftest; kernels/emu/race.cpp):
// kernels with a race the fiber schedule hides (a shared-memory reduction missing a __syncthreads(),
// a warp-synchronous step without a barrier, two blocks writing one element, one block reading what
// another writes, the ticket pattern without either __threadfence()) fail their launch with the two
// accesses named, and their correct versions, the reductions of common.cuh and the library's own
// elbo4j_sum_f32 (the ticket pattern, launched through the driver API) do not. Compiled with
// -fsanitize=thread like the library's kernels and linked against build/emu-race/libcuda.so.1; run
// in both schedules.
#include "emu_runtime.h"
#include "race.h"
#include "common.cuh"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" {
int cuMemAlloc_v2(unsigned long long* p, size_t bytes);
int cuMemFree_v2(unsigned long long p);
int cuModuleLoadData(void** m, const void* image);
int cuModuleGetFunction(void** f, void* m, const char* name);
int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void* stream, void** params, void** extra);
extern char __start_elbo4j_shared[], __stop_elbo4j_shared[];
}

namespace {

int failures;

void expect(bool ok, const std::string& what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) ++failures;
}

template <typename T>
T* device(size_t n) {
    unsigned long long p = 0;
    if (cuMemAlloc_v2(&p, n * sizeof(T)) != 0) {
        fprintf(stderr, "cuMemAlloc_v2 failed\n");
        exit(1);
    }
    return reinterpret_cast<T*>(p);
}

constexpr int kBlock = 128;

// A tree reduction of one block's values in shared memory; `skip` leaves out the barrier after
// step `skip` (0: none left out).
__global__ void tree_sum_kernel(const float* x, float* out, int skip) {
    __shared__ float s[kBlock];
    const int t = threadIdx.x;
    s[t] = x[blockIdx.x * kBlock + t];
    __syncthreads();
    int step = 1;
    for (int half = kBlock / 2; half > 0; half >>= 1, ++step) {
        if (t < half) s[t] += s[t + half];
        if (step != skip) __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

// The warp-synchronous end of a reduction: the last 64 values folded by warp 0 without barriers
// (racy on Volta and later: the lanes of a warp are scheduled independently), or by a shuffle.
__global__ void warp_end_kernel(const float* x, float* out, int shuffle) {
    __shared__ float s[64];
    const int t = threadIdx.x;
    s[t] = x[t];
    __syncthreads();
    if (t < 32) {
        float v = s[t] + s[t + 32];
        if (shuffle) {
            v = elbo4j::warp_sum(v);
        } else {
            s[t] = v;
            for (int off = 16; off > 0; off >>= 1) {
                if (t < off) s[t] += s[t + off];
            }
            v = s[0];
        }
        if (t == 0) out[0] = v;
    }
}

// Every block writes out[0] (racy), or its own element.
__global__ void one_element_kernel(float* out, int own) {
    if (threadIdx.x == 0) out[own ? blockIdx.x : 0] = static_cast<float>(blockIdx.x);
}

// Block b reads x[0] and block 1 writes it, with no ordering between the blocks (racy whichever
// block runs first), or each block reads and writes its own element.
__global__ void read_write_kernel(float* x, float* out, int own) {
    if (threadIdx.x != 0) return;
    const int i = own ? blockIdx.x : 0;
    out[blockIdx.x] = x[i];
    if (own || blockIdx.x == 1) x[i] = 7.0f;
}

// The ticket pattern of reduce.cu: block partials, then the last block to take a ticket adds them.
// release: the __threadfence() before the ticket; acquire: the one after it.
__global__ void ticket_kernel(const double* x, double* partials, unsigned* counter, double* out, int release, int acquire) {
    __shared__ double scratch[kBlock / 32 + 1];
    __shared__ bool last;
    const double total = elbo4j::block_sum<kBlock>(x[blockIdx.x * kBlock + threadIdx.x], scratch);
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = total;
        if (release) __threadfence();
        last = atomicAdd(counter, 1u) == gridDim.x - 1;
        if (acquire) __threadfence();
    }
    __syncthreads();
    if (!last) return;
    double s = 0.0;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += kBlock) s += __ldcg(partials + b);
    s = elbo4j::block_sum<kBlock>(s, scratch);
    if (threadIdx.x == 0) {
        out[0] = s;
        *counter = 0u;
    }
}

// Atomics on one counter from every thread of every block: no race. A plain read of it in another
// block: a race with the atomics.
__global__ void counter_kernel(unsigned* counter, unsigned* seen, int plain_read) {
    atomicAdd(counter, 1u);
    if (plain_read && blockIdx.x == 1 && threadIdx.x == 0) seen[0] = *counter;
}

// Shared memory reused after barriers, and by the next block: no race.
__global__ void reuse_kernel(float* out) {
    __shared__ float s[kBlock];
    const int t = threadIdx.x;
    s[t] = static_cast<float>(t + blockIdx.x);
    __syncthreads();
    const float v = s[kBlock - 1 - t];
    __syncthreads();
    s[t] = v * 2.0f;
    __syncthreads();
    out[blockIdx.x * kBlock + t] = s[(t + 1) % kBlock];
}

int launch(const char* name, unsigned grid, unsigned block, emu::Bound k) {
    return emu::run_grid(k, name, dim3{grid, 1, 1}, dim3{block, 1, 1}, 0);
}

bool raced(int rc) { return rc == 719 && emu::last_error().find(" race: ") != std::string::npos; }

void expect_race(int rc, const std::string& what, const char* must_name) {
    const bool ok = raced(rc) && emu::last_error().find(must_name) != std::string::npos;
    expect(ok, what + " is reported");
    printf("      (%s)\n", rc ? emu::last_error().c_str() : "no report");
}

void expect_clean(int rc, const std::string& what) {
    expect(rc == 0, what + " is not reported");
    if (rc) printf("      (%s)\n", emu::last_error().c_str());
}

}  // namespace

int main() {
    emu::race::shared_section(__start_elbo4j_shared, __stop_elbo4j_shared);
    float* x = device<float>(4 * kBlock);
    float* out = device<float>(4 * kBlock);
    for (int i = 0; i < 4 * kBlock; ++i) x[i] = static_cast<float>(i % 7);

    expect_clean(launch("tree_sum", 4, kBlock, [=] { tree_sum_kernel(x, out, 0); }), "a shared-memory tree reduction with its barriers");
    const bool sum_ok = out[0] == static_cast<float>([&] { float s = 0; for (int i = 0; i < kBlock; ++i) s += x[i]; return s; }());
    expect(sum_ok, "... and it adds up");
    for (int skip : {1, 3, 6}) {
        expect_race(launch("tree_sum", 4, kBlock, [=] { tree_sum_kernel(x, out, skip); }),
                    "a shared-memory tree reduction missing its barrier after step " + std::to_string(skip), "shared memory");
    }
    expect_race(launch("warp_end", 1, 64, [=] { warp_end_kernel(x, out, 0); }), "a warp-synchronous step in shared memory without a barrier",
                "same block, no __syncthreads()");
    expect_clean(launch("warp_end", 1, 64, [=] { warp_end_kernel(x, out, 1); }), "the same step by shuffles");
    expect_race(launch("one_element", 3, 32, [=] { one_element_kernel(out, 0); }), "two blocks writing one global element",
                "device allocation");
    expect_clean(launch("one_element", 3, 32, [=] { one_element_kernel(out, 1); }), "blocks writing their own elements");
    expect_race(launch("read_write", 3, 32, [=] { read_write_kernel(x, out, 0); }), "one block writing what another reads",
                "different blocks");
    expect_clean(launch("read_write", 3, 32, [=] { read_write_kernel(x, out, 1); }), "blocks reading and writing their own elements");

    double* xd = device<double>(6 * kBlock);
    double* partials = device<double>(6);
    unsigned* counter = device<unsigned>(1);
    double* outd = device<double>(1);
    double want = 0;
    for (int i = 0; i < 6 * kBlock; ++i) {
        xd[i] = (i * 37 % 101) - 50;
        want += xd[i];
    }
    *counter = 0;
    int rc = launch("ticket", 6, kBlock, [=] { ticket_kernel(xd, partials, counter, outd, 1, 1); });
    expect_clean(rc, "the ticket pattern with both __threadfence() calls");
    expect(rc == 0 && *outd == want && *counter == 0, "... and it adds up and resets its ticket");
    *counter = 0;
    expect_race(launch("ticket", 6, kBlock, [=] { ticket_kernel(xd, partials, counter, outd, 0, 1); }),
                "the ticket pattern without the __threadfence() before the ticket", "different blocks");
    *counter = 0;
    expect_race(launch("ticket", 6, kBlock, [=] { ticket_kernel(xd, partials, counter, outd, 1, 0); }),
                "the ticket pattern without the __threadfence() after the ticket", "different blocks");
    *counter = 0;
    expect_clean(launch("counter", 4, 64, [=] { counter_kernel(counter, counter + 0, 0); }), "atomics on one counter from every thread");
    unsigned* seen = device<unsigned>(1);
    expect_race(launch("counter", 4, 64, [=] { counter_kernel(counter, seen, 1); }), "a plain read of a counter other blocks add to atomically",
                "atomic");
    expect_clean(launch("reuse", 3, kBlock, [=] { reuse_kernel(out); }), "shared memory reused after barriers and by the next block");

    // The library's own ticket reduction, through the driver API (its static shared memory is the
    // library's section).
    const char image[16] = {'\x50', '\xed', '\x55', '\xba'};
    void *module, *fn;
    if (cuModuleLoadData(&module, image) != 0 || cuModuleGetFunction(&fn, module, "elbo4j_sum_f64") != 0) {
        expect(false, "elbo4j_sum_f64 in the registry");
    } else {
        long long n = 6 * kBlock;
        double* partials_lib = device<double>(1024);
        double scale = 1.0;
        int accumulate = 0;
        *counter = 0;
        void* params[] = {&xd, &n, &partials_lib, &counter, &outd, &scale, &accumulate};
        rc = cuLaunchKernel(fn, 3, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr);
        expect_clean(rc, "elbo4j_sum_f64 (reduce.cu's ticket pattern) over 3 blocks");
        expect(rc == 0 && *outd == want, "... and it adds up");
    }

    printf("%s\n", failures ? "emu race selftest: FAILED" : "emu race selftest: all passed");
    return failures ? 1 : 0;
}
