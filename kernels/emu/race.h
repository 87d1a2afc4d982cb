// elbo4j CPU emulator: the race checker's hooks in the grid runner and the driver (race.cpp; built
// only by scripts/build-emu.sh --race, which defines ELBO4J_EMU_RACE; otherwise they compile to
// nothing). See kernels/README.md, "The race checker".
#pragma once

#include "cuda_emu.h"

#include <cstddef>

namespace emu::race {
#ifdef ELBO4J_EMU_RACE
void on_alloc(const void* p, size_t bytes);    // device memory (cuMemAlloc)
void on_free(const void* p);
// Static __shared__ variables of a program that defines kernels itself (the library's own are found
// by their section, elbo4j_shared).
void shared_section(const void* lo, const void* hi);
// A launch: every access of its kernel is checked against the others of the same launch.
void launch_begin(const char* kernel, dim3 grid, dim3 block, const void* stacks, size_t stack_bytes);
// A block starts (fresh shared memory: the static __shared__ section and the dynamic buffer).
void block_begin(const void* dynamic_smem, size_t dynamic_bytes);
void thread(int i);                            // the scheduler resumes thread i of the block
void barrier();                                // every thread of the block passed __syncthreads()
// The first race of the launch so far (nullptr: none); the launch fails with it.
const char* report();
void launch_end();
#else
inline void on_alloc(const void*, size_t) {}
inline void on_free(const void*) {}
inline void shared_section(const void*, const void*) {}
inline void launch_begin(const char*, dim3, dim3, const void*, size_t) {}
inline void block_begin(const void*, size_t) {}
inline void thread(int) {}
inline void barrier() {}
inline const char* report() { return nullptr; }
inline void launch_end() {}
#endif
}  // namespace emu::race
