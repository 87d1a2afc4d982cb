package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaBinding;
import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaBlasLt;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.LibrarySearch;

import java.util.List;
import java.util.Optional;

/**
 * The CUDA binding through the FFM API ({@code java.lang.foreign}): this package is the only one
 * that touches it for CUDA. Needs {@code --enable-native-access=ALL-UNNAMED} (or the module's name)
 * to run without the JDK's restricted-method warnings.
 */
public final class FfmBinding implements CudaBinding {
    private final LibrarySearch driverSearch;
    private final LibrarySearch blasSearch;
    private final LibrarySearch blasLtSearch;

    /** The usual search paths, system properties and environment. */
    public FfmBinding() {
        this(LibrarySearch.cudaDriver(), LibrarySearch.cublas(), LibrarySearch.cublasLt());
    }

    /** Explicit searches (tests, embedding applications); cuBLASLt from beside an explicitly chosen cuBLAS. */
    public FfmBinding(LibrarySearch driverSearch, LibrarySearch blasSearch) {
        this(driverSearch, blasSearch, LibrarySearch.cublasLtBeside(blasSearch));
    }

    /** Explicit searches, cuBLASLt's included. */
    public FfmBinding(LibrarySearch driverSearch, LibrarySearch blasSearch, LibrarySearch blasLtSearch) {
        this.driverSearch = driverSearch;
        this.blasSearch = blasSearch;
        this.blasLtSearch = blasLtSearch;
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public Optional<CudaDriver> loadDriver(List<String> reasons) {
        return FfmCudaDriver.load(driverSearch, reasons);
    }

    @Override
    public Optional<CudaBlas.Library> loadBlas(List<String> reasons) {
        return FfmCublas.load(blasSearch, reasons);
    }

    @Override
    public Optional<CudaBlas.Library> loadBlas(List<String> reasons, int driverVersion) {
        return FfmCublas.load(blasSearch.forDriver(driverVersion), reasons);
    }

    @Override
    public Optional<CudaBlasLt.Library> loadBlasLt(List<String> reasons, int driverVersion) {
        return FfmCublasLt.load(blasLtSearch.forDriver(driverVersion), reasons);
    }
}
