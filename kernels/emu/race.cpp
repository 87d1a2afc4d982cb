// elbo4j CPU emulator: a race checker for the kernels (scripts/build-emu.sh --race, build/emu-race/).
//
// The kernels are compiled with g++ -fsanitize=thread, which calls __tsan_readN / __tsan_writeN
// before every load and store; this file (compiled without it, linked without libtsan) defines those
// calls, so every access a kernel makes arrives here with its address and size. Only device memory
// (cuMemAlloc), static __shared__ arrays (section elbo4j_shared, see cuda_emu.h) and the launch's
// dynamic shared memory are checked; everything else (fiber stacks, the runtime's own data) is
// ignored.
//
// The model (kernels/README.md, "The race checker"): within one launch, two accesses to a byte by
// different threads, at least one a write, race unless something orders them:
//   - same block: a __syncthreads() between them (each thread's barrier count; warp shuffles order
//     nothing, and there is no __syncwarp, so warp-synchronous shared-memory code races);
//   - different blocks: the writer's __threadfence() then an atomic on some address A (a release),
//     and the reader's atomic on A then __threadfence() (an acquire); what a thread has acquired
//     passes to its block at the next __syncthreads(), and on to others at its own releases.
// Atomic read-modify-writes (cuda_emu.h) do not race with each other; a plain access races with an
// atomic one unless ordered, except that a thread's accesses after its own atomic on a location
// come after every earlier atomic on it (the atomics on one location are totally ordered).
//
// Shadow state: per 4-byte granule of checked memory, the last write and up to two groups of reads
// since (the latest reading block and the one before), each as (block, thread, barrier count, fence
// count, bytes of the granule). Shared memory is per block (fresh shadow at each block), device
// memory per launch (a generation number, so nothing is cleared between launches). A write after
// reads of more than two blocks is checked against the latest two only.
#include "race.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" char __start_elbo4j_shared[] __attribute__((weak));
extern "C" char __stop_elbo4j_shared[] __attribute__((weak));

namespace {

// Static shared arrays by name (offset into the section, bytes), generated from the kernels' object.
struct SharedName {
    size_t offset, bytes;
    const char* name;
};
const SharedName kSharedNames[] = {
#if __has_include("race_shared.inc")
#include "race_shared.inc"
#endif
    {0, 0, nullptr}};

// One access or group of accesses, packed in 64 bits (0: none).
//   bits 0-3 bytes of the granule, 4 atomic, 5 several threads, 6-15 thread, 16-19 fence count,
//   20-37 barrier count, 38-61 block (low 24 bits of the linear index), 63 present.
using Rec = uint64_t;
constexpr Rec kPresent = 1ull << 63;
constexpr int kMaxFence = 15, kMaxBarrier = (1 << 18) - 1;
Rec pack(unsigned block, int thread, int barrier, int fence, unsigned mask, bool atomic) {
    return kPresent | (static_cast<Rec>(block & 0xFFFFFF) << 38) | (static_cast<Rec>(std::min(barrier, kMaxBarrier)) << 20)
           | (static_cast<Rec>(std::min(fence, kMaxFence)) << 16) | (static_cast<Rec>(thread) << 6)
           | (atomic ? 16u : 0u) | mask;
}
unsigned r_mask(Rec r) { return r & 15u; }
bool r_atomic(Rec r) { return r & 16u; }
bool r_multi(Rec r) { return r & 32u; }
int r_thread(Rec r) { return static_cast<int>((r >> 6) & 1023u); }
int r_fence(Rec r) { return static_cast<int>((r >> 16) & 15u); }
int r_barrier(Rec r) { return static_cast<int>((r >> 20) & kMaxBarrier); }
unsigned r_block(Rec r) { return static_cast<unsigned>((r >> 38) & 0xFFFFFF); }

struct Cell {
    uint32_t gen;
    uint32_t pad;
    Rec write, read1, read2;
};

enum Kind { kGlobal, kStaticShared, kDynamicShared };

struct Region {
    uintptr_t lo, hi;  // [lo, hi), lo 4-byte aligned
    Cell* shadow;
    size_t cells;
    Kind kind;
};

// What a thread knows of another block's accesses: all of those before its barrier `barrier`, and
// those of the listed threads at that barrier count up to the given fence count.
struct Item {
    int barrier = -1;
    std::vector<std::pair<int, int>> threads;  // (thread, fence count), sorted by thread
};
using Knowledge = std::map<unsigned, Item>;  // by block

void merge(Item& into, const Item& from) {
    if (from.barrier > into.barrier) {
        into = from;
        return;
    }
    if (from.barrier < into.barrier) return;
    for (const auto& [t, f] : from.threads) {
        auto it = std::lower_bound(into.threads.begin(), into.threads.end(), std::make_pair(t, -1));
        if (it != into.threads.end() && it->first == t) it->second = std::max(it->second, f);
        else into.threads.insert(it, {t, f});
    }
}
void merge(Knowledge& into, const Knowledge& from) {
    for (const auto& [b, item] : from) merge(into[b], item);
}

// ---- state ------------------------------------------------------------------------------------
bool active;                 // a launch is running and has not raced yet
uint32_t generation;         // bumped per launch (device memory) and per block (shared memory)
uint32_t launch_gen, block_gen;
dim3 grid_dim, block_dim;
uintptr_t stack_lo, stack_hi;
unsigned block;              // linear index of the running block
int current;                 // running thread of the block
int nthreads;
int barriers;                // __syncthreads() the block has passed
std::vector<int> fences;     // per thread: __threadfence() calls since the last barrier
std::vector<Knowledge> known, pending, released;
std::vector<char> has_released;
bool any_knowledge;
std::unordered_map<uintptr_t, Knowledge> releases;  // what atomics on an address have released
std::string first_race;

// Per kernel: launches and accesses checked, written at exit to $ELBO4J_EMU_RACE_LOG (appended: one
// line per kernel, "name launches accesses"), so a run can say what it covered.
struct Coverage {
    unsigned long long launches = 0, accesses = 0;
};
std::map<std::string, Coverage> coverage;
Coverage* covering;
struct CoverageLog {
    ~CoverageLog() {
        const char* path = std::getenv("ELBO4J_EMU_RACE_LOG");
        if (!path || !*path || coverage.empty()) return;
        std::string text;
        for (const auto& [name, c] : coverage)
            text += name + " " + std::to_string(c.launches) + " " + std::to_string(c.accesses) + "\n";
        const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd < 0) return;
        if (write(fd, text.data(), text.size()) < 0) {}
        close(fd);
    }
} coverage_log;

std::map<uintptr_t, Region> globals;  // by lo
std::vector<Region> statics;          // static __shared__ sections: the library's, and a test program's
Region dynamic_shared;
const Region* last_hit;

Cell* map_shadow(size_t cells) {
    void* m = mmap(nullptr, cells * sizeof(Cell), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "elbo4j-emu race checker: cannot map %zu shadow cells\n", cells);
        abort();
    }
    return static_cast<Cell*>(m);
}

void set_region(Region& r, uintptr_t lo, uintptr_t hi, Kind kind) {
    lo &= ~uintptr_t{3};
    const size_t cells = (hi - lo + 3) / 4;
    if (cells > r.cells) {
        if (r.shadow) munmap(r.shadow, r.cells * sizeof(Cell));
        r.shadow = map_shadow(cells);
        r.cells = cells;
    }
    r.lo = lo;
    r.hi = hi;
    r.kind = kind;
}

const Region* find(uintptr_t a) {
    if (last_hit && a >= last_hit->lo && a < last_hit->hi) return last_hit;
    if (a >= stack_lo && a < stack_hi) return nullptr;
    const Region* r = nullptr;
    for (const Region& s : statics)
        if (a >= s.lo && a < s.hi) r = &s;
    if (r) {
    } else if (a >= dynamic_shared.lo && a < dynamic_shared.hi) {
        r = &dynamic_shared;
    } else {
        auto it = globals.upper_bound(a);
        if (it == globals.begin()) return nullptr;
        --it;
        if (a >= it->second.hi) return nullptr;
        r = &it->second;
    }
    last_hit = r;
    return r;
}

// ---- reports ----------------------------------------------------------------------------------
std::string thread_name(unsigned b, int t) {
    char s[128];
    const unsigned gx = grid_dim.x, gy = grid_dim.y;
    const unsigned bx = block_dim.x, by = block_dim.y;
    snprintf(s, sizeof s, "block (%u,%u,%u) thread (%u,%u,%u)", b % gx, b / gx % gy, b / (gx * gy),
             t % bx, t / bx % by, t / (bx * by));
    return s;
}

std::string where(const Region& r, uintptr_t a, int bytes) {
    char s[256];
    if (r.kind == kGlobal) {
        snprintf(s, sizeof s, "%d bytes at offset %" PRIuPTR " of the device allocation at 0x%" PRIxPTR " (%" PRIuPTR " bytes)",
                 bytes, a - r.lo, r.lo, r.hi - r.lo);
        return s;
    }
    if (r.kind == kDynamicShared) {
        snprintf(s, sizeof s, "%d bytes at offset %" PRIuPTR " of dynamic shared memory", bytes, a - r.lo);
        return s;
    }
    const size_t off = a - reinterpret_cast<uintptr_t>(__start_elbo4j_shared);
    for (const SharedName& n : kSharedNames) {
        if (n.name && a >= reinterpret_cast<uintptr_t>(__start_elbo4j_shared) && off >= n.offset && off < n.offset + n.bytes) {
            snprintf(s, sizeof s, "%d bytes at offset %zu of __shared__ %s (%zu bytes)", bytes, off - n.offset, n.name, n.bytes);
            return s;
        }
    }
    snprintf(s, sizeof s, "%d bytes at offset %" PRIuPTR " of static shared memory at 0x%" PRIxPTR, bytes, a - r.lo, r.lo);
    return s;
}

const char* kind_name(bool write, bool atomic) { return atomic ? "atomic" : write ? "write" : "read"; }

void report(const Region& r, uintptr_t a, int bytes, bool write, bool atomic, Rec other, bool other_write) {
    const unsigned ob = r_block(other);
    std::string why;
    if (ob != (block & 0xFFFFFF)) why = "different blocks with no __threadfence() + atomic release/acquire between them";
    else why = "same block, no __syncthreads() between them";
    const std::string them = r_multi(other) ? "several threads (e.g. " + thread_name(ob, r_thread(other)) + ")"
                                            : thread_name(ob, r_thread(other));
    first_race = "race: " + thread_name(block, current) + " " + kind_name(write, atomic) + " "
                 + where(r, a, bytes) + " after " + them + " " + kind_name(other_write, r_atomic(other)) + " of "
                 + std::to_string(__builtin_popcount(r_mask(other))) + " bytes of that word (" + why + ")";
    active = false;
}

// ---- ordering ---------------------------------------------------------------------------------
bool same_thread(Rec r) { return !r_multi(r) && r_block(r) == (block & 0xFFFFFF) && r_thread(r) == current; }

// Is the access recorded in r ordered before the running thread's next access?
bool ordered(Rec r) {
    if (r_block(r) == (block & 0xFFFFFF)) return same_thread(r) || r_barrier(r) < std::min(barriers, kMaxBarrier);
    const Knowledge& k = known[current];
    auto it = k.find(r_block(r));
    if (it == k.end()) return false;
    const Item& item = it->second;
    if (r_barrier(r) < item.barrier) return true;
    if (r_barrier(r) > item.barrier || r_multi(r)) return false;
    for (const auto& [t, f] : item.threads)
        if (t == r_thread(r)) return r_fence(r) <= f;
    return false;
}

void check(uintptr_t a, int bytes, bool write, bool atomic) {
    const Region* r = find(a);
    if (!r) return;
    ++covering->accesses;
    const uint32_t gen = r->kind == kGlobal ? launch_gen : block_gen;
    const uintptr_t end = a + static_cast<uintptr_t>(bytes);
    for (uintptr_t g = a & ~uintptr_t{3}; g < end; g += 4) {
        if (g < r->lo || g >= r->hi) break;  // an access that straddles two regions: the first only
        Cell& c = r->shadow[(g - r->lo) / 4];
        if (c.gen != gen) c = Cell{gen, 0, 0, 0, 0};
        unsigned mask = 0;
        for (int i = 0; i < 4; ++i)
            if (g + i >= a && g + i < end) mask |= 1u << i;
        const Rec me = pack(block, current, barriers, fences[current], mask, atomic);
        auto conflicts = [&](Rec o, bool o_write) {
            if (!o || !(r_mask(o) & mask)) return false;
            if (atomic && r_atomic(o)) return false;  // atomics on one location never race
            if (ordered(o)) return false;
            report(*r, a, bytes, write, atomic, o, o_write);
            return true;
        };
        if (conflicts(c.write, true)) return;
        if (write) {
            if (conflicts(c.read1, false) || conflicts(c.read2, false)) return;
            c.write = me;
            c.read1 = c.read2 = 0;
            continue;
        }
        // A read: fold it into the latest reading block's group, or start a new group.
        if (c.read1 && r_block(c.read1) == r_block(me)) {
            Rec g1 = c.read1;
            if (r_barrier(g1) == r_barrier(me)) {
                const bool multi = r_multi(g1) || r_thread(g1) != current;
                const int fence = std::max(r_fence(g1), r_fence(me));
                c.read1 = pack(block, multi ? r_thread(g1) : current, barriers, fence, r_mask(g1) | mask, false) | (multi ? 32u : 0u);
            } else {
                c.read1 = me | r_mask(g1);  // a later barrier count: ordered after the earlier reads wherever they are
            }
        } else {
            c.read2 = c.read1;
            c.read1 = me;
        }
    }
}

}  // namespace

// ---- the hooks the runtime calls (race.h, cuda_emu.h) -----------------------------------------
namespace emu {

void race_fence() {
    if (!active) return;
    merge(known[current], pending[current]);
    pending[current].clear();
    released[current] = known[current];
    Item own;
    own.barrier = barriers;
    own.threads = {{current, fences[current]}};
    merge(released[current][block & 0xFFFFFF], own);
    has_released[current] = 1;
    if (fences[current] < kMaxFence) ++fences[current];
    any_knowledge = true;
}

void race_atomic(const void* p, int bytes) {
    if (!active) return;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    check(a, bytes, true, true);
    if (!active) return;
    Knowledge& s = releases[a];
    if (has_released[current]) merge(s, released[current]);
    merge(pending[current], s);
}

namespace race {

void on_alloc(const void* p, size_t bytes) {
    const uintptr_t lo = reinterpret_cast<uintptr_t>(p);
    Region r{};
    set_region(r, lo, lo + bytes, kGlobal);
    globals[r.lo] = r;
    last_hit = nullptr;
}

void on_free(const void* p) {
    auto it = globals.find(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{3});
    if (it == globals.end()) return;
    munmap(it->second.shadow, it->second.cells * sizeof(Cell));
    globals.erase(it);
    last_hit = nullptr;
}

void shared_section(const void* lo, const void* hi) {
    Region r{};
    set_region(r, reinterpret_cast<uintptr_t>(lo), reinterpret_cast<uintptr_t>(hi), kStaticShared);
    statics.push_back(r);
    last_hit = nullptr;
}

void launch_begin(const char* kernel, dim3 grid, dim3 blk, const void* stacks, size_t stack_bytes) {
    grid_dim = grid;
    block_dim = blk;
    stack_lo = reinterpret_cast<uintptr_t>(stacks);
    stack_hi = stack_lo + stack_bytes;
    launch_gen = ++generation;
    covering = &coverage[kernel];
    ++covering->launches;
    releases.clear();
    first_race.clear();
    nthreads = static_cast<int>(blk.x * blk.y * blk.z);
    fences.assign(nthreads, 0);
    known.assign(nthreads, {});
    pending.assign(nthreads, {});
    released.assign(nthreads, {});
    has_released.assign(nthreads, 0);
    any_knowledge = false;
    static const bool own = [] {
        if (+__start_elbo4j_shared && +__stop_elbo4j_shared > +__start_elbo4j_shared)
            shared_section(__start_elbo4j_shared, __stop_elbo4j_shared);
        return true;
    }();
    (void) own;
    last_hit = nullptr;
    active = true;
}

void block_begin(const void* dynamic_smem, size_t dynamic_bytes) {
    if (!active) return;
    block = blockIdx.x + grid_dim.x * (blockIdx.y + grid_dim.y * blockIdx.z);
    block_gen = ++generation;
    barriers = 0;
    std::fill(fences.begin(), fences.end(), 0);
    if (any_knowledge) {
        for (int i = 0; i < nthreads; ++i) {
            known[i].clear();
            pending[i].clear();
            released[i].clear();
        }
        std::fill(has_released.begin(), has_released.end(), 0);
        any_knowledge = false;
    }
    if (dynamic_bytes) {
        const uintptr_t lo = reinterpret_cast<uintptr_t>(dynamic_smem);
        set_region(dynamic_shared, lo, lo + dynamic_bytes, kDynamicShared);
    } else {
        dynamic_shared.lo = dynamic_shared.hi = 0;
    }
    last_hit = nullptr;
}

void thread(int i) { current = i; }

void barrier() {
    if (!active) return;
    if (barriers < kMaxBarrier) ++barriers;
    std::fill(fences.begin(), fences.end(), 0);
    if (any_knowledge) {
        // what any thread of the block had acquired, every thread now has
        Knowledge all;
        for (int i = 0; i < nthreads; ++i) merge(all, known[i]);
        for (int i = 0; i < nthreads; ++i) known[i] = all;
    }
}

const char* report() { return first_race.empty() ? nullptr : first_race.c_str(); }

void launch_end() {
    active = false;
    releases.clear();
}

}  // namespace race
}  // namespace emu

// ---- the -fsanitize=thread instrumentation ----------------------------------------------------
extern "C" {
#define READ(n)                                                                                        \
    void __tsan_read##n(void* p) { if (active) check(reinterpret_cast<uintptr_t>(p), n, false, false); } \
    void __tsan_unaligned_read##n(void* p) { if (active) check(reinterpret_cast<uintptr_t>(p), n, false, false); }
#define WRITE(n)                                                                                       \
    void __tsan_write##n(void* p) { if (active) check(reinterpret_cast<uintptr_t>(p), n, true, false); } \
    void __tsan_unaligned_write##n(void* p) { if (active) check(reinterpret_cast<uintptr_t>(p), n, true, false); }
READ(1) READ(2) READ(4) READ(8) READ(16)
WRITE(1) WRITE(2) WRITE(4) WRITE(8) WRITE(16)
#undef READ
#undef WRITE
void __tsan_read_range(void* p, unsigned long n) {
    for (unsigned long i = 0; active && i < n; i += 4) check(reinterpret_cast<uintptr_t>(p) + i, static_cast<int>(std::min(4ul, n - i)), false, false);
}
void __tsan_write_range(void* p, unsigned long n) {
    for (unsigned long i = 0; active && i < n; i += 4) check(reinterpret_cast<uintptr_t>(p) + i, static_cast<int>(std::min(4ul, n - i)), true, false);
}
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
}
