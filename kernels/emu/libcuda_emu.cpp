// elbo4j CPU emulator: a libcuda.so.1 whose "GPU" runs kernels/*.cu on the host.
//
// Built by scripts/build-emu.sh into build/emu/libcuda.so.1 together with every kernel (compiled by
// g++ against cuda_emu.h) and a registry of the extern "C" entry points (generated). The driver
// entry points are those dev.elbo4j.backend.cuda.ffm.FfmCudaDriver binds:
//   - device memory is host memory: cuMemAlloc_v2 maps pages, places the allocation (256-byte
//     aligned) so that it ends at an inaccessible guard page (or, with ELBO4J_EMU_GUARD=front,
//     starts right after one), and fills it with 0xAB; a kernel that writes or reads past the end
//     (before the start) of an allocation crashes the process (SIGSEGV in the kernel's frame)
//     instead of corrupting the heap;
//   - every stream operation runs synchronously when it is enqueued, so an eager cuStreamWaitEvent
//     has nothing left to wait for (with ELBO4J_EMU_ASYNC=1 it is queued instead, and runs only
//     when the host waits for it; see "Asynchronous streams" below); under stream capture it is
//     recorded instead (kernel launches
//     with their argument values, memcpy, memset, cuBLAS GEMMs) as a graph node that depends on the
//     stream's last nodes. Fork and join follow CUDA's capture rules: cuEventRecord in a capturing
//     stream marks the point it has reached, and a stream that waits on that event joins the capture
//     (its work becomes nodes after that point; a capturing stream that waits adds the point to its
//     own dependencies); cuStreamEndCapture on the stream that began the capture fails with
//     CUDA_ERROR_STREAM_CAPTURE_UNJOINED if another stream's last work is not among the origin's
//     dependencies, and with CUDA_ERROR_STREAM_CAPTURE_UNMATCHED on a stream that only joined;
//     cuGraphLaunch runs the nodes in one topological order: capture order, or with
//     ELBO4J_EMU_REVERSE=1 the latest-captured ready node first (so two branches run the other way
//     round, and a dependency the capture lacks shows as a different result);
//   - cuLaunchKernel holds the launch to an sm_90 device's limits with the kernel's own sm_90
//     resource usage (kernels/sm_90.resources, ptxas's figures; see launch_check) and fails it with
//     the CUresult an H100 gives, then runs the grid (emu::run_grid): blocks one after another, the
//     threads of a block as fibers switching at __syncthreads() and shuffles (on x86-64 by a
//     register switch of our own, elbo4j_emu_switch: glibc's ucontext calls make a system call for
//     the signal mask at every switch, about 1.1 us each on the build VM, which made launches of many
//     small blocks cost tenths of a second; elsewhere ucontext).
//     cuFuncGetAttribute, cuFuncSetAttribute (the dynamic shared memory opt-in) and
//     cuOccupancyMaxActiveBlocksPerMultiprocessor answer from the same table;
//     A barrier that not every thread of the block (or warp) reaches is reported as
//     CUDA_ERROR_LAUNCH_FAILED with the reason on stderr;
//   - calls a GPU forbids while a stream captures (synchronisation, allocation, free) fail with
//     CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, as under CU_STREAM_CAPTURE_MODE_THREAD_LOCAL.
// The device calls itself "elbo4j CPU emulator (not a GPU)", compute capability 9.0, with
// ELBO4J_EMU_SMS multiprocessors (default 2). ELBO4J_EMU_TRACE=1 prints every launch on stderr.
// ELBO4J_EMU_GUARD=front puts the guard page before each allocation instead of after it.
// ELBO4J_EMU_REVERSE=1 runs the blocks of a grid, and the threads of a block between barriers, in
// decreasing index order: another legal schedule, for results that must not depend on one.
// Built with ELBO4J_EMU_RACE (scripts/build-emu.sh --race, build/emu-race/), the kernels come from
// race_kernels.cpp, compiled apart with -fsanitize=thread, and race.cpp checks their every access
// (the race.h calls below; no-ops otherwise): a race fails the launch like a divergent barrier.
#include "emu_runtime.h"
#include "race.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

// ---- the kernels ---------------------------------------------------------------------------------
#ifdef ELBO4J_EMU_RACE
// The race build compiles the kernels apart, instrumented (race_kernels.cpp).
extern const emu::Entry elbo4j_emu_entries[];
extern const int elbo4j_emu_entry_count;
namespace {
const std::span<const emu::Entry> kEntries(elbo4j_emu_entries, elbo4j_emu_entry_count);
}  // namespace
#else
#include "emu_kernels.inc"

namespace {
const emu::Entry kEntries[] = {
#include "emu_registry.inc"
};
}  // namespace
#endif

// ---- the grid runner -----------------------------------------------------------------------------
dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
namespace {

constexpr int kMaxThreads = 1024;
constexpr size_t kStackBytes = 128 * 1024;

enum State { kRun, kWaitBlock, kWaitWarp, kDone };

#if defined(__x86_64__)
// A fiber's context is its saved stack pointer: elbo4j_emu_switch pushes the System V callee-saved
// registers (rbp, rbx, r12-r15) and the return address on the running stack, stores the stack
// pointer in *save, loads load and pops the same from there. The FP control state is not switched:
// nothing in the kernels or the runtime changes it.
struct Context {
    void* sp = nullptr;
};

extern "C" void elbo4j_emu_switch(void** save, void* load);
asm(R"(
    .text
    .p2align 4
    .globl elbo4j_emu_switch
    .hidden elbo4j_emu_switch
    .type elbo4j_emu_switch, @function
elbo4j_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size elbo4j_emu_switch, .-elbo4j_emu_switch
)");

// A context that starts entry() on the stack [stack, stack + bytes) at its first switch: the six
// registers' slots (zero), then entry as the return address, at a 16-byte boundary so that entry
// starts as if called (rsp = 8 mod 16), with a null return address above it (entry never returns).
void context_start(Context& c, char* stack, size_t bytes, void (*entry)()) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t{15};
    void** p = reinterpret_cast<void**>(top);
    *--p = nullptr;
    *--p = reinterpret_cast<void*>(entry);
    for (int i = 0; i < 6; ++i) *--p = nullptr;
    c.sp = p;
}

void context_switch(Context& save, Context& load) { elbo4j_emu_switch(&save.sp, load.sp); }
#else
struct Context {
    ucontext_t uc;
};

void context_start(Context& c, char* stack, size_t bytes, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;  // entry never returns: it switches away for good
    makecontext(&c.uc, entry, 0);
}

void context_switch(Context& save, Context& load) { swapcontext(&save.uc, &load.uc); }
#endif

struct Fiber {
    Context ctx;
    State state;
};

Fiber* fibers;
char* stacks;
Context scheduler;
int nthreads, current, done_count, block_arrived;
int warp_arrived[kMaxThreads / 32];
uint64_t shfl_slots[kMaxThreads];
const Bound* running;
std::vector<unsigned char> smem;
std::string error;
bool failed;

void fail(const std::string& why) {
    if (!failed) error = why;
    failed = true;
}

int warp_lanes(int warp) {
    int left = nthreads - warp * 32;
    return left < 32 ? left : 32;
}

void wait(State s) {
    fibers[current].state = s;
    context_switch(fibers[current].ctx, scheduler);
}

[[noreturn]] void fiber_main() {
    (*running)();
    fibers[current].state = kDone;
    ++done_count;
    context_switch(fibers[current].ctx, scheduler);  // never resumed: the scheduler starts a new context
    __builtin_unreachable();
}

void set_thread(int i) {
    current = i;
    race::thread(i);
    threadIdx.x = i % blockDim.x;
    threadIdx.y = i / blockDim.x % blockDim.y;
    threadIdx.z = i / (blockDim.x * blockDim.y);
}

void warp_barrier() {
    const int warp = current / 32;
    if (++warp_arrived[warp] == warp_lanes(warp)) {
        warp_arrived[warp] = 0;
        for (int i = warp * 32, e = warp * 32 + warp_lanes(warp); i < e; ++i)
            if (fibers[i].state == kWaitWarp) fibers[i].state = kRun;
        return;
    }
    wait(kWaitWarp);
}

std::string block_name() {
    char b[96];
    snprintf(b, sizeof b, "block (%u, %u, %u)", blockIdx.x, blockIdx.y, blockIdx.z);
    return b;
}

}  // namespace

void syncthreads() {
    if (++block_arrived == nthreads) {
        block_arrived = 0;
        race::barrier();
        for (int i = 0; i < nthreads; ++i)
            if (fibers[i].state == kWaitBlock) fibers[i].state = kRun;
        return;
    }
    wait(kWaitBlock);
}

void shfl_exchange(const void* v, void* out, int bytes, unsigned mask, int lane_mask, int width) {
    const int lane = current % 32, warp = current / 32;
    if (mask != 0xffffffffu) fail(block_name() + ": __shfl_xor_sync with a partial mask");
    if (warp_lanes(warp) != 32) fail(block_name() + ": __shfl_xor_sync in a partial warp (block size not a multiple of 32)");
    if (width <= 0 || width > 32 || (width & (width - 1)) != 0) fail(block_name() + ": __shfl_xor_sync width not a power of two <= 32");
    uint64_t mine = 0;
    memcpy(&mine, v, bytes);
    shfl_slots[current] = mine;
    warp_barrier();
    int src = lane ^ lane_mask;
    if (width > 0 && src >= (lane & ~(width - 1)) + width) src = lane;  // outside the segment: own value
    if (src >= warp_lanes(warp)) src = lane;
    memcpy(out, &shfl_slots[warp * 32 + src], bytes);
    warp_barrier();  // nobody overwrites a slot before every lane has read
}

void* dynamic_smem() { return smem.empty() ? nullptr : smem.data(); }

const std::string& last_error() { return error; }

int run_grid(const Bound& kernel, const char* name, dim3 grid, dim3 block, unsigned shared_bytes) {
    if (!fibers) {
        fibers = new Fiber[kMaxThreads];
        void* m = mmap(nullptr, kStackBytes * kMaxThreads, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            error = "cannot map fiber stacks";
            return 2;
        }
        stacks = static_cast<char*>(m);
    }
    running = &kernel;
    gridDim = grid;
    blockDim = block;
    nthreads = static_cast<int>(block.x * block.y * block.z);
    failed = false;
    error.clear();
    static const bool reverse = [] {
        const char* r = std::getenv("ELBO4J_EMU_REVERSE");
        return r != nullptr && *r != 0 && *r != '0';
    }();
    race::launch_begin(name, grid, block, stacks, kStackBytes * kMaxThreads);
    for (unsigned z = 0; z < grid.z; ++z) {
        for (unsigned y = 0; y < grid.y; ++y) {
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = reverse ? dim3{grid.x - 1 - x, grid.y - 1 - y, grid.z - 1 - z} : dim3{x, y, z};
                // fresh shared memory is garbage, as on a GPU: NaN doubles / floats
                smem.assign(shared_bytes, 0xFF);
                race::block_begin(smem.data(), shared_bytes);
                done_count = block_arrived = 0;
                for (int w = 0; w < kMaxThreads / 32; ++w) warp_arrived[w] = 0;
                for (int i = 0; i < nthreads; ++i) {
                    context_start(fibers[i].ctx, stacks + kStackBytes * i, kStackBytes, fiber_main);
                    fibers[i].state = kRun;
                }
                while (done_count < nthreads && !failed) {
                    bool progress = false;
                    for (int k = 0; k < nthreads && !failed; ++k) {
                        const int i = reverse ? nthreads - 1 - k : k;
                        if (fibers[i].state != kRun) continue;
                        progress = true;
                        set_thread(i);
                        context_switch(scheduler, fibers[i].ctx);
                        if (const char* race = race::report()) fail(race);
                    }
                    if (!progress && done_count < nthreads) {
                        int at_block = 0, at_warp = 0;
                        for (int i = 0; i < nthreads; ++i) {
                            at_block += fibers[i].state == kWaitBlock;
                            at_warp += fibers[i].state == kWaitWarp;
                        }
                        char b[256];
                        snprintf(b, sizeof b,
                                 ": divergent barrier: %d of %d threads wait at __syncthreads(), %d at a warp shuffle, %d have exited",
                                 at_block, nthreads, at_warp, done_count);
                        fail(block_name() + b);
                    }
                }
                if (failed) {
                    race::launch_end();
                    error = std::string(name) + " " + error;
                    return 719;  // CUDA_ERROR_LAUNCH_FAILED
                }
            }
        }
    }
    race::launch_end();
    return 0;
}

}  // namespace emu

// ---- the driver API ------------------------------------------------------------------------------
namespace {

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

constexpr CUresult kOk = 0, kInvalidValue = 1, kOutOfMemory = 2, kNotInitialized = 3, kNoDevice = 100,
                   kInvalidDevice = 101, kInvalidImage = 200, kInvalidContext = 201, kInvalidHandle = 400,
                   kNotFound = 500, kLaunchOutOfResources = 701, kLaunchFailed = 719, kCaptureUnsupported = 900,
                   kCaptureInvalidated = 901, kCaptureUnmatched = 903, kCaptureUnjoined = 904,
                   kCaptureIsolation = 905, kNotCapturing = 401,  // CUDA_ERROR_ILLEGAL_STATE
                   kNotReady = 600;

using Op = std::function<CUresult()>;

// A captured operation and the earlier nodes it must run after (indices into Graph::nodes, all
// smaller than its own: capture order is a topological order).
struct Node {
    Op op;
    std::vector<int> deps;
};

struct Graph {
    std::vector<Node> nodes;
};

// Which topological order cuGraphLaunch uses: capture order, or (ELBO4J_EMU_REVERSE=1) the
// latest-captured ready node first.
bool graph_reverse = [] {
    const char* r = std::getenv("ELBO4J_EMU_REVERSE");
    return r != nullptr && *r != 0 && *r != '0';
}();

CUresult run_graph(const Graph& g) {
    const int n = static_cast<int>(g.nodes.size());
    if (!graph_reverse) {
        for (const Node& node : g.nodes)
            if (CUresult rc = node.op()) return rc;
        return kOk;
    }
    std::vector<int> waiting(n);
    std::vector<std::vector<int>> after(n);
    for (int i = 0; i < n; ++i) {
        std::vector<int> d = g.nodes[i].deps;
        std::sort(d.begin(), d.end());
        d.erase(std::unique(d.begin(), d.end()), d.end());
        waiting[i] = static_cast<int>(d.size());
        for (int j : d) after[j].push_back(i);
    }
    std::vector<int> ready;  // kept sorted: the back is the latest-captured ready node
    for (int i = 0; i < n; ++i)
        if (waiting[i] == 0) ready.push_back(i);
    while (!ready.empty()) {
        const int i = ready.back();
        ready.pop_back();
        if (CUresult rc = g.nodes[i].op()) return rc;
        for (int j : after[i])
            if (--waiting[j] == 0) ready.insert(std::upper_bound(ready.begin(), ready.end(), j), j);
    }
    return kOk;
}

std::recursive_mutex lock;
bool initialised;
void* const kContext = reinterpret_cast<void*>(0xE1B0);
void* const kModule = reinterpret_cast<void*>(0xE1B1);
// A capture in progress: the graph so far and the stream that began it.
struct Capture {
    Graph graph;
    void* origin;
};
std::map<unsigned long long, Capture> captures;  // by id, from 1; an id is never reused
unsigned long long next_capture = 1;
// A stream taking part in a capture: which one, and the nodes its next operation depends on.
struct Capturing {
    unsigned long long capture;
    std::vector<int> tail;
};
std::map<void*, Capturing> capturing;
// An event: when it completed (eager), or the point a capturing stream had reached (capture != 0
// while that capture is in progress).
struct Event {
    std::chrono::steady_clock::time_point at;
    unsigned long long capture = 0;
    std::vector<int> deps;
    void* stream = nullptr;          // eager record (ELBO4J_EMU_ASYNC): complete when stream has run
    unsigned long long target = 0;   // this many operations
};
struct Mapping { void* base; size_t bytes; };
std::map<uintptr_t, Mapping> allocations;
long long live_allocs;
bool trace = std::getenv("ELBO4J_EMU_TRACE") != nullptr;
bool guard_front = [] {
    const char* g = std::getenv("ELBO4J_EMU_GUARD");
    return g != nullptr && strcmp(g, "front") == 0;
}();

int sms() {
    const char* s = std::getenv("ELBO4J_EMU_SMS");
    int n = s ? std::atoi(s) : 2;
    return n > 0 ? n : 2;
}

bool is_capturing() { return !capturing.empty(); }

// ---- Asynchronous streams (ELBO4J_EMU_ASYNC=1) --------------------------------------------------------
// By default every eager stream operation runs when it is enqueued, which hides two kinds of bug a
// GPU shows: the host reading pinned memory that an asynchronous copy has not reached yet (no event
// wait before the read), and one stream reading what another writes without a cuStreamWaitEvent
// between them. With ELBO4J_EMU_ASYNC=1 an operation enqueued on a created stream is queued, not run,
// and runs only when the host must wait for it, as late as CUDA allows:
//   - cuStreamSynchronize(s) runs s's queue; cuEventSynchronize(e) runs the queue of the stream e was
//     recorded on, up to the record; cuStreamWaitEvent(s, e) queues on s an operation that runs e's
//     stream up to the record. Work on other streams stays queued, so a read without its wait sees
//     the memory as it was before the write (and a write that should wait for a read lands first);
//   - a copy to pageable host memory returns once the copy is done (CUDA's rule for pageable memory:
//     the stream's queue runs first); a copy into pinned memory (cuMemHostAlloc) is queued, and its
//     destination reads as 0xAB bytes until it runs, so a read before the event wait sees garbage;
//   - a copy from pageable memory takes its bytes at the call (CUDA stages them; the caller may reuse
//     the buffer at once); from pinned memory, when it runs;
//   - the calls CUDA makes wait for the whole device run every queue first: cuMemFree, cuMemFreeHost,
//     cuModuleUnload, cuDevicePrimaryCtxRelease, cuGraphExecDestroy, and work on the legacy stream 0;
//     cuStreamDestroy runs the stream's queue (CUDA completes it after the destroy);
//   - an operation that fails when it runs (a divergent barrier, a race) returns its CUresult from the
//     call that ran it (a synchronisation, or a later call that had to run the queue), once;
//   - cuEventElapsedTime of an event whose work has not run is CUDA_ERROR_NOT_READY.
bool async_streams = [] {
    const char* a = std::getenv("ELBO4J_EMU_ASYNC");
    return a != nullptr && *a != 0 && *a != '0';
}();
struct Queue {
    std::deque<Op> ops;
    unsigned long long queued = 0, done = 0;  // operations ever queued; run (the front is number done)
    bool running = false;
};
std::map<void*, Queue> queues;                // by stream
std::map<uintptr_t, size_t> pinned;           // cuMemHostAlloc's blocks: start -> bytes

bool is_pinned(const void* p, size_t n) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = pinned.upper_bound(a);
    if (it == pinned.begin()) return false;
    --it;
    return a >= it->first && a - it->first < it->second && n <= it->second - (a - it->first);
}

// Runs stream s's queued operations up to number upto (all of them: ~0ull); the first failure's CUresult.
CUresult drain(void* s, unsigned long long upto) {
    auto it = queues.find(s);
    if (it == queues.end()) return kOk;
    Queue& q = it->second;
    if (q.done >= upto) return kOk;
    if (q.running) {  // a wait, run from this stream's own queue, on this stream's later work: a GPU hangs
        fprintf(stderr, "elbo4j-emu: a cuStreamWaitEvent chain waits on later work of its own stream (a GPU would hang)\n");
        return kLaunchFailed;
    }
    q.running = true;
    CUresult first = kOk;
    while (q.done < upto && !q.ops.empty()) {
        Op op = std::move(q.ops.front());
        q.ops.pop_front();
        ++q.done;
        CUresult rc = op();
        if (rc && !first) first = rc;
    }
    q.running = false;
    return first;
}

CUresult drain_all() {
    CUresult first = kOk;
    for (auto& [s, q] : queues) {
        CUresult rc = drain(s, ~0ull);
        if (rc && !first) first = rc;
    }
    return first;
}

// The number an operation queued on s now would get: an event recorded now completes when s has run this many.
unsigned long long queued(void* s) {
    auto it = queues.find(s);
    return it == queues.end() ? 0 : it->second.queued;
}

CUresult enqueue(void* stream, Op op) {
    auto it = capturing.find(stream);
    if (it != capturing.end()) {
        Graph& g = captures.at(it->second.capture).graph;
        g.nodes.push_back(Node{std::move(op), it->second.tail});
        it->second.tail = {static_cast<int>(g.nodes.size()) - 1};
        return kOk;
    }
    if (async_streams) {
        if (stream != nullptr) {
            Queue& q = queues[stream];
            q.ops.push_back(std::move(op));
            ++q.queued;
            return kOk;
        }
        if (CUresult rc = drain_all()) return rc;  // the legacy stream waits for the others
    }
    return op();
}

// ---- sm_90 limits (CUDA C Programming Guide, "Compute Capabilities", 9.0) ----------------------------
constexpr int kRegsPerSm = 65536, kRegsPerBlock = 65536, kRegAllocUnit = 256, kWarpsPerSm = 64, kBlocksPerSm = 32,
              kSubPartitions = 4;
constexpr int kSmemPerSm = 228 * 1024, kSmemPerBlockOptIn = 227 * 1024, kSmemDefault = 48 * 1024,
              kSmemReservedPerBlock = 1024, kSmemAllocUnit = 128;
constexpr int kAttrMaxThreads = 0, kAttrSharedSize = 1, kAttrConstSize = 2, kAttrLocalSize = 3, kAttrNumRegs = 4,
              kAttrPtxVersion = 5, kAttrBinaryVersion = 6, kAttrMaxDynamicShared = 8, kAttrCarveout = 9;

const emu::Entry* entry(void* f) {
    for (const emu::Entry& k : kEntries)
        if (&k == f) return &k;
    return nullptr;
}

// Registers a warp holds: per-thread count x 32, in units of 256.
int regs_per_warp(const emu::Entry& e) {
    return (e.registers * 32 + kRegAllocUnit - 1) / kRegAllocUnit * kRegAllocUnit;
}

// CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: the __launch_bounds__ maximum, 1024, and the largest
// block whose warps' registers fit one SM's register file.
int max_threads(const emu::Entry& e) {
    int by_regs = kSubPartitions * (kRegsPerBlock / kSubPartitions / regs_per_warp(e)) * 32;
    int m = e.max_threads < 1024 ? e.max_threads : 1024;
    return by_regs < m ? by_regs : m;
}

// Per function: the dynamic shared memory it may ask for (cuFuncSetAttribute raises it).
std::map<const emu::Entry*, int> max_dynamic_smem;

int max_dynamic(const emu::Entry& e) {
    auto it = max_dynamic_smem.find(&e);
    return it != max_dynamic_smem.end() ? it->second : kSmemDefault - e.static_smem;
}

// Resident blocks of `threads` threads and `dynamic` bytes of dynamic shared memory per SM, as
// cuOccupancyMaxActiveBlocksPerMultiprocessor computes it: the least of the block slots, the warp
// slots, the register file (allocated per warp in 256-register units, in 4 sub-partitions) and
// shared memory (the block's static + dynamic bytes plus 1 KiB the system reserves, in 128-byte units).
int occupancy(const emu::Entry& e, int threads, size_t dynamic) {
    const int warps = (threads + 31) / 32;
    int blocks = kBlocksPerSm;
    blocks = std::min(blocks, kWarpsPerSm / warps);
    const int warps_by_regs = kSubPartitions * (kRegsPerSm / kSubPartitions / regs_per_warp(e));
    blocks = std::min(blocks, warps_by_regs / warps);
    const size_t smem = (e.static_smem + dynamic + kSmemReservedPerBlock + kSmemAllocUnit - 1) / kSmemAllocUnit * kSmemAllocUnit;
    blocks = std::min<long long>(blocks, static_cast<long long>(kSmemPerSm / smem));
    return blocks;
}

// The checks an sm_90 device makes of a launch of e, with the CUresult it fails with; the reason goes
// to stderr. Too many threads for the kernel (its __launch_bounds__ or its registers) is
// CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES ("too many resources requested for launch"); shared memory
// beyond the function's limit (48 KiB static + dynamic unless cuFuncSetAttribute opted in) is
// CUDA_ERROR_INVALID_VALUE.
CUresult launch_check(const emu::Entry& e, unsigned threads, unsigned shared) {
    char why[256];
    CUresult rc = kOk;
    if (static_cast<int>(threads) > e.max_threads) {
        snprintf(why, sizeof why, "%u threads per block, above its __launch_bounds__ of %d", threads, e.max_threads);
        rc = kLaunchOutOfResources;
    } else if (static_cast<long long>((threads + 31) / 32) * regs_per_warp(e) > kRegsPerBlock) {
        snprintf(why, sizeof why, "%u threads x %d registers: more than the %d registers of an SM", threads, e.registers,
                 kRegsPerBlock);
        rc = kLaunchOutOfResources;
    } else if (static_cast<int>(shared) > max_dynamic(e)) {
        snprintf(why, sizeof why, "%u bytes of dynamic shared memory + %d static: above its limit of %d dynamic bytes%s",
                 shared, e.static_smem, max_dynamic(e),
                 max_dynamic_smem.count(&e) ? "" : " (48 KiB in all without cuFuncSetAttribute)");
        rc = kInvalidValue;
    }
    if (rc) fprintf(stderr, "elbo4j-emu: launch of %s refused as an sm_90 device would: %s\n", e.name, why);
    return rc;
}

const char* error_name(int e) {
    switch (e) {
        case kOk: return "CUDA_SUCCESS";
        case kInvalidValue: return "CUDA_ERROR_INVALID_VALUE";
        case kOutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
        case kNotInitialized: return "CUDA_ERROR_NOT_INITIALIZED";
        case kNoDevice: return "CUDA_ERROR_NO_DEVICE";
        case kInvalidDevice: return "CUDA_ERROR_INVALID_DEVICE";
        case kInvalidImage: return "CUDA_ERROR_INVALID_IMAGE";
        case kInvalidContext: return "CUDA_ERROR_INVALID_CONTEXT";
        case kInvalidHandle: return "CUDA_ERROR_INVALID_HANDLE";
        case kNotFound: return "CUDA_ERROR_NOT_FOUND";
        case kLaunchOutOfResources: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
        case kLaunchFailed: return "CUDA_ERROR_LAUNCH_FAILED";
        case kCaptureUnsupported: return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
        case kCaptureInvalidated: return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
        case kCaptureUnmatched: return "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED";
        case kCaptureUnjoined: return "CUDA_ERROR_STREAM_CAPTURE_UNJOINED";
        case kCaptureIsolation: return "CUDA_ERROR_STREAM_CAPTURE_ISOLATION";
        case kNotCapturing: return "CUDA_ERROR_ILLEGAL_STATE";
        case kNotReady: return "CUDA_ERROR_NOT_READY";
        default: return nullptr;
    }
}

}  // namespace

extern "C" {

CUresult cuGetErrorName(int e, const char** s) {
    const char* n = error_name(e);
    if (!n) return kInvalidValue;
    *s = n;
    return kOk;
}

CUresult cuInit(unsigned flags) {
    if (flags) return kInvalidValue;
    initialised = true;
    return kOk;
}
CUresult cuDriverGetVersion(int* v) { *v = 13000; return kOk; }
CUresult cuDeviceGetCount(int* n) { if (!initialised) return kNotInitialized; *n = 1; return kOk; }
CUresult cuDeviceGet(int* d, int ordinal) {
    if (!initialised) return kNotInitialized;
    if (ordinal != 0) return kInvalidDevice;
    *d = 0;
    return kOk;
}
CUresult cuDeviceGetName(char* name, int len, int dev) {
    if (dev != 0) return kInvalidDevice;
    strncpy(name, "elbo4j CPU emulator (not a GPU)", len);
    name[len - 1] = 0;
    return kOk;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int dev) { if (dev != 0) return kInvalidDevice; *bytes = 8ull << 30; return kOk; }
CUresult cuDeviceGetAttribute(int* v, int attr, int dev) {
    if (dev != 0) return kInvalidDevice;
    if (attr == 75) *v = 9;
    else if (attr == 76) *v = 0;
    else if (attr == 16) *v = sms();
    else return kInvalidValue;
    return kOk;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int dev) { if (dev != 0) return kInvalidDevice; *ctx = kContext; return kOk; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
    if (dev != 0) return kInvalidDevice;
    std::lock_guard g(lock);
    return drain_all();
}
CUresult cuCtxSetCurrent(void* ctx) { return ctx == kContext || ctx == nullptr ? kOk : kInvalidContext; }

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    std::lock_guard g(lock);
    if (is_capturing()) return kCaptureUnsupported;
    if (bytes == 0) return kInvalidValue;
    if (bytes > (16ull << 30)) return kOutOfMemory;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t rounded = (bytes + 255) / 256 * 256, data_pages = (rounded + page - 1) / page * page;
    void* base = mmap(nullptr, data_pages + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return kOutOfMemory;
    char* m;
    if (guard_front) {  // the guard page before the allocation: catches accesses below its start
        mprotect(base, page, PROT_NONE);
        m = static_cast<char*>(base) + page;
    } else {            // the guard page after it (the default): catches accesses past its end
        char* guard = static_cast<char*>(base) + data_pages;
        mprotect(guard, page, PROT_NONE);
        m = guard - rounded;
    }
    memset(m, 0xAB, rounded);  // fresh memory is garbage, as on a GPU
    *p = reinterpret_cast<uintptr_t>(m);
    allocations[*p] = {base, data_pages + page};
    emu::race::on_alloc(m, bytes);
    ++live_allocs;
    return kOk;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    std::lock_guard g(lock);
    if (is_capturing()) return kCaptureUnsupported;
    auto it = allocations.find(p);
    if (it == allocations.end()) return kInvalidValue;
    CUresult queued_rc = drain_all();  // cuMemFree waits for the device (ELBO4J_EMU_ASYNC)
    // Freed memory is never handed out again: its pages go back to the system but the range stays
    // reserved and inaccessible, so a late use (a graph replayed over a freed buffer) faults at once
    // instead of landing in whatever a later allocation put there.
    madvise(it->second.base, it->second.bytes, MADV_DONTNEED);
    mprotect(it->second.base, it->second.bytes, PROT_NONE);
    emu::race::on_free(reinterpret_cast<void*>(p));
    allocations.erase(it);
    --live_allocs;
    return queued_rc;
}
// Pinned host memory is plain host memory here (every copy is host to host); refused while
// capturing, as the driver refuses it.
CUresult cuMemHostAlloc(void** p, size_t bytes, unsigned flags) {
    std::lock_guard g(lock);
    if (is_capturing()) return kCaptureUnsupported;
    if (bytes == 0) return kInvalidValue;
    *p = std::malloc(bytes);
    if (*p == nullptr) return kOutOfMemory;
    pinned[reinterpret_cast<uintptr_t>(*p)] = bytes;
    return kOk;
}
CUresult cuMemFreeHost(void* p) {
    std::lock_guard g(lock);
    if (is_capturing()) return kCaptureUnsupported;
    CUresult rc = drain_all();  // cuMemFreeHost waits for the device (ELBO4J_EMU_ASYNC)
    pinned.erase(reinterpret_cast<uintptr_t>(p));
    std::free(p);
    return rc;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void* st) {
    std::lock_guard g(lock);
    if (async_streams && st != nullptr && !capturing.count(st) && !is_pinned(s, n)) {
        // Pageable: CUDA stages the bytes before it returns, so the caller may reuse its buffer at once.
        auto bytes = std::make_shared<std::vector<char>>(static_cast<const char*>(s), static_cast<const char*>(s) + n);
        return enqueue(st, [=] { memcpy(reinterpret_cast<void*>(d), bytes->data(), n); return kOk; });
    }
    return enqueue(st, [=] { memcpy(reinterpret_cast<void*>(d), s, n); return kOk; });
}
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void* st) {
    std::lock_guard g(lock);
    CUresult rc = enqueue(st, [=] { memcpy(d, reinterpret_cast<const void*>(s), n); return kOk; });
    if (rc || !async_streams || st == nullptr || capturing.count(st)) return rc;
    if (!is_pinned(d, n)) return drain(st, ~0ull);  // pageable: returns once the copy is done
    memset(d, 0xAB, n);  // pinned: undefined until the copy runs
    return kOk;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void* st) {
    std::lock_guard g(lock);
    return enqueue(st, [=] { memmove(reinterpret_cast<void*>(d), reinterpret_cast<const void*>(s), n); return kOk; });
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* st) {
    std::lock_guard g(lock);
    return enqueue(st, [=] { memset(reinterpret_cast<void*>(d), v, n); return kOk; });
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void* st) {
    std::lock_guard g(lock);
    if (d % 4) return kInvalidValue;
    return enqueue(st, [=] {
        unsigned* p = reinterpret_cast<unsigned*>(d);
        for (size_t i = 0; i < n; i++) p[i] = v;
        return kOk;
    });
}

CUresult cuModuleLoadData(void** m, const void* image) {
    uint32_t magic;
    memcpy(&magic, image, 4);
    if (magic != 0xBA55ED50u) return kInvalidImage;  // a fatbin; its code is ignored: the emulator runs its own build
    *m = kModule;
    return kOk;
}
CUresult cuModuleUnload(void* m) {
    if (m != kModule) return kInvalidHandle;
    std::lock_guard g(lock);
    return drain_all();
}
CUresult cuModuleGetFunction(void** f, void* m, const char* name) {
    if (m != kModule) return kInvalidHandle;
    for (const emu::Entry& e : kEntries) {
        if (strcmp(e.name, name) == 0) {
            *f = const_cast<emu::Entry*>(&e);
            return kOk;
        }
    }
    return kNotFound;
}

CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra) {
    std::lock_guard g(lock);
    const emu::Entry* e = entry(f);
    if (!e) return kInvalidHandle;
    if (extra != nullptr || (e->params > 0 && params == nullptr)) return kInvalidValue;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return kInvalidValue;
    if (gx > 0x7fffffffu || gy > 65535 || gz > 65535 || bx > 1024 || by > 1024 || bz > 64) return kInvalidValue;
    if (static_cast<unsigned long long>(bx) * by * bz > 1024) return kInvalidValue;
    if (CUresult rc = launch_check(*e, bx * by * bz, shared)) return rc;
    if (trace) fprintf(stderr, "elbo4j-emu: %s<<<(%u,%u,%u), (%u,%u,%u), %u>>>%s\n", e->name, gx, gy, gz, bx, by, bz, shared,
                       capturing.count(stream) ? " (captured)" : "");
    emu::Bound k = e->bind(params);
    return enqueue(stream, [k, e, gx, gy, gz, bx, by, bz, shared]() {
        int rc = emu::run_grid(k, e->name, dim3{gx, gy, gz}, dim3{bx, by, bz}, shared);
        if (rc) fprintf(stderr, "elbo4j-emu: %s\n", emu::last_error().c_str());
        return rc;
    });
}

CUresult cuFuncGetAttribute(int* v, int attr, void* f) {
    std::lock_guard g(lock);
    const emu::Entry* e = entry(f);
    if (!e) return kInvalidHandle;
    if (!v) return kInvalidValue;
    switch (attr) {
        case kAttrMaxThreads: *v = max_threads(*e); break;
        case kAttrSharedSize: *v = e->static_smem; break;
        case kAttrConstSize: *v = 0; break;
        case kAttrLocalSize: *v = e->local_bytes; break;
        case kAttrNumRegs: *v = e->registers; break;
        case kAttrPtxVersion: case kAttrBinaryVersion: *v = 90; break;
        case kAttrMaxDynamicShared: *v = max_dynamic(*e); break;
        case kAttrCarveout: *v = -1; break;
        default: return kInvalidValue;
    }
    return kOk;
}
CUresult cuFuncSetAttribute(void* f, int attr, int value) {
    std::lock_guard g(lock);
    const emu::Entry* e = entry(f);
    if (!e) return kInvalidHandle;
    if (attr == kAttrMaxDynamicShared) {
        if (value < 0 || value + e->static_smem > kSmemPerBlockOptIn) return kInvalidValue;
        max_dynamic_smem[e] = value;
        return kOk;
    }
    if (attr == kAttrCarveout) return value >= -1 && value <= 100 ? kOk : kInvalidValue;
    return kInvalidValue;
}
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, void* f, int threads, size_t dynamic) {
    std::lock_guard g(lock);
    const emu::Entry* e = entry(f);
    if (!e) return kInvalidHandle;
    if (!blocks || threads <= 0) return kInvalidValue;
    // A block the kernel cannot launch has no resident blocks (the driver answers 0, not an error).
    *blocks = threads > max_threads(*e) || static_cast<long long>(dynamic) > max_dynamic(*e) ? 0 : occupancy(*e, threads, dynamic);
    return kOk;
}

CUresult cuStreamCreate(void** s, unsigned flags) { *s = new char(static_cast<char>(flags)); return kOk; }
CUresult cuStreamDestroy_v2(void* s) {
    std::lock_guard g(lock);
    if (capturing.count(s)) return kCaptureUnsupported;
    CUresult rc = drain(s, ~0ull);  // CUDA completes a destroyed stream's work
    queues.erase(s);
    delete static_cast<char*>(s);
    return rc;
}
CUresult cuStreamSynchronize(void* s) {
    std::lock_guard g(lock);
    if (capturing.count(s)) return kCaptureUnsupported;
    return s == nullptr ? drain_all() : drain(s, ~0ull);
}

using Clock = std::chrono::steady_clock;
CUresult cuEventCreate(void** e, unsigned flags) { *e = new Event{Clock::now()}; return kOk; }
CUresult cuEventRecord(void* e, void* s) {
    std::lock_guard g(lock);
    if (!e) return kInvalidHandle;
    auto* ev = static_cast<Event*>(e);
    auto it = capturing.find(s);
    if (it != capturing.end()) {  // no node: the event names the point the stream has reached
        ev->capture = it->second.capture;
        ev->deps = it->second.tail;
        return kOk;
    }
    ev->capture = 0;
    ev->deps.clear();
    ev->at = Clock::now();  // the work before it has run (ELBO4J_EMU_ASYNC: was enqueued)
    if (s == nullptr) {
        ev->stream = nullptr;
        ev->target = 0;
        return async_streams ? drain_all() : kOk;
    }
    ev->stream = s;
    ev->target = queued(s);
    return kOk;
}
// Eagerly every operation has run when it returns, so there is nothing to wait for. An event
// recorded in a capture in progress forks or joins: the waiting stream's next work depends on the
// event's point, and a stream not yet capturing joins the capture.
CUresult cuStreamWaitEvent(void* s, void* e, unsigned flags) {
    std::lock_guard g(lock);
    if (!e) return kInvalidHandle;
    if (flags != 0) return kInvalidValue;  // CU_EVENT_WAIT_EXTERNAL is a graph-node flag the backend never uses
    const auto* ev = static_cast<const Event*>(e);
    auto it = capturing.find(s);
    if (ev->capture == 0 || !captures.count(ev->capture)) {
        if (!async_streams || ev->stream == nullptr || ev->stream == s) return kOk;
        void* from = ev->stream;
        const unsigned long long target = ev->target;
        if (s == nullptr) return drain(from, target);
        if (it != capturing.end()) return kOk;  // as without ELBO4J_EMU_ASYNC
        return enqueue(s, [from, target] { return drain(from, target); });
    }
    if (it == capturing.end()) {
        if (s == nullptr) return kCaptureUnsupported;  // the legacy default stream cannot capture
        capturing[s] = Capturing{ev->capture, ev->deps};
        return kOk;
    }
    if (it->second.capture != ev->capture) return kCaptureIsolation;
    std::vector<int>& tail = it->second.tail;
    for (int d : ev->deps)
        if (std::find(tail.begin(), tail.end(), d) == tail.end()) tail.push_back(d);
    return kOk;
}
CUresult cuEventSynchronize(void* e) {
    std::lock_guard g(lock);
    if (is_capturing()) return kCaptureUnsupported;
    if (!e) return kInvalidHandle;
    const auto* ev = static_cast<const Event*>(e);
    return ev->stream == nullptr ? kOk : drain(ev->stream, ev->target);
}
static bool complete(const Event* ev) {
    if (ev->stream == nullptr) return true;
    auto it = queues.find(ev->stream);
    return it == queues.end() || it->second.done >= ev->target;
}
CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) {
    std::lock_guard g(lock);
    if (!complete(static_cast<Event*>(a)) || !complete(static_cast<Event*>(b))) return kNotReady;
    *ms = std::chrono::duration<float, std::milli>(static_cast<Event*>(b)->at - static_cast<Event*>(a)->at).count();
    return kOk;
}
CUresult cuEventElapsedTime(float* ms, void* a, void* b) { return cuEventElapsedTime_v2(ms, a, b); }
CUresult cuEventDestroy_v2(void* e) { delete static_cast<Event*>(e); return kOk; }

CUresult cuStreamBeginCapture_v2(void* s, int mode) {
    std::lock_guard g(lock);
    if (mode < 0 || mode > 2) return kInvalidValue;
    if (s == nullptr) return kCaptureUnsupported;  // the legacy default stream cannot capture
    if (capturing.count(s)) return kCaptureInvalidated;
    const unsigned long long id = next_capture++;
    captures[id] = Capture{Graph{}, s};
    capturing[s] = Capturing{id, {}};
    return kOk;
}
// Ends the capture s began. Every other stream that joined it must have been joined back: its last
// nodes among the origin's dependencies (the origin's last nodes and what they depend on). Either
// way the capture is over and its streams capture no more.
CUresult cuStreamEndCapture(void* s, void** graph) {
    std::lock_guard g(lock);
    auto it = capturing.find(s);
    if (it == capturing.end()) return kNotCapturing;
    const unsigned long long id = it->second.capture;
    Capture& c = captures.at(id);
    if (c.origin != s) return kCaptureUnmatched;
    std::vector<char> joined(c.graph.nodes.size());
    std::vector<int> todo = it->second.tail;
    while (!todo.empty()) {
        const int i = todo.back();
        todo.pop_back();
        if (joined[i]) continue;
        joined[i] = 1;
        for (int d : c.graph.nodes[i].deps) todo.push_back(d);
    }
    bool unjoined = false;
    for (auto j = capturing.begin(); j != capturing.end();) {
        if (j->second.capture != id) {
            ++j;
            continue;
        }
        for (int t : j->second.tail) unjoined |= !joined[t];
        j = capturing.erase(j);
    }
    CUresult rc = kOk;
    if (unjoined) rc = kCaptureUnjoined;
    else *graph = new Graph{std::move(c.graph)};
    captures.erase(id);
    return rc;
}
CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags) {
    if (!graph) return kInvalidValue;
    *exec = new Graph(*static_cast<Graph*>(graph));
    return kOk;
}
CUresult cuGraphLaunch(void* exec, void* s) {
    std::lock_guard g(lock);
    if (!exec) return kInvalidValue;
    Graph* gr = static_cast<Graph*>(exec);
    return enqueue(s, [gr] { return run_graph(*gr); });
}
CUresult cuGraphExecDestroy(void* e) {
    std::lock_guard g(lock);
    CUresult rc = drain_all();  // a queued launch may still replay it (ELBO4J_EMU_ASYNC)
    delete static_cast<Graph*>(e);
    return rc;
}
CUresult cuGraphDestroy(void* g) { delete static_cast<Graph*>(g); return kOk; }

// ---- cuBLAS's GEMM, called by libcublas.so.13 of the emulator (so a capture records it) -----------
// Column-major C = alpha op(A) op(B) + beta C with cuBLAS's argument checks; each dot product in
// double over contiguous copies of the rows of op(A) and the columns of op(B), rounded once.
// tf32 (the handle's CUBLAS_TF32_TENSOR_OP_MATH, or cuBLASLt's COMPUTE_32F_FAST_TF32): every element
// of A and B is first rounded to TF32 (10 explicit mantissa bits, to nearest even; infinities and
// NaN kept), as a tensor core reads it. Real cuBLAS may round another way (truncation is within
// 2^-10 relative, nearest within 2^-11); what this shows is that the mode reached the library.
static inline float tf32_round(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0xfffu + ((u >> 13) & 1u);
    u &= 0xffffe000u;
    std::memcpy(&x, &u, 4);
    return x;
}

// The rows of op(A) (m x k) and the columns of op(B) (k x n), each contiguous in double (TF32-rounded
// first when tf32): the operands of both GEMMs below.
struct Operands {
    std::vector<double> a, b;
};
static Operands pack(int ta, int tb, int m, int n, int k, const float* A, int lda, const float* B, int ldb, int tf32) {
    Operands o{std::vector<double>(static_cast<size_t>(m) * k), std::vector<double>(static_cast<size_t>(n) * k)};
    auto in = [tf32](float v) -> double { return tf32 ? tf32_round(v) : v; };
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) o.a[static_cast<size_t>(i) * k + p] = in(ta ? A[p + static_cast<size_t>(i) * lda] : A[i + static_cast<size_t>(p) * lda]);
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++) o.b[static_cast<size_t>(j) * k + p] = in(tb ? B[j + static_cast<size_t>(p) * ldb] : B[p + static_cast<size_t>(j) * ldb]);
    return o;
}

// Row i of op(A) times column j of op(B), in double: four running sums, then (s0 + s1) + (s2 + s3).
static double dot(const Operands& o, int i, int j, int k) {
    const double* ai = &o.a[static_cast<size_t>(i) * k];
    const double* bj = &o.b[static_cast<size_t>(j) * k];
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int p = 0;
    for (; p + 4 <= k; p += 4) {
        s0 += ai[p] * bj[p];
        s1 += ai[p + 1] * bj[p + 1];
        s2 += ai[p + 2] * bj[p + 2];
        s3 += ai[p + 3] * bj[p + 3];
    }
    for (; p < k; p++) s0 += ai[p] * bj[p];
    return (s0 + s1) + (s2 + s3);
}

int elbo4j_emu_sgemm(void* stream, int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda,
                     const float* B, int ldb, float beta, float* C, int ldc, int tf32) {
    if (m < 0 || n < 0 || k < 0 || ta < 0 || ta > 1 || tb < 0 || tb > 1) return 7;
    if (lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1))) return 7;
    if (ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1))) return 7;
    if (ldc < (m > 1 ? m : 1)) return 7;
    std::lock_guard g(lock);
    CUresult rc = enqueue(stream, [=] {
        const Operands o = pack(ta, tb, m, n, k, A, lda, B, ldb, tf32);
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                const double s = dot(o, i, j, k);
                float* c = &C[i + static_cast<size_t>(j) * ldc];
                *c = static_cast<float>(alpha * s + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * *c));
            }
        }
        return kOk;
    });
    return rc ? 13 : 0;  // CUBLAS_STATUS_EXECUTION_FAILED
}

// ---- cuBLASLt's matmul with its epilogues, called by libcublasLt.so.13 of the emulator --------------
// Column-major D = epilogue(alpha op(A) op(B) + beta C), the GEMM as elbo4j_emu_sgemm (double dot
// products rounded once to float). The epilogue then works in float on that rounded value, as the
// hand-written kernels do after cuBLAS: BIAS adds bias[i] (i the row of D), RELU_BIAS then keeps NaN and
// turns everything not above 0 into +0 (Java's Math.max(v, 0f)); BGRADB writes bias[j] = the sum over
// k of op(B)[., j] in double, rounded once. Epilogue codes are cublasLt.h's (1, 4, 6, 512); any other is
// CUBLAS_STATUS_NOT_SUPPORTED (15).
int elbo4j_emu_lt_matmul(void* stream, int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda,
                         const float* B, int ldb, float beta, const float* C, int ldc, float* D, int ldd, int epilogue,
                         float* bias, unsigned char* aux, long long auxld, int tf32) {
    // DEFAULT 1, BIAS 4, RELU_BIAS 6, RELU_AUX_BIAS 134, DRELU_BGRAD 152, BGRADB 512 (cublasLt.h).
    if (epilogue != 1 && epilogue != 4 && epilogue != 6 && epilogue != 134 && epilogue != 152 && epilogue != 512) return 15;
    if (m <= 0 || n <= 0 || k <= 0 || ta < 0 || ta > 1 || tb < 0 || tb > 1) return 7;
    if (lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m || ldd < m) return 7;
    if (epilogue != 1 && bias == nullptr) return 7;
    const bool masks = epilogue == 134 || epilogue == 152;
    if (masks && (aux == nullptr || auxld <= 0 || auxld % 128 != 0 || auxld < m)) return 7;
    std::lock_guard g(lock);
    CUresult rc = enqueue(stream, [=] {
        const Operands o = pack(ta, tb, m, n, k, A, lda, B, ldb, tf32);
        std::vector<float> out(static_cast<size_t>(m) * n);
        // The ReLU bit mask: column-major over D, bit i + j * auxld, least significant bit first (elbo4j's
        // reading of cuBLASLt's layout; only cuBLASLt itself reads it, so only consistency matters).
        auto bit = [=](int i, int j) -> bool {
            const long long at = static_cast<long long>(i) + static_cast<long long>(j) * auxld;
            return (aux[at >> 3] >> (at & 7)) & 1;
        };
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                const double s = dot(o, i, j, k);
                float v = static_cast<float>(alpha * s + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * C[i + static_cast<size_t>(j) * ldc]));
                if (epilogue == 4 || epilogue == 6 || epilogue == 134) v = v + bias[i];
                if (epilogue == 6 || epilogue == 134) v = v != v ? v : (v > 0.0f ? v : 0.0f);
                if (epilogue == 152 && !bit(i, j)) v = 0.0f;
                out[i + static_cast<size_t>(j) * m] = v;
            }
        }
        // The mask is read (DRELU_BGRAD) before anything is written, and written (RELU_AUX_BIAS) whole:
        // bits i >= m of a column are cleared, so a mask carries no stale bits.
        if (epilogue == 134) {
            for (int j = 0; j < n; j++)
                for (long long i = 0; i < auxld; i++) {
                    const long long at = i + static_cast<long long>(j) * auxld;
                    const bool on = i < m && out[static_cast<size_t>(i) + static_cast<size_t>(j) * m] > 0.0f;
                    const unsigned char one = static_cast<unsigned char>(1u << (at & 7));
                    aux[at >> 3] = on ? (aux[at >> 3] | one) : (aux[at >> 3] & static_cast<unsigned char>(~one));
                }
        }
        // D is written after every read of C, which may be the same matrix.
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) D[i + static_cast<size_t>(j) * ldd] = out[i + static_cast<size_t>(j) * m];
        if (epilogue == 512) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                // From op(B) as stored: with TF32 the bias gradient is still the FP32 operand's sum.
                for (int p = 0; p < k; p++) s += tb ? B[j + static_cast<size_t>(p) * ldb] : B[p + static_cast<size_t>(j) * ldb];
                bias[j] = static_cast<float>(s);
            }
        }
        if (epilogue == 152) {
            // The bias gradient: each row of the masked D summed over its n columns, in column order.
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int j = 0; j < n; j++) s += out[static_cast<size_t>(i) + static_cast<size_t>(j) * m];
                bias[i] = static_cast<float>(s);
            }
        }
        return kOk;
    });
    return rc ? 13 : 0;
}

}  // extern "C"
