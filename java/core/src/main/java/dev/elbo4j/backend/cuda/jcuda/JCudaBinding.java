package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.cuda.CudaBinding;
import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.LibrarySearch;
import dev.elbo4j.backend.cuda.ffm.FfmCublas;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The CUDA binding on JCuda ({@code org.jcuda:jcuda} and {@code jcublas} 12.6.0), selected with
 * {@code --binding jcuda}: the driver API through {@code JCudaDriver} (the same fatbin, loaded with
 * {@code cuModuleLoadData}, launched with {@code cuLaunchKernel}), GEMMs through {@code JCublas2}.
 * This package is the only one that imports {@code jcuda.*}; JCuda's classes and native libraries
 * are loaded on the first {@link #loadDriver} / {@link #loadBlas}, never on the FFM or CPU path.
 *
 * <p>JCublas2 12.6 is linked against {@code libcublas.so.12}. Where that is missing (a CUDA 13
 * installation has only {@code .so.13}) the binding keeps JCuda for the driver API and takes cuBLAS
 * from the FFM binding (which finds {@code .13} or {@code .12}), saying so in one line; a
 * {@linkplain #JCudaBinding(boolean, LibrarySearch, Consumer) strict} binding instead reports the
 * missing JCublas2 as a reason the backend cannot run. A missing JCuda native library, driver or
 * cuBLAS is always a reason, never an exception (the backend throws them together as a
 * {@link dev.elbo4j.backend.BackendUnavailableException}).
 */
public final class JCudaBinding implements CudaBinding {
    private final boolean strictBlas;
    private final LibrarySearch ffmBlasSearch;
    private final Consumer<String> notes;
    private boolean driverLoaded;

    /** Lenient: FFM cuBLAS when JCublas2 cannot load, with a note on stderr. */
    public JCudaBinding() {
        this(false, LibrarySearch.cublas(), System.err::println);
    }

    /**
     * A binding that loads nothing until {@link #loadDriver} or {@link #loadBlas} is called.
     *
     * @param strictBlas    fail (a reason) instead of falling back to FFM cuBLAS when JCublas2 cannot load
     * @param ffmBlasSearch where the fallback looks for libcublas
     * @param notes         receives the one line saying GEMMs go through the FFM cuBLAS binding
     */
    public JCudaBinding(boolean strictBlas, LibrarySearch ffmBlasSearch, Consumer<String> notes) {
        this.strictBlas = strictBlas;
        this.ffmBlasSearch = ffmBlasSearch;
        this.notes = notes;
    }

    @Override
    public String name() {
        return strictBlas ? "jcuda:strict" : "jcuda";
    }

    /** Whether a missing JCublas2 is a failure rather than a fallback to FFM cuBLAS. */
    public boolean strictBlas() {
        return strictBlas;
    }

    @Override
    public Optional<CudaDriver> loadDriver(List<String> reasons) {
        Optional<CudaDriver> d = JCudaCudaDriver.load(reasons);
        driverLoaded = d.isPresent();
        return d;
    }

    @Override
    public Optional<CudaBlas.Library> loadBlas(List<String> reasons) {
        return loadBlas(reasons, 0);
    }

    /** JCublas2 (libcublas.so.12), else the FFM cuBLAS binding searching for what the driver can run. */
    @Override
    public Optional<CudaBlas.Library> loadBlas(List<String> reasons, int driverVersion) {
        List<String> jcublasProblems = new ArrayList<>();
        Optional<CudaBlas.Library> jcublas = JCublas2Blas.load(jcublasProblems);
        if (jcublas.isPresent()) return jcublas;
        String why = String.join("; ", jcublasProblems);
        if (strictBlas) {
            reasons.add(why + " (binding jcuda:strict uses JCublas2 only; binding jcuda would use the FFM cuBLAS"
                    + " binding instead)");
            return Optional.empty();
        }
        List<String> ffmProblems = new ArrayList<>();
        Optional<CudaBlas.Library> ffm = FfmCublas.load(ffmBlasSearch.forDriver(driverVersion), ffmProblems);
        if (ffm.isEmpty()) reasons.add(why);  // neither JCublas2 nor the FFM fallback: both reasons
        reasons.addAll(ffmProblems);
        if (ffm.isPresent() && driverLoaded) {
            notes.accept("elbo4j: jcuda binding: GEMMs go through the FFM cuBLAS binding (" + ffm.get().describe()
                    + ") because " + why);
        }
        return ffm;
    }
}
