package dev.elbo4j.backend.cuda;

import java.util.List;
import java.util.Optional;

/**
 * A way to reach the CUDA driver and cuBLAS: {@code dev.elbo4j.backend.cuda.ffm.FfmBinding} (the
 * FFM API, the default) or {@code dev.elbo4j.backend.cuda.jcuda.JCudaBinding} (JCuda 12.6), chosen
 * by name with {@link CudaBindings#named}. Loading never throws for a missing or unusable library: it returns empty
 * and appends one line per problem to {@code reasons}, so the backend can list every reason the
 * GPU path cannot run.
 */
public interface CudaBinding {

    /** A short name for messages: "ffm", "jcuda", "jcuda:strict". */
    String name();

    /** Loads the driver library and binds its entry points (does not call {@code cuInit}). */
    Optional<CudaDriver> loadDriver(List<String> reasons);

    /** Loads cuBLAS and binds its entry points (creates no handle). */
    Optional<CudaBlas.Library> loadBlas(List<String> reasons);

    /**
     * {@link #loadBlas(List)} for a driver of version {@code driverVersion} ({@code cuDriverGetVersion};
     * 0 when unknown): a binding that searches for cuBLAS leaves out the libraries that driver
     * cannot run ({@link LibrarySearch#forDriver}). By default the driver version is not used.
     */
    default Optional<CudaBlas.Library> loadBlas(List<String> reasons, int driverVersion) {
        return loadBlas(reasons);
    }

    /**
     * Loads cuBLASLt for the fused-epilogue dense layers ({@link CublasLt}); optional: empty (with
     * the reason) means the hand-written bias/activation kernels are used. By default a binding has
     * none: JCuda's JCublas has no cuBLASLt binding, so the jcuda bindings run the hand-written path.
     */
    default Optional<CudaBlasLt.Library> loadBlasLt(List<String> reasons, int driverVersion) {
        reasons.add("the " + name() + " binding has no cuBLASLt");
        return Optional.empty();
    }
}
