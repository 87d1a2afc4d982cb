package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Stand-ins for {@code libcuda.so.1} and {@code libcublas.so.13}, compiled from C by the system's
 * {@code cc} into a temporary directory, so the FFM binding and the backend's host logic run
 * without a GPU. "Device" memory is host memory ({@code cuMemAlloc_v2} is an aligned malloc and a
 * {@code CUdeviceptr} the host address), copies and memsets are memcpy/memset, {@code cublasSgemm_v2}
 * is a reference column-major GEMM, {@code cuModuleLoadData} accepts only a fatbin header, and
 * {@code cuLaunchKernel} runs nothing but records the function, the launch configuration and the
 * first argument slots for the test to inspect ({@code fake_*} functions). Tests that need them call
 * {@link #get()}, which skips the test when there is no C compiler.
 */
public final class FakeCudaLibraries {
    private static final String CUDA_SOURCE = """
            #include <stdint.h>
            #include <stdlib.h>
            #include <string.h>
            typedef int CUresult;
            typedef unsigned long long CUdeviceptr;

            static int init_result = 0, device_count = 1, cc_major = 9, cc_minor = 0, sms = 4;
            static long long live_allocs = 0, total_allocs = 0, launches = 0, ctx_set = 0;
            static unsigned long long alloc_limit = 1ull << 34;
            static char last_kernel[128];
            static unsigned last_cfg[7];
            static uint64_t last_args[24];
            static uintptr_t last_stream;

            void fake_set_init_result(int r) { init_result = r; }
            void fake_set_device(int count, int major, int minor, int n) { device_count = count; cc_major = major; cc_minor = minor; sms = n; }
            long long fake_live_allocs(void) { return live_allocs; }
            long long fake_total_allocs(void) { return total_allocs; }
            long long fake_launches(void) { return launches; }
            long long fake_ctx_set(void) { return ctx_set; }
            const char* fake_last_kernel(void) { return last_kernel; }
            unsigned fake_last_cfg(int i) { return last_cfg[i]; }
            uint64_t fake_last_arg(int i) { return last_args[i]; }
            uintptr_t fake_last_stream(void) { return last_stream; }

            CUresult cuInit(unsigned flags) { return flags ? 1 : init_result; }
            static int driver_version = 13000;
            /* calls by kind: 0 cuGraphLaunch, 1 cuStreamSynchronize, 2 cuEventSynchronize, 3 DtoH copies,
               4 HtoD copies, 5 DtoD copies, 6 memsets, 7 cuEventRecord, 8 cuMemHostAlloc, 9 cuStreamWaitEvent */
            static long long counts[10];
            long long fake_count(int kind) { return kind >= 0 && kind < 10 ? counts[kind] : -1; }
            void fake_set_driver_version(int v) { driver_version = v; }
            CUresult cuDriverGetVersion(int* v) { *v = driver_version; return 0; }
            CUresult cuDeviceGetCount(int* n) { if (init_result) return 3; *n = device_count; return 0; }
            CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal < 0 || ordinal >= device_count) return 101; *d = ordinal; return 0; }
            CUresult cuDeviceGetName(char* name, int len, int dev) { strncpy(name, "Fake GPU", len); name[len - 1] = 0; return 0; }
            CUresult cuDeviceTotalMem_v2(size_t* bytes, int dev) { *bytes = 8ull << 30; return 0; }
            CUresult cuDeviceGetAttribute(int* v, int attr, int dev) {
                if (attr == 75) *v = cc_major; else if (attr == 76) *v = cc_minor; else if (attr == 16) *v = sms; else return 1;
                return 0;
            }
            CUresult cuDevicePrimaryCtxRetain(void** ctx, int dev) { *ctx = (void*) 0x1000; return 0; }
            CUresult cuDevicePrimaryCtxRelease_v2(int dev) { return 0; }
            CUresult cuCtxSetCurrent(void* ctx) { ctx_set++; return ctx == (void*) 0x1000 ? 0 : 201; }
            CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
                if (bytes == 0) return 1;
                if (bytes > alloc_limit) return 2;
                void* m = aligned_alloc(256, (bytes + 255) / 256 * 256);
                if (!m) return 2;
                memset(m, 0xAB, bytes);  /* fresh memory is garbage, as on a GPU */
                *p = (CUdeviceptr) (uintptr_t) m; live_allocs++; total_allocs++; return 0;
            }
            CUresult cuMemFree_v2(CUdeviceptr p) { if (!p) return 1; free((void*) (uintptr_t) p); live_allocs--; return 0; }
            CUresult cuMemHostAlloc(void** p, size_t bytes, unsigned flags) {
                if (bytes == 0 || flags != 0) return 1;
                *p = malloc(bytes); if (!*p) return 2;
                memset(*p, 0xCD, bytes); counts[8]++; return 0;
            }
            CUresult cuMemFreeHost(void* p) { if (!p) return 1; free(p); return 0; }
            CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void* st) { counts[4]++; memcpy((void*) (uintptr_t) d, s, n); return 0; }
            CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void* st) { counts[3]++; memcpy(d, (void*) (uintptr_t) s, n); return 0; }
            CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void* st) { counts[5]++; memmove((void*) (uintptr_t) d, (void*) (uintptr_t) s, n); return 0; }
            CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* st) { counts[6]++; memset((void*) (uintptr_t) d, v, n); return 0; }
            CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void* st) {
                counts[6]++; unsigned* p = (unsigned*) (uintptr_t) d; for (size_t i = 0; i < n; i++) p[i] = v; return 0;
            }
            CUresult cuModuleLoadData(void** m, const void* image) {
                uint32_t magic; memcpy(&magic, image, 4);
                if (magic != 0xBA55ED50u) return 200;
                *m = (void*) 0x2000; return 0;
            }
            CUresult cuModuleUnload(void* m) { return m == (void*) 0x2000 ? 0 : 400; }
            CUresult cuModuleGetFunction(void** f, void* m, const char* name) {
                if (strncmp(name, "elbo4j_", 7) != 0) return 500;
                *f = strdup(name); return 0;
            }
            CUresult cuFuncGetAttribute(int* v, int attr, void* f) {
                if (attr == 0) *v = 1024; else if (attr == 4) *v = 32; else if (attr == 8) *v = 48 * 1024; else *v = 0;
                return 0;
            }
            CUresult cuFuncSetAttribute(void* f, int attr, int value) { return 0; }
            CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* n, void* f, int threads, size_t smem) { *n = 2048 / threads; return 0; }
            CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                    unsigned shared, void* stream, void** params, void** extra) {
                if (bx * by * bz > 1024 || gx == 0 || gy == 0 || gz == 0) return 1;
                strncpy(last_kernel, (const char*) f, sizeof last_kernel - 1);
                unsigned cfg[7] = {gx, gy, gz, bx, by, bz, shared};
                memcpy(last_cfg, cfg, sizeof cfg);
                for (int i = 0; i < 24; i++) memcpy(&last_args[i], params[i], 8);
                last_stream = (uintptr_t) stream;
                launches++; return 0;
            }
            static int streams_made;
            CUresult cuStreamCreate(void** s, unsigned flags) { *s = (void*) (uintptr_t) (0x3000 + flags + 0x10 * streams_made++); return 0; }
            CUresult cuStreamDestroy_v2(void* s) { return 0; }
            CUresult cuStreamSynchronize(void* s) { counts[1]++; return 0; }
            CUresult cuEventCreate(void** e, unsigned flags) { *e = malloc(1); return 0; }
            CUresult cuEventRecord(void* e, void* s) { counts[7]++; return 0; }
            CUresult cuStreamWaitEvent(void* s, void* e, unsigned flags) { counts[9]++; return e && flags == 0 ? 0 : 1; }
            CUresult cuEventSynchronize(void* e) { counts[2]++; return 0; }
            CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { *ms = 1.5f; return 0; }
            CUresult cuEventDestroy_v2(void* e) { free(e); return 0; }
            CUresult cuStreamBeginCapture_v2(void* s, int mode) { return mode == 1 ? 0 : 1; }
            CUresult cuStreamEndCapture(void* s, void** g) { *g = (void*) 0x4000; return 0; }
            CUresult cuGraphInstantiateWithFlags(void** e, void* g, unsigned long long flags) { *e = (void*) 0x5000; return 0; }
            CUresult cuGraphLaunch(void* e, void* s) { counts[0]++; return e == (void*) 0x5000 ? 0 : 400; }
            CUresult cuGraphExecDestroy(void* e) { return 0; }
            CUresult cuGraphDestroy(void* g) { return 0; }
            """;

    private static final String CUBLAS_SOURCE = """
            #include <stdint.h>
            #include <stdlib.h>
            typedef int cublasStatus_t;
            static int math_mode = -1;
            static uintptr_t workspace = 0, stream_set = 0;
            int fake_math_mode(void) { return math_mode; }
            uintptr_t fake_workspace(void) { return workspace; }
            uintptr_t fake_blas_stream(void) { return stream_set; }
            /* the stream of each SGEMM's handle, the last 64 */
            static uintptr_t gemm_streams[64];
            static long long gemms;
            long long fake_gemms(void) { return gemms; }
            uintptr_t fake_gemm_stream(long long i) { return gemm_streams[i % 64]; }
            cublasStatus_t cublasCreate_v2(void** h) { *h = calloc(1, 16); return 0; }
            cublasStatus_t cublasDestroy_v2(void* h) { free(h); return 0; }
            cublasStatus_t cublasSetStream_v2(void* h, void* s) { stream_set = (uintptr_t) s; *(uintptr_t*) h = (uintptr_t) s; return 0; }
            cublasStatus_t cublasSetMathMode(void* h, int mode) { math_mode = mode; return 0; }
            cublasStatus_t cublasSetWorkspace_v2(void* h, void* w, size_t bytes) { workspace = (uintptr_t) w; return 0; }
            cublasStatus_t cublasGetVersion_v2(void* h, int* v) { *v = 130100; return 0; }
            /* Reference column-major SGEMM with cuBLAS's argument checks. */
            cublasStatus_t cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha,
                                          const float* A, int lda, const float* B, int ldb, const float* beta,
                                          float* C, int ldc) {
                if (m < 0 || n < 0 || k < 0 || ta < 0 || ta > 1 || tb < 0 || tb > 1) return 7;
                if (lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1))) return 7;
                if (ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1))) return 7;
                if (ldc < (m > 1 ? m : 1)) return 7;
                gemm_streams[gemms++ % 64] = *(uintptr_t*) h;
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < m; i++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) {
                            double a = ta ? A[p + (size_t) i * lda] : A[i + (size_t) p * lda];
                            double b = tb ? B[j + (size_t) p * ldb] : B[p + (size_t) j * ldb];
                            s += a * b;
                        }
                        float* c = &C[i + (size_t) j * ldc];
                        *c = (float) (*alpha * s + (*beta == 0.0f ? 0.0 : (double) *beta * *c));
                    }
                }
                return 0;
            }
            """;

    /** Paths of the compiled libraries. */
    public record Libraries(Path cuda, Path cublas) {
    }

    private static Libraries built;
    private static String failure;

    private FakeCudaLibraries() {
    }

    /** The compiled fakes; aborts (skips) the calling test when they cannot be built here. */
    public static synchronized Libraries get() {
        if (built == null && failure == null) {
            try {
                built = build();
            } catch (IOException | InterruptedException | RuntimeException e) {
                failure = e.getMessage();
            }
        }
        Assumptions.assumeTrue(built != null, () -> "fake CUDA libraries unavailable: " + failure);
        return built;
    }

    private static Libraries build() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("elbo4j-fake-cuda");
        dir.toFile().deleteOnExit();
        Path cuda = compile(dir, "fake_cuda.c", CUDA_SOURCE, "libcuda.so.1");
        Path cublas = compile(dir, "fake_cublas.c", CUBLAS_SOURCE, "libcublas.so.13");
        return new Libraries(cuda, cublas);
    }

    private static Path compile(Path dir, String file, String source, String lib) throws IOException, InterruptedException {
        Path src = dir.resolve(file), out = dir.resolve(lib);
        Files.writeString(src, source);
        String cc = System.getenv().getOrDefault("CC", "cc");
        Process p = new ProcessBuilder(List.of(cc, "-shared", "-fPIC", "-O1", "-Wl,-z,noexecstack", "-o", out.toString(), src.toString()))
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(cc + " failed for " + file + ": " + log);
        }
        src.toFile().deleteOnExit();
        out.toFile().deleteOnExit();
        return out;
    }
}
