/* elbo4j CPU emulator: a libcublas.so.13 for build/emu/libcuda.so.1 (scripts/build-emu.sh).
 * The entry points FfmCublas binds. cublasSgemm_v2 is the emulated driver's reference GEMM
 * (elbo4j_emu_sgemm: double dot products rounded once, on the handle's stream, so a stream capture
 * records it); CUBLAS_TF32_TENSOR_OP_MATH (3) rounds A and B to TF32 first; the workspace is
 * accepted and ignored. */
#include <stdint.h>
#include <stdlib.h>

typedef int cublasStatus_t;
struct handle { void* stream; int math_mode; };

int elbo4j_emu_sgemm(void* stream, int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda,
                     const float* B, int ldb, float beta, float* C, int ldc, int tf32);

cublasStatus_t cublasCreate_v2(struct handle** h) { *h = calloc(1, sizeof(struct handle)); return *h ? 0 : 3; }
cublasStatus_t cublasDestroy_v2(struct handle* h) { if (!h) return 1; free(h); return 0; }
cublasStatus_t cublasSetStream_v2(struct handle* h, void* s) { if (!h) return 1; h->stream = s; return 0; }
cublasStatus_t cublasSetMathMode(struct handle* h, int mode) { if (!h) return 1; h->math_mode = mode; return 0; }
cublasStatus_t cublasSetWorkspace_v2(struct handle* h, void* w, size_t bytes) { return h ? 0 : 1; }
cublasStatus_t cublasGetVersion_v2(struct handle* h, int* v) { *v = 130100; return 0; }
const char* cublasGetStatusName(int s) {
    switch (s) {
        case 0: return "CUBLAS_STATUS_SUCCESS";
        case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
        case 7: return "CUBLAS_STATUS_INVALID_VALUE";
        case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}
cublasStatus_t cublasSgemm_v2(struct handle* h, int ta, int tb, int m, int n, int k, const float* alpha,
                              const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
    if (!h) return 1;
    return elbo4j_emu_sgemm(h->stream, ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc, h->math_mode == 3);
}
