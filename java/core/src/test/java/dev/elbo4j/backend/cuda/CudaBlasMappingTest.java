package dev.elbo4j.backend.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The row-major GEMM maps onto column-major cuBLAS as C^T = op(B)^T op(A)^T, with nothing transposed. */
class CudaBlasMappingTest {

    private static final class Recorder implements CudaBlas {
        String call;

        @Override
        public String describe() {
            return "recorder";
        }

        @Override
        public boolean setWorkspace(long devicePtr, long bytes) {
            return false;
        }

        @Override
        public void setTf32(boolean enabled) {
        }

        @Override
        public void sgemmColumnMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                     long b, int ldb, float beta, long c, int ldc) {
            call = String.join(" ", transA ? "T" : "N", transB ? "T" : "N", "m=" + m, "n=" + n, "k=" + k, "alpha=" + alpha,
                    "A=" + a, "lda=" + lda, "B=" + b, "ldb=" + ldb, "beta=" + beta, "C=" + c, "ldc=" + ldc);
        }

        @Override
        public void close() {
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // row-major call (A at 100, B at 200, C at 300)  | expected column-major call
            "false|false|3|5|7|7|5 | N N m=5 n=3 k=7 alpha=2.0 A=200 lda=5 B=100 ldb=7 beta=0.5 C=300 ldc=5",
            "true|false|3|5|7|3|5  | N T m=5 n=3 k=7 alpha=2.0 A=200 lda=5 B=100 ldb=3 beta=0.5 C=300 ldc=5",
            "false|true|3|5|7|7|7  | T N m=5 n=3 k=7 alpha=2.0 A=200 lda=7 B=100 ldb=7 beta=0.5 C=300 ldc=5",
            "true|true|3|5|7|3|7   | T T m=5 n=3 k=7 alpha=2.0 A=200 lda=7 B=100 ldb=3 beta=0.5 C=300 ldc=5",
    })
    void rowMajorIsTheTransposedColumnMajorProduct(boolean ta, boolean tb, int m, int n, int k, int lda, int ldb,
                                                   String expected) {
        Recorder r = new Recorder();
        r.sgemm(ta, tb, m, n, k, 2f, 100, lda, 200, ldb, 0.5f, 300, n);
        assertEquals(expected.strip(), r.call);
    }
}
