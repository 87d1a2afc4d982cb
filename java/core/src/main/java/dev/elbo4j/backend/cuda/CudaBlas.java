package dev.elbo4j.backend.cuda;

/**
 * The slice of cuBLAS the backend uses, as a port: one handle bound to one stream. The FFM
 * binding ({@code dev.elbo4j.backend.cuda.ffm.FfmCublas}) implements it over
 * {@code libcublas.so.13} or {@code .12}. Every call checks its {@code cublasStatus_t} and throws
 * {@link CudaException} naming the call and the status.
 *
 * <p>cuBLAS is column-major, elbo4j row-major. A row-major matrix X (r x c, row stride ld) is, read
 * column-major, X^T (c x r, leading dimension ld); so the row-major product C = op(A) op(B) is the
 * column-major product C^T = op(B)^T op(A)^T, which {@link #sgemm} issues as
 * {@code sgemm(opB, opA, n, m, k, alpha, B, ldb, A, lda, beta, C, ldc)}: no transposes are materialised.
 */
public interface CudaBlas extends AutoCloseable {

    /** A loaded cuBLAS library: creates handles once a context is current. */
    interface Library {
        /** The library file and its version, for messages. */
        String describe();

        /** {@code cublasCreate_v2} + {@code cublasSetStream_v2}: a handle whose work runs on {@code stream}. */
        CudaBlas create(long stream);
    }

    /** The library and its version (from {@code cublasGetVersion_v2}, when present). */
    String describe();

    /**
     * {@code cublasSetWorkspace_v2}: a caller-owned device workspace, so cuBLAS allocates nothing
     * while a stream is captured into a CUDA graph. Returns false if the library lacks the call.
     */
    boolean setWorkspace(long devicePtr, long bytes);

    /**
     * {@code cublasSetMathMode}: TF32 tensor-core math ({@code CUBLAS_TF32_TENSOR_OP_MATH}) when true,
     * plain FP32 ({@code CUBLAS_DEFAULT_MATH}) when false. FP32 is the default; the parity tests need it.
     */
    void setTf32(boolean enabled);

    /** Column-major {@code cublasSgemm_v2}: C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n. */
    void sgemmColumnMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                          long b, int ldb, float beta, long c, int ldc);

    /**
     * Row-major C (m x n, row stride ldc) = alpha op(A) op(B) + beta C with op(A) m x k and op(B)
     * k x n (lda, ldb the row strides of A and B as stored), mapped onto the column-major call as
     * C^T = op(B)^T op(A)^T.
     */
    default void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                       long b, int ldb, float beta, long c, int ldc) {
        sgemmColumnMajor(transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    }

    /** {@code cublasDestroy_v2}. */
    @Override
    void close();
}
