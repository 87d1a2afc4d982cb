// elbo4j CPU emulator: the grid runner and the kernel registry (see cuda_emu.h).
#pragma once

#include "cuda_emu.h"

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace emu {

// A kernel with its argument values copied out of cuLaunchKernel's kernelParams (a graph replays it).
using Bound = std::function<void()>;

template <typename... A, std::size_t... I>
Bound bind_impl(void (*f)(A...), void** p, std::index_sequence<I...>) {
    std::tuple<std::decay_t<A>...> args{*static_cast<std::decay_t<A>*>(p[I])...};
    return [f, args]() { std::apply(f, args); };
}

template <auto F>
Bound binder(void** p) {
    return [&]<typename... A>(void (*f)(A...)) {
        return bind_impl(f, p, std::index_sequence_for<A...>{});
    }(F);
}

// An entry point with what the sm_90 build of it needs per launch (kernels/sm_90.resources, from
// ptxas) and the maximum block size of its __launch_bounds__ (1024 without one).
struct Entry {
    const char* name;
    Bound (*bind)(void** params);
    int params;
    int max_threads;   // __launch_bounds__
    int registers;     // per thread
    int static_smem;   // bytes per block
    int local_bytes;   // stack frame per thread
};

template <auto F>
constexpr int param_count() {
    return []<typename... A>(void (*)(A...)) { return static_cast<int>(sizeof...(A)); }(F);
}

// Runs `kernel` over the grid; 0 on success, else a CUresult with the reason in last_error().
int run_grid(const Bound& kernel, const char* name, dim3 grid, dim3 block, unsigned shared_bytes);
const std::string& last_error();

}  // namespace emu

#define EMU_KERNEL(fn, bound, regs, smem, local) \
    emu::Entry{#fn, &emu::binder<&fn>, emu::param_count<&fn>(), (bound), (regs), (smem), (local)}
