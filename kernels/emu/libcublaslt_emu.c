/* elbo4j CPU emulator: a libcublasLt.so.13 for build/emu/libcuda.so.1 (scripts/build-emu.sh).
 * The entry points FfmCublasLt binds: handle, matmul descriptor (compute and scale type, TRANSA,
 * TRANSB, EPILOGUE, BIAS_POINTER, EPILOGUE_AUX_POINTER and EPILOGUE_AUX_LD; other attributes are
 * accepted and ignored), matrix layouts
 * (column-major FP32: type, rows, cols, ld), preference (accepted, ignored), the heuristic (one
 * algorithm for every shape the matmul accepts, with an algorithm id the matmul checks) and
 * cublasLtMatmul, which runs the emulated driver's elbo4j_emu_lt_matmul on the given stream (so a
 * stream capture records it). The heuristic's answer for an unsupported epilogue is
 * CUBLAS_STATUS_NOT_SUPPORTED, as cuBLASLt's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int cublasStatus_t;
enum { OK = 0, NOT_INITIALIZED = 1, ALLOC_FAILED = 3, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };
enum { DESC_COMPUTE = 0, DESC_SCALE = 1, DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS = 8,
       DESC_AUX = 11, DESC_AUX_LD = 12 };
/* The epilogues emulated: DEFAULT, BIAS, RELU_BIAS, RELU_AUX_BIAS, DRELU_BGRAD, BGRADB. */
enum { EP_DEFAULT = 1, EP_BIAS = 4, EP_RELU_BIAS = 6, EP_RELU_AUX_BIAS = 134, EP_DRELU_BGRAD = 152, EP_BGRADB = 512 };
enum { COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77, R_32F = 0 };

struct handle { int magic; };
struct desc { int compute, scale, ta, tb, epilogue; float* bias; unsigned char* aux; int64_t auxld; };
struct layout { int type; uint64_t rows, cols; int64_t ld; };
struct pref { int unused; };
/* cublasLtMatmulHeuristicResult_t: 64-byte algo, size_t workspaceSize, status state, float wavesCount, int reserved[4]. */
struct heuristic { uint64_t algo[8]; size_t workspace; int state; float waves; int reserved[4]; };
static const uint64_t ALGO_ID = 0xE1B0417C;

int elbo4j_emu_lt_matmul(void* stream, int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda,
                         const float* B, int ldb, float beta, const float* C, int ldc, float* D, int ldd, int epilogue,
                         float* bias, unsigned char* aux, long long auxld, int tf32);

cublasStatus_t cublasLtCreate(struct handle** h) {
    if (!h) return INVALID_VALUE;
    *h = calloc(1, sizeof(struct handle));
    if (!*h) return ALLOC_FAILED;
    (*h)->magic = 0x17;
    return OK;
}
cublasStatus_t cublasLtDestroy(struct handle* h) { if (!h) return NOT_INITIALIZED; free(h); return OK; }
size_t cublasLtGetVersion(void) { return 130100; }
const char* cublasLtGetStatusName(int s) {
    switch (s) {
        case OK: return "CUBLAS_STATUS_SUCCESS";
        case NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

cublasStatus_t cublasLtMatmulDescCreate(struct desc** d, int compute, int scale) {
    if (!d) return INVALID_VALUE;
    if ((compute != COMPUTE_32F && compute != COMPUTE_32F_FAST_TF32) || scale != R_32F) return NOT_SUPPORTED;
    *d = calloc(1, sizeof(struct desc));
    if (!*d) return ALLOC_FAILED;
    (*d)->compute = compute;
    (*d)->scale = scale;
    (*d)->epilogue = 1;
    return OK;
}
cublasStatus_t cublasLtMatmulDescDestroy(struct desc* d) { if (!d) return INVALID_VALUE; free(d); return OK; }
cublasStatus_t cublasLtMatmulDescSetAttribute(struct desc* d, int attr, const void* buf, size_t size) {
    if (!d || !buf) return INVALID_VALUE;
    switch (attr) {
        case DESC_TRANSA: case DESC_TRANSB: case DESC_EPILOGUE: {
            if (size != 4) return INVALID_VALUE;
            int v;
            memcpy(&v, buf, 4);
            if (attr == DESC_TRANSA) d->ta = v; else if (attr == DESC_TRANSB) d->tb = v; else d->epilogue = v;
            return OK;
        }
        case DESC_BIAS:
            if (size != sizeof(void*)) return INVALID_VALUE;
            memcpy(&d->bias, buf, sizeof(void*));
            return OK;
        case DESC_AUX:
            if (size != sizeof(void*)) return INVALID_VALUE;
            memcpy(&d->aux, buf, sizeof(void*));
            return OK;
        case DESC_AUX_LD:
            if (size != sizeof(int64_t)) return INVALID_VALUE;
            memcpy(&d->auxld, buf, sizeof(int64_t));
            return OK;
        default:
            return OK;
    }
}

cublasStatus_t cublasLtMatrixLayoutCreate(struct layout** l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (!l) return INVALID_VALUE;
    if (type != R_32F) return NOT_SUPPORTED;
    if (ld < (int64_t) (rows > 1 ? rows : 1) || rows > INT32_MAX || cols > INT32_MAX || ld > INT32_MAX) return INVALID_VALUE;
    *l = calloc(1, sizeof(struct layout));
    if (!*l) return ALLOC_FAILED;
    (*l)->type = type;
    (*l)->rows = rows;
    (*l)->cols = cols;
    (*l)->ld = ld;
    return OK;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(struct layout* l) { if (!l) return INVALID_VALUE; free(l); return OK; }

cublasStatus_t cublasLtMatmulPreferenceCreate(struct pref** p) {
    if (!p) return INVALID_VALUE;
    *p = calloc(1, sizeof(struct pref));
    return *p ? OK : ALLOC_FAILED;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(struct pref* p) { if (!p) return INVALID_VALUE; free(p); return OK; }
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(struct pref* p, int attr, const void* buf, size_t size) {
    (void) attr; (void) size;
    return p && buf ? OK : INVALID_VALUE;
}

static int emulated(int e) {
    return e == EP_DEFAULT || e == EP_BIAS || e == EP_RELU_BIAS || e == EP_RELU_AUX_BIAS || e == EP_DRELU_BGRAD
        || e == EP_BGRADB;
}

/* The ReLU bit mask's leading dimension, as cublasLt.h states it: in bits, a multiple of 128, at least
 * the rows of D. */
static int aux_ok(const struct desc* d, int m) {
    if (d->epilogue != EP_RELU_AUX_BIAS && d->epilogue != EP_DRELU_BGRAD) return 1;
    return d->auxld > 0 && d->auxld % 128 == 0 && d->auxld >= m;
}

/* The shapes of op(A) (m x k), op(B) (k x n), C and D (m x n) agree: the matmul's dimensions. */
static int shapes(const struct desc* d, const struct layout* a, const struct layout* b, const struct layout* c,
                  const struct layout* o, int* m, int* n, int* k) {
    uint64_t am = d->ta ? a->cols : a->rows, ak = d->ta ? a->rows : a->cols;
    uint64_t bk = d->tb ? b->cols : b->rows, bn = d->tb ? b->rows : b->cols;
    if (ak != bk || o->rows != am || o->cols != bn || c->rows != o->rows || c->cols != o->cols) return 0;
    if (am == 0 || bn == 0 || ak == 0) return 0;
    *m = (int) am;
    *n = (int) bn;
    *k = (int) ak;
    return 1;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(struct handle* h, struct desc* d, struct layout* a, struct layout* b,
                                              struct layout* c, struct layout* o, struct pref* p, int requested,
                                              struct heuristic* results, int* returned) {
    int m, n, k;
    if (!h) return NOT_INITIALIZED;
    if (!d || !a || !b || !c || !o || !p || requested < 1 || !results || !returned) return INVALID_VALUE;
    *returned = 0;
    if (!emulated(d->epilogue)) return NOT_SUPPORTED;
    if (!shapes(d, a, b, c, o, &m, &n, &k) || !aux_ok(d, m)) return INVALID_VALUE;
    memset(results, 0, sizeof(struct heuristic));
    results[0].algo[0] = ALGO_ID;
    results[0].waves = 1.0f;
    *returned = 1;
    return OK;
}

cublasStatus_t cublasLtMatmul(struct handle* h, struct desc* d, const float* alpha, const float* A, struct layout* la,
                              const float* B, struct layout* lb, const float* beta, const float* C, struct layout* lc,
                              float* D, struct layout* ld, const struct heuristic* algo, void* workspace,
                              size_t workspaceBytes, void* stream) {
    int m, n, k;
    (void) workspace; (void) workspaceBytes;
    if (!h) return NOT_INITIALIZED;
    if (!d || !alpha || !beta || !la || !lb || !lc || !ld || !D) return INVALID_VALUE;
    if (algo && algo->algo[0] != ALGO_ID) return INVALID_VALUE;
    if (!shapes(d, la, lb, lc, ld, &m, &n, &k) || !aux_ok(d, m)) return INVALID_VALUE;
    return elbo4j_emu_lt_matmul(stream, d->ta, d->tb, m, n, k, *alpha, A, (int) la->ld, B, (int) lb->ld, *beta, C,
                                (int) lc->ld, D, (int) ld->ld, d->epilogue, d->bias, d->aux, (long long) d->auxld,
                                d->compute == COMPUTE_32F_FAST_TF32);
}
