package dev.elbo4j.backend.cuda;

/**
 * A CUDA driver or cuBLAS call returned an error. The message names the call and the code, e.g.
 * {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2)}.
 *
 * <p>Some driver errors are sticky: after {@code CUDA_ERROR_ILLEGAL_ADDRESS} (700) or
 * {@code CUDA_ERROR_LAUNCH_FAILED} (719) the context is unusable and every later call fails too;
 * close the backend and start a new process.
 */
public class CudaException extends RuntimeException {
    /** The failing function, e.g. {@code cuMemAlloc_v2}. */
    private final String call;
    /** The numeric {@code CUresult} or {@code cublasStatus_t}. */
    private final int code;
    /** The code's symbolic name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    private final String codeName;

    /**
     * An exception whose message is "{@code call} failed: {@code codeName} ({@code code})".
     *
     * @param call     the failing function
     * @param code     the numeric result
     * @param codeName the result's symbolic name ({@code cuGetErrorName}'s, or cuBLAS's status name)
     */
    public CudaException(String call, int code, String codeName) {
        super(call + " failed: " + codeName + " (" + code + ")");
        this.call = call;
        this.code = code;
        this.codeName = codeName;
    }

    /** The failing function, e.g. {@code cuMemAlloc_v2} or {@code cublasSgemm_v2}. */
    public String call() {
        return call;
    }

    /** The numeric {@code CUresult} or {@code cublasStatus_t}. */
    public int code() {
        return code;
    }

    /** The code's symbolic name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String codeName() {
        return codeName;
    }
}
