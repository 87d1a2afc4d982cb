package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.backend.cuda.CudaBinding;
import dev.elbo4j.backend.cuda.CudaBindings;
import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.FakeCudaLibraries;
import dev.elbo4j.backend.cuda.LibrarySearch;
import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jcuda binding where there is no GPU: every missing piece (JCuda's natives, libcuda.so.1,
 * libcublas.so.12) is a reason, never an exception or a JVM crash; the --binding choice; the
 * handle conversions. The tests that need the piece to be missing are skipped where it is present
 * (a GPU host), and the GPU side is {@code JCudaParityTest}.
 */
class JCudaBindingTest {

    private static List<String> driverReasons() {
        List<String> reasons = new ArrayList<>();
        new JCudaBinding(false, LibrarySearch.cublas(), s -> { }).loadDriver(reasons).ifPresent(CudaDriver::close);
        return reasons;
    }

    @Test
    void bindingsByName() {
        assertInstanceOf(FfmBinding.class, CudaBindings.named(null, s -> { }));
        assertInstanceOf(FfmBinding.class, CudaBindings.named(" FFM ", s -> { }));
        CudaBinding j = CudaBindings.named("jcuda", s -> { });
        assertEquals("jcuda", j.name());
        assertFalse(((JCudaBinding) j).strictBlas());
        CudaBinding strict = CudaBindings.named("JCuda:Strict", s -> { });
        assertEquals("jcuda:strict", strict.name());
        assertTrue(((JCudaBinding) strict).strictBlas());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaBindings.named("jni", s -> { }));
        assertEquals("unknown CUDA binding 'jni' (choices: ffm, jcuda, jcuda:strict)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.select("cpu", "cublas", s -> { }));
    }

    @Test
    void aMissingDriverIsOneReasonEveryTime() {
        List<String> first = driverReasons();
        Assumptions.assumeFalse(first.isEmpty(), "JCuda's driver library loads here (a GPU host)");
        assertEquals(1, first.size(), first.toString());
        String reason = first.getFirst();
        assertTrue(reason.startsWith("JCuda's driver library (libJCudaDriver 12.6.0, needs libcuda.so.1) could not be loaded: "),
                reason);
        assertFalse(reason.contains("\n"), reason);
        assertTrue(reason.length() < 600, reason);
        if (reason.contains("cannot open shared object file")) assertTrue(reason.contains("libcuda.so.1"), reason);
        // JCudaDriver's static initialiser failed; a second attempt must not surface a NoClassDefFoundError.
        assertEquals(first, driverReasons());
    }

    @Test
    void cudaThroughJCudaIsUnavailableWithTheReason() {
        List<String> driver = driverReasons();
        Assumptions.assumeFalse(driver.isEmpty(), "JCuda's driver library loads here (a GPU host)");
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.select("cuda", "jcuda", s -> { }));
        assertTrue(e.reasons().contains(driver.getFirst()), e.reasons().toString());
        List<String> lines = new ArrayList<>();
        try (Backend b = Backends.select("auto", "jcuda", lines::add)) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertEquals(1, lines.size(), "one line, no note about GEMMs without a driver: " + lines);
        assertTrue(lines.getFirst().startsWith("elbo4j: using the CPU backend; CUDA is unavailable: "), lines.getFirst());
        boolean kernels = dev.elbo4j.backend.cuda.KernelImage.find(new ArrayList<>()).isPresent();
        assertTrue(lines.getFirst().contains(kernels ? "libJCudaDriver" : dev.elbo4j.backend.cuda.KernelImage.MISSING),
                lines.getFirst());
    }

    @Test
    void strictBlasFailsWithTheReasonWhereJCublas2CannotLoad() {
        List<String> reasons = new ArrayList<>(), notes = new ArrayList<>();
        Optional<CudaBlas.Library> blas = new JCudaBinding(true, LibrarySearch.cublas(), notes::add).loadBlas(reasons);
        Assumptions.assumeTrue(blas.isEmpty(), "JCublas2 loads here (libcublas.so.12 present)");
        assertEquals(1, reasons.size(), reasons.toString());
        assertTrue(reasons.getFirst().startsWith("JCublas2 12.6 (needs libcublas.so.12) could not be loaded: "), reasons.getFirst());
        assertTrue(reasons.getFirst().contains("binding jcuda:strict uses JCublas2 only"), reasons.getFirst());
        assertTrue(notes.isEmpty(), notes.toString());
    }

    @Test
    void lenientBlasFallsBackToFfmCublasWithoutANoteWhenThereIsNoDriver() {
        FakeCudaLibraries.Libraries fakes = FakeCudaLibraries.get();
        LibrarySearch fake = LibrarySearch.cublas(k -> k.equals(LibrarySearch.CUBLAS_PROPERTY) ? fakes.cublas().toString() : null,
                k -> null);
        List<String> reasons = new ArrayList<>(), notes = new ArrayList<>();
        JCudaBinding binding = new JCudaBinding(false, fake, notes::add);
        Assumptions.assumeTrue(binding.loadDriver(reasons).isEmpty(), "JCuda's driver loads here");
        Optional<CudaBlas.Library> blas = binding.loadBlas(reasons);
        Assumptions.assumeFalse(blas.isPresent() && blas.get().describe().contains("JCublas2"), "JCublas2 loads here");
        assertTrue(blas.isPresent(), reasons.toString());
        assertTrue(blas.get().describe().contains(fakes.cublas().toString()), blas.get().describe());
        assertEquals(1, reasons.size(), "only the driver's reason: " + reasons);
        assertTrue(notes.isEmpty(), "the GEMM note is for a working driver only: " + notes);
    }

    @Test
    void withNeitherJCublas2NorAnFfmCublasBothReasonsAreListed() {
        LibrarySearch nowhere = LibrarySearch.cublas(k -> k.equals(LibrarySearch.CUBLAS_PROPERTY) ? "/nonexistent/libcublas.so.13" : null,
                k -> null);
        List<String> reasons = new ArrayList<>();
        Optional<CudaBlas.Library> blas = new JCudaBinding(false, nowhere, s -> { }).loadBlas(reasons);
        Assumptions.assumeTrue(blas.isEmpty(), "JCublas2 loads here");
        assertEquals(2, reasons.size(), reasons.toString());
        assertTrue(reasons.getFirst().startsWith("JCublas2 12.6 (needs libcublas.so.12) could not be loaded"), reasons.toString());
        assertTrue(reasons.get(1).contains("/nonexistent/libcublas.so.13"), reasons.toString());
    }

    @Test
    void handlesConvertBothWays() {
        CUdeviceptr p = JCudaHandles.wrap(new CUdeviceptr(), 0x7f00_1000L);
        assertEquals(0x7f00_1000L, JCudaHandles.address(p));
        assertEquals(0x7f00_1010L, JCudaHandles.address(p.withByteOffset(16)));
        assertEquals(0x1234L, JCudaHandles.address(JCudaHandles.wrap(new CUstream(), 0x1234L)));
        assertEquals(0, JCudaHandles.address(null));
        assertEquals(0, JCudaHandles.address(new CUstream()));
    }

    @Test
    void interopTakesJCudaPointersAndStreams() {
        CUdeviceptr base = JCudaHandles.wrap(new CUdeviceptr(), 0x5000);
        assertEquals(0x5040, JCudaInterop.buffer(base.withByteOffset(0x40)).address());
        assertFalse(JCudaInterop.buffer(base).sized());
        assertEquals(256, JCudaInterop.buffer(base, 256).bytes());
        assertEquals(0x77, JCudaInterop.stream(JCudaHandles.wrap(new CUstream(), 0x77)));
        assertEquals(0, JCudaInterop.stream(new CUstream()));
        assertEquals(0x78, JCudaInterop.stream(JCudaHandles.wrap(new jcuda.runtime.cudaStream_t(), 0x78)));
        assertThrows(IllegalArgumentException.class, () -> JCudaInterop.buffer(null));
    }
}
