package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {

    /** A binding whose libraries are both missing, each for its own reason. */
    private static final CudaBinding NOTHING = new CudaBinding() {
        @Override
        public String name() {
            return "none";
        }

        @Override
        public Optional<CudaDriver> loadDriver(List<String> reasons) {
            reasons.add("no libcuda.so.1 found (searched /a, /b)");
            return Optional.empty();
        }

        @Override
        public Optional<CudaBlas.Library> loadBlas(List<String> reasons) {
            reasons.add("no libcublas.so.13 or libcublas.so.12 found (searched /c)");
            return Optional.empty();
        }
    };

    private static final class Capture {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        java.util.function.Consumer<String> sink() {
            return out::println;
        }

        List<String> lines() {
            String s = bytes.toString(StandardCharsets.UTF_8);
            return s.isEmpty() ? List.of() : s.lines().toList();
        }
    }

    @Test
    void cpuIsTheReference() {
        Capture c = new Capture();
        try (Backend b = Backends.select(" CPU ", NOTHING, c.sink())) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertEquals(List.of(), c.lines());
    }

    @Test
    void autoFallsBackToTheCpuWithOneShortLineNamingTheFirstReason() {
        Capture c = new Capture();
        try (Backend b = Backends.select("auto", NOTHING, c.sink(), false)) {
            assertInstanceOf(CpuBackend.class, b);
        }
        List<String> lines = c.lines();
        assertEquals(1, lines.size(), lines.toString());
        boolean kernels = KernelImage.find(new java.util.ArrayList<>()).isPresent();
        String first = kernels ? "no libcuda.so.1 found" : KernelImage.MISSING;
        String more = kernels ? "1 more reason" : "2 more reasons";
        assertEquals("elbo4j: using the CPU backend; CUDA is unavailable: " + first + " (" + more
                + "; --device cuda or ELBO4J_VERBOSE=1 shows all)", lines.getFirst());
    }

    @Test
    void verboseAutoListsEveryReason() {
        Capture c = new Capture();
        try (Backend b = Backends.select("auto", NOTHING, c.sink(), true)) {
            assertInstanceOf(CpuBackend.class, b);
        }
        List<String> lines = c.lines();
        assertEquals(1, lines.size(), lines.toString());
        String line = lines.getFirst();
        assertTrue(line.startsWith("elbo4j: using the CPU backend; CUDA is unavailable: "), line);
        for (String reason : List.of("no libcuda.so.1 found (searched /a, /b)",
                "no libcublas.so.13 or libcublas.so.12 found (searched /c)")) {
            assertTrue(line.contains(reason), line);
        }
        if (KernelImage.find(new java.util.ArrayList<>()).isEmpty()) assertTrue(line.contains(KernelImage.MISSING), line);
    }

    @Test
    void aShortReasonIsTheFirstClauseWithoutTheSearchedDirectories() {
        assertEquals("no libcuda.so.1 found for the CUDA driver", Backends.shorten(
                "no libcuda.so.1 found for the CUDA driver (searched /usr/lib (x86), /usr/lib64, the dynamic loader's path);"
                        + " libcuda.so.1: cannot open shared object file; set -Delbo4j.libcuda=/path/to/libcuda.so.1 to choose one"));
        String old = "the CUDA driver is version 12.4 (libcuda via FFM (/usr/lib/libcuda.so.1)), older than the CUDA 13.0"
                + " driver (R580 or newer) that the kernels of this build (nvcc 13, PTX 9.0) need";
        assertEquals(old, Backends.shorten(old), "the driver's line names found and needed");
        assertEquals("cuInit failed: CUDA_ERROR_NO_DEVICE (100) (no NVIDIA GPU visible to this process)",
                Backends.shorten("cuInit failed: CUDA_ERROR_NO_DEVICE (100) (no NVIDIA GPU visible to this process)"));
        assertEquals(200, Backends.shorten("x".repeat(500)).length());
        assertEquals("elbo4j: using the CPU backend; CUDA is unavailable: only one (--device cuda or ELBO4J_VERBOSE=1"
                + " shows the details)", Backends.fallbackLine(List.of("only one"), false));
    }

    @Test
    void cudaAskedForAndUnavailableListsEveryReason() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.select("cuda", NOTHING, new Capture().sink()));
        assertTrue(e.reasons().contains("no libcuda.so.1 found (searched /a, /b)"), e.reasons().toString());
        assertTrue(e.reasons().contains("no libcublas.so.13 or libcublas.so.12 found (searched /c)"), e.reasons().toString());
        assertTrue(e.getMessage().startsWith("cuda backend unavailable: "), e.getMessage());
        assertThrows(BackendUnavailableException.class, () -> Backends.select("cuda:1", NOTHING, new Capture().sink()));
    }

    @Test
    void onThisMachineAutoFallsBackWhenThereIsNoGpu() {
        Assumptions.assumeFalse(GpuAvailable.isAvailable(), "a GPU is available here");
        Capture c = new Capture();
        try (Backend b = Backends.select("auto", new FfmBinding(), c.sink(), true)) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertEquals(1, c.lines().size(), c.lines().toString());
        for (String reason : GpuAvailable.reasons()) assertTrue(c.lines().getFirst().contains(reason), reason);
        Capture brief = new Capture();
        try (Backend b = Backends.select("auto", new FfmBinding(), brief.sink(), false)) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertTrue(brief.lines().getFirst().length() < 300, brief.lines().getFirst());
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.select("cuda", new FfmBinding(), new Capture().sink()));
        assertEquals(GpuAvailable.reasons(), e.reasons());
        assertFalse(e.reasons().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpu", "", "  ", "cuda:", "cuda:x", "cuda:-1", "cpu,cuda", "opencl"})
    void unknownDevicesNameTheValueAndTheChoices(String device) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.select(device, NOTHING, new Capture().sink()));
        assertEquals("unknown device '" + device + "' (choices: auto, cpu, cuda, cuda:N)", e.getMessage());
    }

    @Test
    void nullIsRejectedToo() {
        assertThrows(IllegalArgumentException.class, () -> Backends.select(null, NOTHING, new Capture().sink()));
    }
}
