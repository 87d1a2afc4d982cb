package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LibrarySearchTest {

    private static LibrarySearch search(List<String> names, Path... dirs) {
        return new LibrarySearch("test lib", names, List.of(dirs), null, "elbo4j.test", "ELBO4J_TEST");
    }

    @Test
    void prefersTheNewestNameAnywhereThenTheLoader(@TempDir Path tmp) throws IOException {
        Path a = Files.createDirectories(tmp.resolve("a")), b = Files.createDirectories(tmp.resolve("b"));
        Files.writeString(a.resolve("libcublas.so.12"), "");
        Files.writeString(b.resolve("libcublas.so.13"), "");
        Files.writeString(b.resolve("libcublas.so.12"), "");
        LibrarySearch s = search(List.of("libcublas.so.13", "libcublas.so.12"), a, b);
        assertEquals(List.of(b.resolve("libcublas.so.13").toString(), a.resolve("libcublas.so.12").toString(),
                b.resolve("libcublas.so.12").toString(), "libcublas.so.13", "libcublas.so.12"), s.candidates());
    }

    @Test
    void aCuda12DriverGetsOnlyTheCublasItCanRun(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("libcublas.so.13"), "");
        Files.writeString(tmp.resolve("libcublas.so.12"), "");
        LibrarySearch s = search(List.of("libcublas.so.13", "libcublas.so.12"), tmp);
        assertEquals(List.of(tmp.resolve("libcublas.so.12").toString(), "libcublas.so.12"), s.forDriver(12040).candidates());
        assertEquals(s, s.forDriver(13000));
        assertEquals(s, s.forDriver(13020));
        assertEquals(s, s.forDriver(0), "unknown driver: every name");
        assertEquals(s, s.forDriver(11080), "nothing would be left: every name, and the loader says why");
        LibrarySearch explicit = new LibrarySearch("x", List.of("libcublas.so.13"), List.of(), "/opt/libcublas.so.13", "p", "E");
        assertEquals(explicit, explicit.forDriver(12000), "an explicit choice is the user's");
        assertEquals(13, LibrarySearch.soMajor("libcublas.so.13"));
        assertEquals(1, LibrarySearch.soMajor("libcuda.so.1.2"));
        assertEquals(-1, LibrarySearch.soMajor("libcublas.so"));
    }

    @Test
    void cublasLtComesFromBesideAnExplicitCublasUnlessNamed() {
        Map<String, String> props = new java.util.HashMap<>(Map.of(LibrarySearch.CUBLAS_PROPERTY, "/emu/libcublas.so.13"));
        LibrarySearch beside = LibrarySearch.cublasLt(props::get, k -> null);
        assertEquals(List.of("/emu/libcublasLt.so.13"), beside.candidates());
        props.put(LibrarySearch.CUBLASLT_PROPERTY, "/other/libcublasLt.so.12");
        assertEquals(List.of("/other/libcublasLt.so.12"), LibrarySearch.cublasLt(props::get, k -> null).candidates());
        LibrarySearch usual = LibrarySearch.cublasLt(k -> null, k -> null);
        assertEquals(List.of("libcublasLt.so.13", "libcublasLt.so.12"), usual.names());
        assertEquals(LibrarySearch.cublas(k -> null, k -> null).dirs(), usual.dirs(), "cuBLAS's directories");
        LibrarySearch bare = LibrarySearch.cublasLtBeside(
                new LibrarySearch("cuBLAS", List.of("libcublas.so.12"), List.of(), "libcublas.so.12", "p", "E"));
        assertEquals(List.of("libcublasLt.so.12"), bare.candidates());
    }

    @Test
    void anExplicitChoiceIsTheOnlyCandidate() {
        LibrarySearch s = new LibrarySearch("x", List.of("libx.so.1"), List.of(Path.of("/usr/lib")), " /opt/libx.so.1 ",
                "elbo4j.x", "ELBO4J_X");
        assertEquals(List.of("/opt/libx.so.1"), s.candidates());
        String msg = s.notFound(List.of("/opt/libx.so.1: cannot open"));
        assertTrue(msg.contains("cannot load /opt/libx.so.1 (set by -Delbo4j.x or $ELBO4J_X)"), msg);
        assertTrue(msg.contains("/opt/libx.so.1: cannot open"), msg);
    }

    @Test
    void propertiesBeatTheEnvironmentAndTheEnvironmentAddsDirectories() {
        Map<String, String> env = Map.of("ELBO4J_CUBLAS", "/env/libcublas.so.13", "CUDA_HOME", "/opt/cuda-x",
                "LD_LIBRARY_PATH", "/ld/one::/ld/two");
        LibrarySearch fromEnv = LibrarySearch.cublas(k -> null, env::get);
        assertEquals("/env/libcublas.so.13", fromEnv.explicit());
        LibrarySearch fromProp = LibrarySearch.cublas(k -> k.equals(LibrarySearch.CUBLAS_PROPERTY) ? "/prop/lib.so" : null, env::get);
        assertEquals("/prop/lib.so", fromProp.explicit());
        LibrarySearch dirs = LibrarySearch.cublas(k -> null, k -> k.equals("ELBO4J_CUBLAS") ? null : env.get(k));
        assertEquals(Path.of("/opt/cuda-x/lib64"), dirs.dirs().getFirst());
        assertTrue(dirs.dirs().contains(Path.of("/usr/local/cuda/lib64")));
        assertTrue(dirs.dirs().contains(Path.of("/ld/one")) && dirs.dirs().contains(Path.of("/ld/two")));
        assertEquals(List.of("libcublas.so.13", "libcublas.so.12"), dirs.names());
        LibrarySearch driver = LibrarySearch.cudaDriver(k -> null, k -> null);
        assertEquals(List.of("libcuda.so.1"), driver.names());
        assertTrue(driver.dirs().contains(Path.of("/usr/local/nvidia/lib64")));
    }

    @Test
    void aMissingLibraryIsReportedWithEverySearchedPath(@TempDir Path tmp) {
        Path a = tmp.resolve("nowhere-a"), b = tmp.resolve("nowhere-b");
        LibrarySearch cuda = search(List.of("libelbo4j-no-cuda.so.1"), a, b);
        LibrarySearch blas = search(List.of("libelbo4j-no-cublas.so.13", "libelbo4j-no-cublas.so.12"), b);
        List<String> reasons = new ArrayList<>();
        FfmBinding binding = new FfmBinding(cuda, blas);
        assertTrue(binding.loadDriver(reasons).isEmpty());
        assertTrue(binding.loadBlas(reasons).isEmpty());
        assertEquals(2, reasons.size(), reasons.toString());
        String driver = reasons.get(0), cublas = reasons.get(1);
        assertTrue(driver.startsWith("no libelbo4j-no-cuda.so.1 found for test lib (searched " + a + ", " + b
                + ", the dynamic loader's path)"), driver);
        assertTrue(driver.contains("-Delbo4j.test=/path/to/libelbo4j-no-cuda.so.1"), driver);
        assertTrue(cublas.startsWith("no libelbo4j-no-cublas.so.13 or libelbo4j-no-cublas.so.12 found"), cublas);
        assertTrue(cublas.contains(b.toString()), cublas);
    }

    @Test
    void aLibraryWithoutTheDriverApiIsReportedWithItsError() {
        Path libm = java.util.stream.Stream.of("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                "/lib64/libm.so.6", "/usr/lib64/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6").map(Path::of)
                .filter(Files::isRegularFile).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(libm != null, "no libm.so.6 found");
        LibrarySearch notCuda = new LibrarySearch("the CUDA driver", List.of("libcuda.so.1"), List.of(), libm.toString(),
                "elbo4j.libcuda", "ELBO4J_LIBCUDA");
        List<String> reasons = new ArrayList<>();
        assertTrue(new FfmBinding(notCuda, notCuda).loadDriver(reasons).isEmpty());
        assertEquals(1, reasons.size());
        assertTrue(reasons.getFirst().startsWith("the CUDA driver: cannot load " + libm + " (set by -Delbo4j.libcuda"),
                reasons.getFirst());
        assertTrue(reasons.getFirst().contains(libm + " does not export cuInit"), reasons.getFirst());
    }
}
