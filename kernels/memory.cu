// Memory helpers the driver API lacks. (8- and 32-bit fills are cuMemsetD8Async / cuMemsetD32Async
// on the host side; there is no 64-bit memset.)
#include "common.cuh"

using namespace elbo4j;

// p[i] = bits for i < n: Backend.fill of an F64 tensor (bits = Double.doubleToRawLongBits(value)).
// 16-byte stores of two elements when p is 16-byte aligned; a scalar tail.
extern "C" __global__ void __launch_bounds__(ELBO4J_BLOCK_ELEMENTWISE)
elbo4j_fill_u64(unsigned long long* __restrict__ p, long long n, unsigned long long bits) {
    long long done = 0;
    if (aligned16(p)) {
        const long long n2 = n / 2;
        const ulonglong2 v = make_ulonglong2(bits, bits);
        for (long long i = global_thread(); i < n2; i += grid_threads()) reinterpret_cast<ulonglong2*>(p)[i] = v;
        done = 2 * n2;
    }
    for (long long i = done + global_thread(); i < n; i += grid_threads()) p[i] = bits;
}
