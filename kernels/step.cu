// The device side of a training step that the host does not wait for (a replayed CUDA graph):
// the finite check that decides whether the optimizer may update, without a read back.
// Launched by dev.elbo4j.backend.cuda.StepGuard. Reference: the eager trainer's host decision
// (FiniteGuard: a step applies when its loss and gradient sums are finite), which
// StepGuardParityTest replays against.
//
// State (unsigned words; StepGuard names the offsets):
//   [0] apply       1 when the last checked step may update (read by elbo4j_adam_guarded_f32)
//   [1] stopped     sticky: a bad step under the stop policy; every later check fails too
//   [2] bad_step_lo the Adam step (counting from 1) the first bad step would have taken
//   [3] bad_step_hi
//   [4] bad_sum     index into sums of the first non-finite sum of that step
//   [5] skipped     steps skipped under the skip policy
//   [6] table_miss  the optimizer found no schedule row for its step (the host uploaded too few)
//   [7] examples    examples of the applied steps
//   [8] [9] [10]    the optimizer's schedule: its first step (lo, hi) and rows (elbo4j_adam_guarded_f32)
//
// A good step adds 1 to *step (Adam's step and the latent noise step, as Trainer's adam.steps()),
// and adds the loss_terms (1 to 5) loss terms to *loss_acc in order, loss_scale0 * sums[0], then
// loss_scale1 * sums[1], ..., loss_scale4 * sums[4] (the summed batch loss, as Backend.accumulate
// does term by term: acc + scale * s in double).
//
// sums[i] for i >= stop_from are sums whose non-finiteness stops the run even under the skip policy
// (the parameters: skipping cannot get past a non-finite parameter). They are looked at first, so a
// step whose loss is non-finite because a parameter is stops rather than skips.
//
// skip_log (null: not kept; log_len entries): under the skip policy a skipped step writes 1 + the
// index of its first non-finite sum at skip_log[*cursor] (the batch number within the epoch), so
// the host can name each skipped batch at its next read.
//
// scale_ptr (null: the launch scales are the scales): term ptr_term's scale is *scale_ptr times its
// launch scale, the product rounded once (the KL weight of a warm-up step, selected per batch by
// elbo4j_select_f64, times a factor of the batch's shape: 1, or M2's B / Bl).
//
// Launch: 1 block of 32 threads; thread 0 does the work (a handful of scalar reads).
#include "common.cuh"

using namespace elbo4j;

extern "C" __global__ void __launch_bounds__(32)
elbo4j_step_guard(const double* __restrict__ sums, int count, int stop_from, int skip_policy, int rows,
                  int loss_terms, double loss_scale0, double loss_scale1, unsigned long long* __restrict__ step,
                  unsigned int* __restrict__ state, double* __restrict__ loss_acc,
                  const unsigned long long* __restrict__ cursor, unsigned int* __restrict__ skip_log, int log_len,
                  const double* __restrict__ scale_ptr, double loss_scale2, double loss_scale3, double loss_scale4,
                  int ptr_term) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    if (state[1] != 0u) {
        state[0] = 0u;
        return;
    }
    int bad = -1;
    for (int i = stop_from; i < count && bad < 0; i++) {
        if (!isfinite(sums[i])) bad = i;
    }
    for (int i = 0; i < stop_from && i < count && bad < 0; i++) {
        if (!isfinite(sums[i])) bad = i;
    }
    if (bad < 0) {
        state[0] = 1u;
        *step += 1ull;
        for (int i = 0; i < loss_terms && i < 5; i++) {
            const double launch_scale = i == 0 ? loss_scale0 : i == 1 ? loss_scale1 : i == 2 ? loss_scale2
                                      : i == 3 ? loss_scale3 : loss_scale4;
            const double scale = scale_ptr != nullptr && i == ptr_term ? mul_rn(*scale_ptr, launch_scale) : launch_scale;
            loss_acc[0] = loss_acc[0] + scale * sums[i];
        }
        state[7] += static_cast<unsigned int>(rows);
        return;
    }
    state[0] = 0u;
    if (skip_policy != 0 && bad < stop_from) {
        state[5] += 1u;
        if (skip_log != nullptr && cursor != nullptr && *cursor < static_cast<unsigned long long>(log_len)) {
            skip_log[*cursor] = static_cast<unsigned int>(bad + 1);
        }
        return;
    }
    const unsigned long long next = *step + 1ull;
    state[1] = 1u;
    state[2] = static_cast<unsigned int>(next);
    state[3] = static_cast<unsigned int>(next >> 32);
    state[4] = static_cast<unsigned int>(bad);
}

// *out = table[*cursor] (the last entry past the end): the value of the batch at a device cursor
// from a per-batch table uploaded once per epoch, for kernels that read a per-step scalar from
// device memory (the KL warm-up weight of a replayed step). Launch: 1 block of 32 threads.
extern "C" __global__ void __launch_bounds__(32)
elbo4j_select_f64(const double* __restrict__ table, int len, const unsigned long long* __restrict__ cursor,
                  double* __restrict__ out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    const unsigned long long c = *cursor;
    *out = table[c < static_cast<unsigned long long>(len) ? c : static_cast<unsigned long long>(len - 1)];
}
