package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaErrors;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.runtime.cudaStream_t;

import java.util.List;
import java.util.Optional;

/**
 * {@link CudaBlas} on JCuda's {@link JCublas2} (every returned {@code cublasStatus_t} is checked here and thrown as a {@link dev.elbo4j.backend.cuda.CudaException} naming the call).
 * JCublas2 12.6 is linked against {@code libcublas.so.12}; {@link #load} reports it unavailable
 * where that library is missing (CUDA 13 installations), and {@link JCudaBinding} then falls back
 * to the FFM cuBLAS binding or fails, as asked. Pointer mode is host: alpha and beta are passed as
 * one-element Java arrays.
 */
final class JCublas2Blas implements CudaBlas {
    private static final int CUBLAS_OP_N = 0;
    private static final int CUBLAS_OP_T = 1;
    private static final int CUBLAS_DEFAULT_MATH = 0;
    private static final int CUBLAS_TF32_TENSOR_OP_MATH = 3;

    /** The loaded JCublas2: creates handles. */
    static final class Library implements CudaBlas.Library {
        @Override
        public String describe() {
            return "cuBLAS via JCublas2 12.6.0 (libcublas.so.12)";
        }

        @Override
        public CudaBlas create(long stream) {
            return new JCublas2Blas(stream);
        }
    }

    private final cublasHandle handle = new cublasHandle();
    private final float[] alpha = new float[1];
    private final float[] beta = new float[1];
    private final String version;
    private boolean closed;

    private JCublas2Blas(long stream) {
        check(JCublas2.cublasCreate(handle), "cublasCreate_v2");
        try {
            cudaStream_t s = JCudaHandles.wrap(new cudaStream_t(), stream);
            check(JCublas2.cublasSetStream(handle, s), "cublasSetStream_v2");
            int[] v = new int[1];
            version = JCublas2.cublasGetVersion(handle, v) == 0 ? " " + v[0] : "";
        } catch (RuntimeException e) {
            JCublas2.cublasDestroy(handle);
            throw e;
        }
    }

    /** JCublas2, or empty with the reason (its natives or libcublas.so.12 missing). */
    static Optional<CudaBlas.Library> load(List<String> reasons) {
        Optional<String> problem = JCudaNatives.blas();
        if (problem.isPresent()) {
            reasons.add(problem.get());
            return Optional.empty();
        }
        return Optional.of(new Library());
    }

    private static void check(int status, String call) {
        if (status != 0) throw CudaErrors.cublasError(call, status);
    }

    private void open() {
        if (closed) throw new IllegalStateException("the cuBLAS handle is closed");
    }

    private static Pointer device(long address) {
        return JCudaHandles.wrap(new CUdeviceptr(), address);
    }

    @Override
    public String describe() {
        return "cuBLAS" + version + " via JCublas2 12.6.0";
    }

    @Override
    public boolean setWorkspace(long devicePtr, long bytes) {
        open();
        check(JCublas2.cublasSetWorkspace(handle, device(devicePtr), bytes), "cublasSetWorkspace_v2");
        return true;
    }

    @Override
    public void setTf32(boolean enabled) {
        open();
        check(JCublas2.cublasSetMathMode(handle, enabled ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                "cublasSetMathMode");
    }

    @Override
    public void sgemmColumnMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                 long b, int ldb, float beta, long c, int ldc) {
        open();
        this.alpha[0] = alpha;
        this.beta[0] = beta;
        check(JCublas2.cublasSgemm(handle, transA ? CUBLAS_OP_T : CUBLAS_OP_N, transB ? CUBLAS_OP_T : CUBLAS_OP_N,
                m, n, k, Pointer.to(this.alpha), device(a), lda, device(b), ldb, Pointer.to(this.beta), device(c), ldc),
                "cublasSgemm_v2");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        check(JCublas2.cublasDestroy(handle), "cublasDestroy_v2");
    }
}
