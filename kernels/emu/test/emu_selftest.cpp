// Self-test of the CPU emulator's grid runner (scripts/build-emu.sh --selftest): the reductions of
// common.cuh give the right sums under both schedules, and the launch fails, with a reason, where a
// kernel's barriers or shuffles are not reached by every thread that must reach them; a capture that
// forks onto a second stream and joins back replays right in both graph orders, one that does not
// join back fails as CUDA fails it, and a dependency the capture lacks changes the result in one order;
// with asynchronous streams (ELBO4J_EMU_ASYNC), work runs only when the host waits for it.
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

// Device words as host memory, written through the driver's stream operations.
CUdeviceptr word(unsigned* w) { return reinterpret_cast<CUdeviceptr>(w); }

// A fork/join capture: main sets a = 1 and records fork; side waits on fork, copies a to b, sets
// c = 3 and records join; main sets d = 4 (independent of side) and waits on join, then copies b
// to e. With `missing`, main also overwrites a = 9 after the fork, a write side's copy should have
// come after but does not depend on. Returns the CUresult of cuStreamEndCapture (and of the
// replay), or -1 if an earlier call failed.
int fork_join(bool join, bool missing, bool reverse, unsigned out[5]) {
    graph_reverse = reverse;
    void *main_s, *side, *fork, *joined, *graph = nullptr, *exec;
    cuStreamCreate(&main_s, 1);
    cuStreamCreate(&side, 1);
    cuEventCreate(&fork, 0);
    cuEventCreate(&joined, 0);
    for (int i = 0; i < 5; ++i) out[i] = 0;
    int rc = cuStreamBeginCapture_v2(main_s, 1);
    rc |= cuMemsetD32Async(word(&out[0]), 1, 1, main_s);
    rc |= cuEventRecord(fork, main_s);
    rc |= cuStreamWaitEvent(side, fork, 0);
    if (missing) rc |= cuMemsetD32Async(word(&out[0]), 9, 1, main_s);
    rc |= cuMemcpyDtoDAsync_v2(word(&out[1]), word(&out[0]), 4, side);
    rc |= cuMemsetD32Async(word(&out[2]), 3, 1, side);
    rc |= cuEventRecord(joined, side);
    rc |= cuMemsetD32Async(word(&out[3]), 4, 1, main_s);
    if (join) rc |= cuStreamWaitEvent(main_s, joined, 0);
    rc |= cuMemcpyDtoDAsync_v2(word(&out[4]), word(&out[1]), 4, main_s);
    if (rc) return -1;
    for (int i = 0; i < 5; ++i)
        if (out[i] != 0) return -1;  // captured, not run
    rc = cuStreamEndCapture(main_s, &graph);
    if (rc == 0) {
        rc = cuGraphInstantiateWithFlags(&exec, graph, 0);
        if (rc == 0) rc = cuGraphLaunch(exec, main_s);
        cuGraphExecDestroy(exec);
        cuGraphDestroy(graph);
    }
    // after the capture (joined or not) neither stream captures: eager work runs at once
    unsigned probe = 0;
    if (cuMemsetD32Async(word(&probe), 7, 1, side) != 0 || probe != 7) rc = -1;
    cuEventDestroy_v2(fork);
    cuEventDestroy_v2(joined);
    cuStreamDestroy_v2(main_s);
    cuStreamDestroy_v2(side);
    graph_reverse = false;
    return rc;
}

}  // namespace

int main() {
    async_streams = false;  // the cases before the asynchronous ones below are of the default, synchronous streams
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
    // Stream capture across two streams.
    for (bool reverse : {false, true}) {
        unsigned o[5];
        rc = fork_join(true, false, reverse, o);
        char what[96];
        snprintf(what, sizeof what, "a fork/join capture replays right (%s order)", reverse ? "reverse" : "capture");
        expect(rc == 0 && o[0] == 1 && o[1] == 1 && o[2] == 3 && o[3] == 4 && o[4] == 1, what);
    }
    {
        unsigned o[5];
        rc = fork_join(false, false, false, o);
        expect(rc == kCaptureUnjoined, "a capture whose side stream is not joined back fails: CUDA_ERROR_STREAM_CAPTURE_UNJOINED");
        unsigned a[5], b[5];
        const int ra = fork_join(true, true, false, a), rb = fork_join(true, true, true, b);
        expect(ra == 0 && rb == 0 && a[1] != b[1], "a dependency the capture lacks gives another result in the other order");
        printf("      (side's copy of a: %u in capture order, %u in reverse order)\n", a[1], b[1]);
        void *s1, *s2, *ev;
        cuStreamCreate(&s1, 1);
        cuStreamCreate(&s2, 1);
        cuEventCreate(&ev, 0);
        unsigned w = 0;
        rc = cuMemsetD32Async(word(&w), 5, 1, s1) | cuEventRecord(ev, s1) | cuStreamWaitEvent(s2, ev, 0);
        expect(rc == 0 && w == 5 && !is_capturing(), "an eager cross-stream wait succeeds and captures nothing");
        void* gph;
        rc = cuStreamBeginCapture_v2(s1, 1) | cuEventRecord(ev, s1) | cuStreamWaitEvent(s2, ev, 0);
        expect(rc == 0 && cuStreamEndCapture(s2, &gph) == kCaptureUnmatched && cuStreamEndCapture(s1, &gph) == 0,
               "only the stream that began a capture ends it (CUDA_ERROR_STREAM_CAPTURE_UNMATCHED)");
        cuGraphDestroy(gph);
        cuEventDestroy_v2(ev);
        cuStreamDestroy_v2(s1);
        cuStreamDestroy_v2(s2);
    }
    // Asynchronous streams (ELBO4J_EMU_ASYNC=1): work waits in its stream's queue until the host waits for it.
    {
        async_streams = true;
        void *s1, *s2, *ev, *ev2;
        cuStreamCreate(&s1, 1);
        cuStreamCreate(&s2, 1);
        cuEventCreate(&ev, 0);
        cuEventCreate(&ev2, 0);
        unsigned a = 0, b = 0;
        rc = cuMemsetD32Async(word(&a), 7, 1, s1);
        expect(rc == 0 && a == 0, "async: a memset is queued, not run");
        rc = cuMemcpyDtoDAsync_v2(word(&b), word(&a), 4, s2) | cuStreamSynchronize(s2);
        expect(rc == 0 && b == 0 && a == 0, "async: a copy on another stream, with no wait, runs before the write it should see");
        rc = cuStreamSynchronize(s1);
        expect(rc == 0 && a == 7, "async: cuStreamSynchronize runs the stream's queue");
        a = 0, b = 0;
        rc = cuMemsetD32Async(word(&a), 8, 1, s1) | cuEventRecord(ev, s1) | cuMemsetD32Async(word(&a), 9, 1, s1)
             | cuStreamWaitEvent(s2, ev, 0) | cuMemcpyDtoDAsync_v2(word(&b), word(&a), 4, s2);
        expect(rc == 0 && a == 0 && b == 0, "async: a cross-stream wait is queued too");
        rc = cuStreamSynchronize(s2);
        expect(rc == 0 && b == 8 && a == 8, "async: the wait runs the other stream up to the event, no further");
        unsigned* pin = nullptr;
        unsigned dev = 11;
        rc = cuMemHostAlloc(reinterpret_cast<void**>(&pin), 16, 0);
        pin[0] = 1;
        rc |= cuMemcpyDtoHAsync_v2(pin, word(&dev), 4, s1) | cuEventRecord(ev2, s1);
        expect(rc == 0 && pin[0] == 0xABABABABu, "async: pinned memory reads as garbage until its copy has run");
        float ms;
        expect(cuEventElapsedTime_v2(&ms, ev, ev2) == kNotReady, "async: elapsed time of an event not reached is CUDA_ERROR_NOT_READY");
        rc = cuEventSynchronize(ev2);
        expect(rc == 0 && pin[0] == 11 && a == 9, "async: cuEventSynchronize runs the queue up to the event");
        expect(cuEventElapsedTime_v2(&ms, ev, ev2) == 0, "async: elapsed time once both events are reached");
        unsigned host = 0;
        rc = cuMemsetD32Async(word(&dev), 12, 1, s1) | cuMemcpyDtoHAsync_v2(&host, word(&dev), 4, s1);
        expect(rc == 0 && host == 12, "async: a copy into pageable memory returns once it is done");
        unsigned src = 3, dst = 0;
        rc = cuMemcpyHtoDAsync_v2(word(&dst), &src, 4, s1);
        src = 4;
        rc |= cuStreamSynchronize(s1);
        expect(rc == 0 && dst == 3, "async: a copy from pageable memory takes its bytes at the call");
        pin[1] = 5;
        rc = cuMemcpyHtoDAsync_v2(word(&dst), pin + 1, 4, s1);
        pin[1] = 6;
        rc |= cuStreamSynchronize(s1);
        expect(rc == 0 && dst == 6, "async: a copy from pinned memory reads it when it runs");
        rc = enqueue(s1, [] { return kLaunchFailed; }) | cuMemsetD32Async(word(&a), 13, 1, s1);
        expect(rc == 0 && cuStreamSynchronize(s1) == kLaunchFailed && a == 13 && cuStreamSynchronize(s1) == 0,
               "async: queued work that fails reports at the synchronisation that ran it, once");
        rc = cuMemsetD32Async(word(&a), 14, 1, s2) | cuMemFreeHost(pin);
        expect(rc == 0 && a == 14, "async: cuMemFreeHost waits for every stream");
        rc = cuMemsetD32Async(word(&a), 15, 1, s2) | cuStreamDestroy_v2(s2);
        expect(rc == 0 && a == 15, "async: a destroyed stream's work still runs");
        cuEventDestroy_v2(ev);
        cuEventDestroy_v2(ev2);
        cuStreamDestroy_v2(s1);
        async_streams = false;
    }
    printf("%s\n", failures ? "emu selftest: FAILED" : "emu selftest: all passed");
    return failures ? 1 : 0;
}
