package dev.elbo4j.backend.cpu;

/**
 * Row-major GEMM on Java arrays: C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n,
 * with leading dimensions (row strides) lda, ldb, ldc and element offsets. Implementations:
 * {@link JavaBlas} (pure Java, always available) and
 * {@code dev.elbo4j.backend.cpu.openblas.OpenBlas} (OpenBLAS through the FFM API, used when
 * the library is installed). {@link Blases#best()} picks one.
 */
public interface Blas {

    /** The implementation's name for messages and {@code elbo4j info}: "openblas", "java". */
    String name();

    /**
     * What decides this GEMM's rounding ({@link dev.elbo4j.backend.Backend#numerics()}): its
     * name, and anything else its results depend on.
     *
     * @return a one-line description, compared as a whole
     */
    default String numerics() {
        return name();
    }

    /**
     * Single-precision C = alpha op(A) op(B) + beta C on the arrays from their offsets; op(X) is X transposed
     * when its flag is set. With beta 0, C is overwritten without being read (NaN or garbage there does not
     * propagate).
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
               float beta, float[] c, int cOff, int ldc);

    /** Double-precision {@link #sgemm}, for the CPU reference's F64 tensors. */
    void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
               double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
               double beta, double[] c, int cOff, int ldc);
}
