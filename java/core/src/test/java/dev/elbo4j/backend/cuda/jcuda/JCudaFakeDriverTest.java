package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.cuda.FakeCudaLibraries;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole jcuda binding without a GPU: a child JVM whose {@code LD_LIBRARY_PATH} holds the fake
 * {@code libcuda.so.1} and a copy of the fake cuBLAS named {@code libcublas.so.12}, so JCuda's
 * real native libraries load and call into the fakes. The backend opens through
 * {@code JCudaBinding} (strict: JCublas2), copies more than the staging buffer both ways, runs
 * GEMMs of every transposition against the CPU, launches kernels whose packed arguments the fake
 * records (pointers, ints, longs and doubles must arrive intact) and closes. Skipped where there
 * is no C compiler. Then the same without {@code libcublas.so.12}: JCuda for the driver, the FFM
 * cuBLAS binding for GEMMs, and one line saying so; the fakes' behaviour is documented in {@link FakeCudaLibraries}.
 */
class JCudaFakeDriverTest {

    @Test
    void theBackendRunsThroughJCudaOverTheFakeLibraries() throws Exception {
        FakeCudaLibraries.Libraries fakes = FakeCudaLibraries.get();
        Path dir = Files.createTempDirectory("elbo4j-fake-jcuda");
        try {
            Files.copy(fakes.cuda(), dir.resolve("libcuda.so.1"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(fakes.cublas(), dir.resolve("libcublas.so.12"), StandardCopyOption.REPLACE_EXISTING);
            JCudaSubprocess.Result r = JCudaSubprocess.run(List.of("-Djava.io.tmpdir=" + dir),
                    Map.of("LD_LIBRARY_PATH", dir.toString()), "fake");
            assertTrue(r.ok(), r.output());
            assertTrue(r.output().contains("fake: libcuda via JCuda 12.6.0"), r.output());
            assertTrue(r.output().contains("fake: kernel arguments arrive intact"), r.output());
            assertTrue(r.output().contains("fake: a captured dense backward forks and joins through cuStreamWaitEvent"), r.output());
            // No libcublas.so.12: the lenient binding keeps JCuda's driver and takes the FFM cuBLAS.
            Files.delete(dir.resolve("libcublas.so.12"));
            Path cublas13 = Files.copy(fakes.cublas(), dir.resolve("libcublas.so.13"));
            JCudaSubprocess.Result ffm = JCudaSubprocess.run(List.of("-Djava.io.tmpdir=" + dir, "-Delbo4j.cublas=" + cublas13),
                    Map.of("LD_LIBRARY_PATH", dir.toString()), "fake-ffm-blas");
            assertTrue(ffm.ok(), ffm.output());
            assertTrue(ffm.output().contains("note: elbo4j: jcuda binding: GEMMs go through the FFM cuBLAS binding"), ffm.output());
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }
}
