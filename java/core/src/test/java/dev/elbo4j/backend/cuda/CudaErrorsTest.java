package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaErrorsTest {

    @ParameterizedTest
    @CsvSource({
            "0, CUDA_SUCCESS",
            "1, CUDA_ERROR_INVALID_VALUE",
            "2, CUDA_ERROR_OUT_OF_MEMORY",
            "3, CUDA_ERROR_NOT_INITIALIZED",
            "34, CUDA_ERROR_STUB_LIBRARY",
            "35, CUDA_ERROR_UNKNOWN_CODE_35",
            "100, CUDA_ERROR_NO_DEVICE",
            "200, CUDA_ERROR_INVALID_IMAGE",
            "209, CUDA_ERROR_NO_BINARY_FOR_GPU",
            "222, CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
            "500, CUDA_ERROR_NOT_FOUND",
            "700, CUDA_ERROR_ILLEGAL_ADDRESS",
            "701, CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
            "719, CUDA_ERROR_LAUNCH_FAILED",
            "900, CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
            "999, CUDA_ERROR_UNKNOWN",
            "-1, CUDA_ERROR_UNKNOWN_CODE_-1",
    })
    void namesDriverResults(int code, String name) {
        assertEquals(name, CudaErrors.resultName(code));
        assertEquals(!name.contains("UNKNOWN_CODE"), CudaErrors.knowsResult(code));
    }

    @ParameterizedTest
    @CsvSource({
            "0, CUBLAS_STATUS_SUCCESS",
            "1, CUBLAS_STATUS_NOT_INITIALIZED",
            "3, CUBLAS_STATUS_ALLOC_FAILED",
            "7, CUBLAS_STATUS_INVALID_VALUE",
            "8, CUBLAS_STATUS_ARCH_MISMATCH",
            "11, CUBLAS_STATUS_MAPPING_ERROR",
            "13, CUBLAS_STATUS_EXECUTION_FAILED",
            "14, CUBLAS_STATUS_INTERNAL_ERROR",
            "15, CUBLAS_STATUS_NOT_SUPPORTED",
            "16, CUBLAS_STATUS_LICENSE_ERROR",
            "2, CUBLAS_STATUS_UNKNOWN_CODE_2",
    })
    void namesCublasStatuses(int code, String name) {
        assertEquals(name, CudaErrors.cublasStatusName(code));
        assertEquals(!name.contains("UNKNOWN_CODE"), CudaErrors.knowsCublasStatus(code));
    }

    @Test
    void exceptionsNameTheCallAndTheCode() {
        CudaException e = CudaErrors.driverError("cuMemAlloc_v2", 2);
        assertEquals("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2)", e.getMessage());
        assertEquals("cuMemAlloc_v2", e.call());
        assertEquals(2, e.code());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.codeName());
        assertEquals("cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7)",
                CudaErrors.cublasError("cublasSgemm_v2", 7).getMessage());
    }

    @Test
    void everyTableNameIsWellFormed() {
        for (int code = 0; code < 1000; code++) {
            String n = CudaErrors.resultName(code);
            assertTrue(n.matches("CUDA_(SUCCESS|ERROR_[A-Z0-9_]+)"), n);
        }
        assertFalse(CudaErrors.knowsResult(12345));
    }
}
