package dev.elbo4j.backend.cuda;

/**
 * The slice of cuBLASLt the dense layers use, as a port: one {@code cublasLtHandle_t} whose matmuls
 * run on one stream with a caller-owned workspace. The FFM binding
 * ({@code dev.elbo4j.backend.cuda.ffm.FfmCublasLt}) implements it over {@code libcublasLt.so.13} or
 * {@code .12}; every call checks its {@code cublasStatus_t} and throws {@link CudaException} naming
 * the call and the status.
 *
 * <p>Column-major, as cuBLASLt: D (m x n, leading dimension ldd) = epilogue(alpha op(A) op(B)), op(A)
 * m x k, op(B) k x n, beta = 0, C = D. {@link CublasLt} maps elbo4j's row-major layers onto it the
 * way {@link CudaBlas#sgemm} does (C^T = op(B)^T op(A)^T).
 */
public interface CudaBlasLt extends AutoCloseable {

    /** The {@code cublasLtEpilogue_t} values used, with their codes in {@code cublasLt.h}. */
    enum Epilogue {
        /** D = alpha op(A) op(B). */
        DEFAULT(1),
        /** D = alpha op(A) op(B) + bias, bias of length m (the rows of D) broadcast over its columns. */
        BIAS(4),
        /** D = max(alpha op(A) op(B) + bias, 0). */
        RELU_BIAS(6),
        /**
         * As {@link #RELU_BIAS}, and the aux buffer gets D's ReLU bit mask (bit set where the output is
         * positive; column-major, leading dimension {@code auxLd} bits, a multiple of 128 and at least m).
         */
        RELU_AUX_BIAS(134),
        /**
         * D = alpha op(A) op(B) where the aux bit mask (as {@link #RELU_AUX_BIAS} stores it) is set, 0
         * elsewhere: the ReLU derivative of the layer that stored the mask; and bias[i] = the sum of row i
         * of that D over its n columns (the bias gradient, length m).
         */
        DRELU_BGRAD(152),
        /** D = alpha op(A) op(B), and bias[j] = sum over the k dimension of op(B)[., j] (length n, the columns of D). */
        BGRADB(512);

        /** The value of {@code CUBLASLT_MATMUL_DESC_EPILOGUE}. */
        public final int code;

        Epilogue(int code) {
            this.code = code;
        }
    }

    /** A loaded cuBLASLt library: creates handles once a context is current. */
    interface Library {
        /** The library file, for messages. */
        String describe();

        /** {@code cublasLtCreate}: a handle whose matmuls run on {@code stream} with the given workspace (may be 0 bytes). */
        CudaBlasLt create(long stream, long workspace, long workspaceBytes);
    }

    /** The library and its version. */
    String describe();

    /**
     * One {@code cublasLtMatmul} with {@code epilogue}: D = epilogue(alpha op(A) op(B)) (column-major;
     * {@code bias} the bias, or for {@link Epilogue#BGRADB} and {@link Epilogue#DRELU_BGRAD} the bias
     * gradient written, 0 for {@link Epilogue#DEFAULT}; {@code aux} the ReLU bit mask written by
     * {@link Epilogue#RELU_AUX_BIAS} and read by {@link Epilogue#DRELU_BGRAD}, with leading dimension
     * {@code auxLd} bits, both 0 for the other epilogues). {@code tf32} chooses {@code CUBLAS_COMPUTE_32F_FAST_TF32} over
     * {@code CUBLAS_COMPUTE_32F}. Returns false, having enqueued nothing, when
     * {@code cublasLtMatmulAlgoGetHeuristic} finds no algorithm for this epilogue, shape and alignment
     * (the caller then takes the hand-written path); the answer is kept per shape.
     */
    boolean matmul(Epilogue epilogue, boolean tf32, boolean transA, boolean transB, int m, int n, int k, float alpha,
                   long a, int lda, long b, int ldb, long d, int ldd, long bias, long aux, int auxLd);

    /** Destroys the handle and its cached descriptors; idempotent. */
    @Override
    void close();
}
