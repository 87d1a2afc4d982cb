package dev.elbo4j.interop;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C ABI of {@code native/} without a GPU: {@code build/native/libelbo4j.so} (from
 * {@code make native}) exports exactly the functions {@code native/include/elbo4j.h} declares
 * ({@code nm -D}), the header compiles as strict C99 and C++11, the library reports the header's ABI version, and its host-side checks (null pointers,
 * alignment, dimensions, overlapping outputs) fail with the documented status and message before
 * any CUDA call. Skipped when the library was not built (no nvcc) or {@code nm} is missing. The
 * kernels' results are checked on a GPU by {@code native/examples/torch_ctypes.py}.
 */
@SuppressWarnings("restricted")
class NativeAbiTest {
    private static final Pattern DECLARATION = Pattern.compile("ELBO4J_API\\s+[\\w\\s*]+?\\b(elbo4j_\\w+)\\s*\\(");
    private static Path root, header, library;

    @BeforeAll
    static void locate() {
        root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        header = root.resolve("native/include/elbo4j.h");
        library = root.resolve("build/native/libelbo4j.so");
    }

    private static void assumeBuilt() {
        Assumptions.assumeTrue(Files.isRegularFile(library), "no " + library + " (run `make native`; needs nvcc)");
    }

    private static Set<String> declared() throws IOException {
        Set<String> names = new TreeSet<>();
        Matcher m = DECLARATION.matcher(Files.readString(header));
        while (m.find()) names.add(m.group(1));
        return names;
    }

    @Test
    void theHeaderDeclaresTheAbi() throws IOException {
        assertEquals(Set.of("elbo4j_abi_version", "elbo4j_status_string", "elbo4j_last_error", "elbo4j_latent_forward",
                "elbo4j_latent_backward", "elbo4j_bernoulli", "elbo4j_gaussian"), declared());
    }

    @Test
    void theHeaderCompilesAsStrictCAndCxx(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path c = dir.resolve("use.c");
        Files.writeString(c, """
                #include "elbo4j.h"
                int use(void) {
                    elbo4j_stream s = 0;
                    return (int) elbo4j_bernoulli(0, 0, 0, 0, 1, 1, 1, 1.0f, s) + elbo4j_abi_version()
                           + (elbo4j_last_error() != 0) + (elbo4j_status_string(ELBO4J_ERROR_CUDA) != 0);
                }
                """);
        String inc = "-I" + header.getParent();
        compile(List.of(System.getenv().getOrDefault("CC", "cc"), "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                inc, "-c", c.toString(), "-o", dir.resolve("use_c.o").toString()));
        compile(List.of(System.getenv().getOrDefault("CXX", "c++"), "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                "-x", "c++", inc, "-c", c.toString(), "-o", dir.resolve("use_cxx.o").toString()));
    }

    private static void compile(List<String> cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no " + cmd.getFirst() + " here: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + "\n" + out);
    }

    @Test
    void theLibraryExportsExactlyTheDeclaredFunctions() throws Exception {
        assumeBuilt();
        Process p;
        try {
            p = new ProcessBuilder("nm", "-D", "--defined-only", library.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no nm here: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out);
        Set<String> exported = new TreeSet<>();
        for (String line : out.split("\\R")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[1].equals("T")) exported.add(f[2]);
        }
        assertEquals(declared(), exported, "nm -D " + library + " against " + header
                + " (everything else, the static CUDA runtime included, must stay hidden)");
    }

    @Test
    void hostChecksFailBeforeAnyCudaCall() throws Throwable {
        assumeBuilt();
        Linker linker = Linker.nativeLinker();
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
            MethodHandle version = linker.downcallHandle(lib.find("elbo4j_abi_version").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT));
            MethodHandle lastError = linker.downcallHandle(lib.find("elbo4j_last_error").orElseThrow(),
                    FunctionDescriptor.of(ADDRESS));
            MethodHandle statusString = linker.downcallHandle(lib.find("elbo4j_status_string").orElseThrow(),
                    FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MethodHandle bernoulli = linker.downcallHandle(lib.find("elbo4j_bernoulli").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                            JAVA_FLOAT, JAVA_LONG));
            MethodHandle latentBackward = linker.downcallHandle(lib.find("elbo4j_latent_backward").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_DOUBLE, JAVA_LONG, JAVA_INT, JAVA_INT,
                            JAVA_INT, JAVA_LONG));

            Matcher v = Pattern.compile("#define ELBO4J_ABI_VERSION (\\d+)").matcher(Files.readString(header));
            assertTrue(v.find());
            assertEquals(Integer.parseInt(v.group(1)), (int) version.invokeExact());
            MemorySegment s1 = (MemorySegment) statusString.invokeExact(1);
            assertEquals("ELBO4J_ERROR_INVALID_VALUE", s1.reinterpret(64).getString(0));

            // B = 2, L = 1, D = 3: logits 6 floats, x 6, row_loss 2.
            assertEquals(1, (int) bernoulli.invokeExact(0L, 0x2000L, 0x3000L, 0L, 2, 1, 3, 1f, 0L));
            assertEquals("elbo4j_bernoulli: logits is NULL", message(lastError));
            assertEquals(1, (int) bernoulli.invokeExact(0x1000L, 0x2002L, 0x3000L, 0L, 2, 1, 3, 1f, 0L));
            assertTrue(message(lastError).startsWith("elbo4j_bernoulli: x at 0x2002 is not 4-byte aligned"), message(lastError));
            assertEquals(1, (int) bernoulli.invokeExact(0x1000L, 0x2000L, 0x3000L, 0L, 2, 1, 0, 1f, 0L));
            assertEquals("elbo4j_bernoulli: dim must be >= 1, got 0", message(lastError));
            assertEquals(1, (int) bernoulli.invokeExact(0x1000L, 0x2000L, 0x1010L, 0L, 2, 1, 3, 1f, 0L));
            assertEquals("elbo4j_bernoulli: output row_loss overlaps logits", message(lastError));
            assertEquals(1, (int) bernoulli.invokeExact(0x1000L, 0x2000L, 0x3000L, 0x1000L, 2, 1, 3, 1f, 0L));
            assertEquals("elbo4j_bernoulli: output d_logits overlaps logits", message(lastError));
            assertEquals(1, (int) bernoulli.invokeExact(0x1000L, 0x2000L, 0x3000L, 0L, 1 << 16, 1 << 16, 3, 1f, 0L));
            assertEquals("elbo4j_bernoulli: rows (samples x batch) = 4294967296 exceeds 2^31 - 1", message(lastError));
            assertEquals(1, (int) latentBackward.invokeExact(0x1000L, 0x2000L, 0x3000L, 1.0, 0L, 2, 4, 1, 0L));
            assertEquals("elbo4j_latent_backward: d_stats is NULL", message(lastError));
        }
    }

    private static String message(MethodHandle lastError) throws Throwable {
        return ((MemorySegment) lastError.invokeExact()).reinterpret(512).getString(0);
    }
}
