// Self-test of the CPU emulator's grid runner (scripts/build-emu.sh --selftest): the reductions of
// common.cuh give the right sums under both schedules, and the launch fails, with a reason, where a
// kernel's barriers or shuffles are not reached by every thread that must reach them.
#include "../libcuda_emu.cpp"

#include <cstdio>

namespace {

int failures;

void expect(bool ok, const char* what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

double block_result[4];

__global__ void block_sum_kernel(const double* x) {
    __shared__ double scratch[256 / 32 + 1];
    const double s = elbo4j::block_sum<256>(x[blockIdx.x * blockDim.x + threadIdx.x], scratch);
    if (threadIdx.x == 255) block_result[blockIdx.x] = s;  // every thread holds the total
}

int group_ok;
__global__ void group_sum_kernel() {
    const float v = static_cast<float>(threadIdx.x % 32);
    const float s = elbo4j::group_sum(v, 8);           // lanes 8g .. 8g + 7
    const int g0 = threadIdx.x % 32 / 8 * 8;
    const float want = static_cast<float>(8 * g0 + 28);  // sum of g0 .. g0 + 7
    if (s != want) group_ok = 0;
}

__global__ void divergent_barrier_kernel() {
    if (threadIdx.x < 128) __syncthreads();  // half the block never arrives
}

__global__ void early_exit_kernel() {
    if (threadIdx.x >= 200) return;  // exits while the others wait
    __syncthreads();
}

__global__ void divergent_shuffle_kernel() {
    float v = 1.0f;
    if (threadIdx.x % 32 < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);  // half a warp
    (void) v;
}

__global__ void partial_mask_kernel() {
    float v = __shfl_xor_sync(0x0000ffffu, 1.0f, 1);
    (void) v;
}

}  // namespace

int main() {
    std::vector<double> x(4 * 256);
    double want[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4 * 256; ++i) {
        x[i] = (i * 37 % 101) - 50;
        want[i / 256] += x[i];
    }
    const double* xp = x.data();
    int rc = emu::run_grid([xp] { block_sum_kernel(xp); }, "block_sum", dim3{4, 1, 1}, dim3{256, 1, 1}, 0);
    expect(rc == 0 && block_result[0] == want[0] && block_result[1] == want[1] && block_result[2] == want[2]
               && block_result[3] == want[3], "block_sum<256> over 4 blocks");
    group_ok = 1;
    rc = emu::run_grid([] { group_sum_kernel(); }, "group_sum", dim3{2, 1, 1}, dim3{64, 1, 1}, 0);
    expect(rc == 0 && group_ok, "group_sum width 8");
    rc = emu::run_grid([] { divergent_barrier_kernel(); }, "divergent", dim3{1, 1, 1}, dim3{256, 1, 1}, 0);
    expect(rc == 719 && emu::last_error().find("divergent barrier") != std::string::npos, "divergent __syncthreads is a launch failure");
    printf("      (%s)\n", emu::last_error().c_str());
    rc = emu::run_grid([] { early_exit_kernel(); }, "early_exit", dim3{1, 1, 1}, dim3{256, 1, 1}, 0);
    expect(rc == 719, "threads exiting before a __syncthreads the others wait at is a launch failure");
    rc = emu::run_grid([] { divergent_shuffle_kernel(); }, "divergent_shuffle", dim3{1, 1, 1}, dim3{32, 1, 1}, 0);
    expect(rc == 719, "a full-mask shuffle reached by half a warp is a launch failure");
    rc = emu::run_grid([] { partial_mask_kernel(); }, "partial_mask", dim3{1, 1, 1}, dim3{32, 1, 1}, 0);
    expect(rc == 719 && emu::last_error().find("partial mask") != std::string::npos, "a partial shuffle mask is a launch failure");
    // After failed launches the runner is usable again.
    rc = emu::run_grid([xp] { block_sum_kernel(xp); }, "block_sum", dim3{4, 1, 1}, dim3{256, 1, 1}, 0);
    expect(rc == 0 && block_result[3] == want[3], "block_sum after failures");
    printf("%s\n", failures ? "emu selftest: FAILED" : "emu selftest: all passed");
    return failures ? 1 : 0;
}
