// Reparameterised sampling, the closed-form KL against N(0, I) and the log importance ratio
// (forward), and their gradient with respect to the encoder's statistics (backward).
// Reference: dev.elbo4j.backend.cpu.CpuLatent; semantics: Backend.latentForward / latentBackward.
//
// Shapes: stats B x 2Z (columns [0, Z) the means, [Z, 2Z) log sigma^2); eps, z, dz (L*B) x Z,
// row l*B + b is sample l of input b; kl B; log_ratio L*B; d_stats B x 2Z.
//
// Arithmetic is in double, operation for operation as the reference (no FMA contraction), and
// rounded to float where the reference rounds: z, eps, kl, log_ratio and d_stats agree with the
// CPU except where CUDA's and Java's double exp/log/sin/cos differ by an ulp next to a float
// rounding boundary, and for the order of the sums over k (a tree here, a loop there; both in
// double). These kernels touch (L*B) x Z elements: a few thousand per training step.
#include "common.cuh"

using namespace elbo4j;

// One row per group of `group` lanes (group a power of two <= 32, chosen by the host as the
// smallest one covering the Philox blocks a row touches: ceil(Z / 4) + 1). Lane g of a group
// takes the row's Philox blocks g, g + group, ...: each block yields four consecutive elements of
// eps, so Box-Muller runs once per element pair and no lane redoes another's generator work.
// Sums over the row (log ratio, KL) are per-lane loops followed by a butterfly over the group.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_LATENT, ELBO4J_LATENT_MIN_BLOCKS)
elbo4j_latent_forward_f32(const float* __restrict__ stats, float* __restrict__ eps, float* __restrict__ z,
                          float* __restrict__ kl, float* __restrict__ log_ratio,
                          int batch, int latent, int rows, int group,
                          unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                          unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const int lane = threadIdx.x % kWarpSize;
    const int rows_per_warp = kWarpSize / group;
    const int sub = lane / group, g = lane % group;
    const long long warp = global_thread() / kWarpSize, warps = grid_threads() / kWarpSize;
    const bool vec = aligned16(eps) && aligned16(z);

    // The loop bound is warp-uniform, so every lane reaches the shuffles of group_sum.
    for (long long base = warp * rows_per_warp; base < rows; base += warps * rows_per_warp) {
        const long long r = base + sub;
        double lr = 0.0, kls = 0.0;
        if (r < rows) {
            const int b = static_cast<int>(r % batch);
            const float* mu_row = stats + static_cast<long long>(b) * 2 * latent;
            const float* lv_row = mu_row + latent;
            const long long first = r * latent, last = first + latent;  // this row's elements
            const bool with_kl = kl != nullptr && r < batch;             // sample 0 of input b
            for (long long q = (first >> 2) + g; 4 * q < last; q += group) {
                const float4 e4 = normals4(philox(static_cast<unsigned long long>(q), key));
                float4 z4 = e4;
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const long long j = 4 * q + e;
                    if (j < first || j >= last) continue;
                    const int k = static_cast<int>(j - first);
                    const double mu = mu_row[k], lv = lv_row[k];
                    const float ef = lane_of(e4, e);
                    const double ed = ef;
                    // z = mu + exp(lv / 2) eps, then the log ratio from the float z, as CpuLatent.
                    const float zf = static_cast<float>(add_rn(mu, mul_rn(exp(0.5 * lv), ed)));
                    const double zd = zf;
                    lr = add_rn(lr, sub_rn(sub_rn(mul_rn(zd, zd), mul_rn(ed, ed)), lv));
                    if (with_kl) kls = add_rn(kls, sub_rn(sub_rn(add_rn(1.0, lv), mul_rn(mu, mu)), exp(lv)));
                    if (e == 0) z4.x = zf; else if (e == 1) z4.y = zf; else if (e == 2) z4.z = zf; else z4.w = zf;
                }
                const long long j0 = 4 * q;
                if (vec && j0 >= first && j0 + 4 <= last) {
                    // A whole Philox block inside the row: element 4q is 16-byte aligned.
                    store4(eps + j0, e4);
                    store4(z + j0, z4);
                } else {
                    for (int e = 0; e < 4; ++e) {
                        const long long j = j0 + e;
                        if (j < first || j >= last) continue;
                        eps[j] = lane_of(e4, e);
                        z[j] = lane_of(z4, e);
                    }
                }
            }
        }
        lr = group_sum(lr, group);
        kls = group_sum(kls, group);
        if (r < rows && g == 0) {
            if (log_ratio != nullptr) log_ratio[r] = static_cast<float>(-0.5 * lr);
            if (kl != nullptr && r < batch) kl[r] = static_cast<float>(-0.5 * kls);
        }
    }
}

// One thread per (b, k): the sums over the L samples run in sample order, as in CpuLatent.
// kl_weight_ptr (null: kl_weight_arg is the weight): the KL weight of the batch's summed loss is
// read from device memory (a replayed step during a KL warm-up) and divided by B here, as the
// host divides it for the mean loss.
// Sample l of element (b, k) sits at l * B * Z + b * Z + k, so a warp reads 32 consecutive floats
// of dz and eps per sample (coalesced) and writes two 32-float runs of d_stats.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_latent_backward_f32(const float* __restrict__ stats, const float* __restrict__ eps,
                           const float* __restrict__ dz, float* __restrict__ d_stats,
                           int batch, int latent, int samples, double kl_weight_arg,
                           const double* __restrict__ kl_weight_ptr) {
    const double kl_weight = kl_weight_ptr != nullptr ? *kl_weight_ptr / static_cast<double>(batch) : kl_weight_arg;
    const long long n = static_cast<long long>(batch) * latent;
    for (long long i = global_thread(); i < n; i += grid_threads()) {
        const long long b = i / latent;
        const int k = static_cast<int>(i - b * latent);
        const long long mu_at = b * 2 * latent + k, lv_at = mu_at + latent;
        const double mu = stats[mu_at], lv = stats[lv_at];
        const double sd = exp(0.5 * lv);
        double gmu = 0.0, glv = 0.0;
        for (int l = 0; l < samples; ++l) {
            const long long at = l * n + i;
            const double gz = dz[at];
            gmu = add_rn(gmu, gz);
            glv = add_rn(glv, mul_rn(gz, static_cast<double>(eps[at])));
        }
        d_stats[mu_at] = static_cast<float>(add_rn(gmu, mul_rn(kl_weight, mu)));
        d_stats[lv_at] = static_cast<float>(add_rn(mul_rn(mul_rn(0.5, sd), glv),
                                                   mul_rn(mul_rn(kl_weight, 0.5), sub_rn(exp(lv), 1.0))));
    }
}
