// Batch gather from the device-resident data set: rows index[from .. from + rows) of the U8 data
// set (examples x cols), scaled to [0, 1] and binarised. Reference: CpuData.gather; semantics:
// Backend.gather. Bit-exact: p = pixel / 255 is one IEEE division, and a Bernoulli draw compares
// the exact uniform of element n * D + d (n the example's row in the data set) with p.
//
// mode: 0 none, 1 dynamic, 2 fixed (dev.elbo4j.backend.Binarization ordinals; dynamic and fixed
// differ only in the key the host passes).
//
// An index outside [0, examples) cannot throw on the device: its output row is filled with NaN and
// the error word records the first bad row in batch order, the one CpuData.gather throws for:
// *error = min over bad rows r of (r << 32 | (uint32) index), by atomicMin, so the row decides and
// the block order does not (all ones when clean; a row is below 2^31, so no report is all ones).
// The host reads and clears *error at its next synchronisation and throws
// IndexOutOfBoundsException for that index.
#include "common.cuh"

using namespace elbo4j;

static __device__ __forceinline__ float binarise(float p, uint32_t w, int mode) {
    return mode == 0 ? p : (uniform01(w) < p ? 1.0f : 0.0f);
}

// The error word's report for batch row r holding the bad index ex (smaller: earlier in the batch).
static __device__ __forceinline__ unsigned long long bad_row(int r, int ex) {
    return (static_cast<unsigned long long>(r) << 32) | static_cast<unsigned int>(ex);
}

static __device__ __forceinline__ float scale255(unsigned char b) {
    return __fdiv_rn(static_cast<float>(b), 255.0f);
}

extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_gather_u8_f32(const unsigned char* __restrict__ data, const int* __restrict__ index,
                     float* __restrict__ out, unsigned long long* __restrict__ error,
                     int from, int rows, int examples, int cols, int mode,
                     unsigned int seed_lo, unsigned int seed_hi, unsigned int stream,
                     unsigned long long step, const unsigned long long* __restrict__ step_ptr) {
    const PhiloxKey key = make_key(seed_lo, seed_hi, stream, step, step_ptr);
    const float nan = __int_as_float(0x7fc00000);
    if (cols % 4 == 0) {
        // One thread per 4 pixels: element n * D + c with c % 4 == 0 starts a Philox block, so one
        // generator call serves the 4 pixels; pixels are read as one 32-bit word when the data set
        // base is 4-byte aligned and written as one float4 when out is 16-byte aligned.
        const int chunks = cols / 4;
        const bool in_vec = (reinterpret_cast<uintptr_t>(data) & 3u) == 0;
        const bool out_vec = aligned16(out);
        const long long total = static_cast<long long>(rows) * chunks;
        for (long long i = global_thread(); i < total; i += grid_threads()) {
            const RowCol rc = row_col(i, chunks);
            const int r = static_cast<int>(rc.row), c = static_cast<int>(rc.col) * 4;
            const int ex = index[from + r];
            float4 v;
            if (ex < 0 || ex >= examples) {
                if (c == 0) atomicMin(error, bad_row(r, ex));
                v = make_float4(nan, nan, nan, nan);
            } else {
                const long long src = static_cast<long long>(ex) * cols + c;
                uchar4 px;
                if (in_vec) {
                    px = *reinterpret_cast<const uchar4*>(data + src);
                } else {
                    px = make_uchar4(data[src], data[src + 1], data[src + 2], data[src + 3]);
                }
                uint4 w = make_uint4(0, 0, 0, 0);
                if (mode != 0) w = philox(static_cast<unsigned long long>(src >> 2), key);
                v = make_float4(binarise(scale255(px.x), w.x, mode), binarise(scale255(px.y), w.y, mode),
                                binarise(scale255(px.z), w.z, mode), binarise(scale255(px.w), w.w, mode));
            }
            float* o = out + static_cast<long long>(r) * cols + c;
            if (out_vec) {
                store4(o, v);
            } else {
                o[0] = v.x;
                o[1] = v.y;
                o[2] = v.z;
                o[3] = v.w;
            }
        }
    } else {
        // General D: one thread per pixel; a pixel's Philox block may straddle two rows.
        const long long total = static_cast<long long>(rows) * cols;
        for (long long i = global_thread(); i < total; i += grid_threads()) {
            const RowCol rc = row_col(i, cols);
            const int r = static_cast<int>(rc.row), c = static_cast<int>(rc.col);
            const int ex = index[from + r];
            float v;
            if (ex < 0 || ex >= examples) {
                if (c == 0) atomicMin(error, bad_row(r, ex));
                v = nan;
            } else {
                const long long j = static_cast<long long>(ex) * cols + c;
                const float p = scale255(data[j]);
                v = mode == 0 ? p : binarise(p, word(philox(static_cast<unsigned long long>(j >> 2), key), static_cast<int>(j & 3)), mode);
            }
            out[i] = v;
        }
    }
}

// The batch's rows of an epoch's permutation, for a gather that a replayed graph repeats:
// out[i] = perm[*cursor * batch + i] for i < rows, where *cursor is the batch number in the epoch
// (device memory, advanced by the step itself), so the gather can run on out from row 0 with
// arguments that never change. A position past the permutation gives -1, which the gather then
// reports as an index error at the host's next read. wrap > 0: the batch number is *cursor mod wrap
// (a second data set cycled at the first one's cursor: M2's labelled sub-batch b mod L).
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_batch_index_i32(const int* __restrict__ perm, long long perm_size, int* __restrict__ out, int rows, int batch,
                       const unsigned long long* __restrict__ cursor, long long wrap) {
    const unsigned long long at_batch = wrap > 0 ? *cursor % static_cast<unsigned long long>(wrap) : *cursor;
    const unsigned long long first = at_batch * static_cast<unsigned long long>(batch);
    for (long long i = global_thread(); i < rows; i += grid_threads()) {
        const unsigned long long at = first + static_cast<unsigned long long>(i);
        out[i] = at < static_cast<unsigned long long>(perm_size) ? perm[at] : -1;
    }
}
