package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import org.junit.jupiter.api.Assumptions;

import java.util.List;

/**
 * The shared assumption of the GPU parity suite: a real CUDA backend (driver, device, cuBLAS and
 * this build's kernels). Where there is none the calling test is skipped with every reason; with
 * {@code -Delbo4j.gpu.required=true} (the GPU bundle's run script sets it) it fails instead, so a
 * GPU host that silently skipped everything cannot pass.
 *
 * <p>The backend is opened once per JVM and shared (opening a context costs a few hundred ms);
 * tests must not close it. It is closed by a shutdown hook.
 */
public final class GpuAvailable {
    /** System property: "true" turns a missing GPU into a failure. */
    public static final String REQUIRED = "elbo4j.gpu.required";

    private static CudaBackend backend;
    private static List<String> reasons;

    private GpuAvailable() {
    }

    private static synchronized void probe() {
        if (backend != null || reasons != null) return;
        try {
            backend = CudaBackend.open(new FfmBinding(), Integer.getInteger("elbo4j.gpu.device", 0));
            CudaBackend b = backend;
            Runtime.getRuntime().addShutdownHook(new Thread(b::close, "elbo4j-cuda-close"));
        } catch (BackendUnavailableException e) {
            reasons = e.reasons();
        }
    }

    /** Whether a real CUDA backend can run here (no skipping, no failing). */
    public static boolean isAvailable() {
        probe();
        return backend != null;
    }

    /** The reasons the GPU path cannot run here (empty when it can). */
    public static List<String> reasons() {
        probe();
        return reasons == null ? List.of() : reasons;
    }

    /** The shared backend; skips (or, if required, fails) the test when there is none. */
    public static CudaBackend backend() {
        probe();
        if (backend == null) {
            String why = "no usable GPU: " + String.join("; ", reasons);
            if (Boolean.getBoolean(REQUIRED)) throw new AssertionError(why + " (-D" + REQUIRED + "=true)");
            Assumptions.abort(why);
        }
        return backend;
    }
}
