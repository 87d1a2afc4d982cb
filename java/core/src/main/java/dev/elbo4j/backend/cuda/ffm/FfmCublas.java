package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaErrors;
import dev.elbo4j.backend.cuda.CudaException;
import dev.elbo4j.backend.cuda.LibrarySearch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link CudaBlas} over cuBLAS ({@code libcublas.so.13}, else {@code .12}) through the FFM API.
 * {@link #load} binds the library once ({@link Symbols}); each {@link CudaBlas.Library#create} makes
 * one handle bound to one stream. The handle and the device pointers are passed as {@code JAVA_LONG}
 * (LP64, as in {@link FfmCudaDriver}); alpha and beta go by host pointer
 * ({@code CUBLAS_POINTER_MODE_HOST}, the default) from a small per-handle segment, read by cuBLAS
 * before the call returns.
 */
public final class FfmCublas implements CudaBlas {
    private static final int CUBLAS_OP_N = 0;
    private static final int CUBLAS_OP_T = 1;
    private static final int CUBLAS_DEFAULT_MATH = 0;
    private static final int CUBLAS_TF32_TENSOR_OP_MATH = 3;

    /** The bound entry points of one loaded library. */
    static final class Symbols implements CudaBlas.Library {
        final String path;
        final MethodHandle create, destroy, setStream, setMathMode, sgemm;
        final MethodHandle setWorkspace, getVersion, getStatusName;  // null when not exported

        Symbols(Native.Library lib) {
            path = lib.path();
            create = lib.bind("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            destroy = lib.bind("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            setStream = lib.bind("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
            setMathMode = lib.bind("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
            sgemm = lib.bind("cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG,
                    JAVA_INT));
            setWorkspace = lib.bindFirst(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                    "cublasSetWorkspace_v2");
            getVersion = lib.bindFirst(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS), "cublasGetVersion_v2");
            getStatusName = lib.bindFirst(FunctionDescriptor.of(ADDRESS, JAVA_INT), "cublasGetStatusName");
        }

        @Override
        public String describe() {
            return "cuBLAS " + path;
        }

        @Override
        public CudaBlas create(long stream) {
            return new FfmCublas(this, stream);
        }

        String statusName(int status) {
            if (CudaErrors.knowsCublasStatus(status) || getStatusName == null) return CudaErrors.cublasStatusName(status);
            try {
                String s = Native.cString((MemorySegment) getStatusName.invokeExact(status));
                return s != null ? s : CudaErrors.cublasStatusName(status);
            } catch (Throwable t) {
                return CudaErrors.cublasStatusName(status);
            }
        }
    }

    /** Loads cuBLAS per {@link LibrarySearch#cublas()}; empty with the reason on failure. */
    public static Optional<CudaBlas.Library> load(LibrarySearch search, List<String> reasons) {
        return Native.<CudaBlas.Library>load(search, Symbols::new, reasons);
    }

    private final Symbols lib;
    private final Arena arena;
    private final MemorySegment alpha, beta;  // host scalars, read by cuBLAS before sgemm returns
    private final long handle;
    private final String description;
    private boolean closed;

    private FfmCublas(Symbols lib, long stream) {
        this.lib = lib;
        this.arena = Arena.ofShared();
        try {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check((int) lib.create.invokeExact(out), "cublasCreate_v2");
            this.handle = out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            arena.close();
            throw rethrow(t);
        }
        try {
            check((int) lib.setStream.invokeExact(handle, stream), "cublasSetStream_v2");
            String version = "";
            if (lib.getVersion != null) {
                MemorySegment v = arena.allocate(JAVA_INT);
                if ((int) lib.getVersion.invokeExact(handle, v) == 0) version = " " + v.get(JAVA_INT, 0);
            }
            this.description = "cuBLAS" + version + " (" + lib.path + ")";
            this.alpha = arena.allocate(JAVA_FLOAT);
            this.beta = arena.allocate(JAVA_FLOAT);
        } catch (Throwable t) {
            close();
            throw rethrow(t);
        }
    }

    private void check(int status, String call) {
        if (status != 0) throw new CudaException(call, status, lib.statusName(status));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private void open() {
        if (closed) throw new IllegalStateException("the cuBLAS handle is closed");
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public boolean setWorkspace(long devicePtr, long bytes) {
        open();
        if (lib.setWorkspace == null) return false;
        try {
            check((int) lib.setWorkspace.invokeExact(handle, devicePtr, bytes), "cublasSetWorkspace_v2");
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void setTf32(boolean enabled) {
        open();
        try {
            check((int) lib.setMathMode.invokeExact(handle, enabled ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                    "cublasSetMathMode");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void sgemmColumnMajor(boolean transA, boolean transB, int m, int n, int k, float alphaValue,
                                              long a, int lda, long b, int ldb, float betaValue, long c, int ldc) {
        open();
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        try {
            check((int) lib.sgemm.invokeExact(handle, transA ? CUBLAS_OP_T : CUBLAS_OP_N, transB ? CUBLAS_OP_T : CUBLAS_OP_N,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "cublasSgemm_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Destroys the handle and frees its host memory; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            check((int) lib.destroy.invokeExact(handle), "cublasDestroy_v2");
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }
}
