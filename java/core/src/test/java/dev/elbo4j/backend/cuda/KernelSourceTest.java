package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Java declarations of the kernels ({@link Kernels}) against the CUDA sources: every
 * {@code extern "C" __global__} entry point is declared, with the same file, parameter kinds and
 * threads per block ({@code __launch_bounds__}), and the launch constants equal the
 * {@code ELBO4J_*} macros of {@code common.cuh}. A mismatch here would be a kernel reading
 * garbage arguments on the GPU.
 */
class KernelSourceTest {
    private static final Pattern ENTRY = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\(([^)]*)\\)\\s*)?(\\w+)\\s*\\(([^)]*)\\)",
            Pattern.DOTALL);
    private static final Pattern DEFINE = Pattern.compile("^#define\\s+(ELBO4J_\\w+)\\s+(\\d+)\\s*$", Pattern.MULTILINE);

    /** The repository's kernels/ folder, or skip (e.g. on a GPU host that has only the jars). */
    static Path kernelsDir() {
        List<Path> starts = new ArrayList<>();
        String root = System.getProperty("elbo4j.root");
        if (root != null && !root.isBlank()) starts.add(Path.of(root));
        starts.add(Path.of("").toAbsolutePath());
        for (Path start : starts) {
            for (Path p = start; p != null; p = p.getParent()) {
                if (Files.isRegularFile(p.resolve("kernels/common.cuh"))) return p.resolve("kernels");
            }
        }
        Assumptions.abort("kernels/ sources not found from " + starts);
        return null;
    }

    private record Entry(String file, String name, String bounds, List<KernelArgs.Kind> params) {
    }

    private static List<Entry> entries(Path dir) throws IOException {
        List<Entry> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).sorted().toList()) {
                String src = stripComments(Files.readString(f));
                Matcher m = ENTRY.matcher(src);
                while (m.find()) {
                    List<KernelArgs.Kind> kinds = new ArrayList<>();
                    for (String p : m.group(3).split(",")) {
                        if (!p.isBlank()) kinds.add(kind(p, m.group(2)));
                    }
                    out.add(new Entry(f.getFileName().toString(), m.group(2), m.group(1), kinds));
                }
            }
        }
        return out;
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    /** The kind of a C parameter declaration such as {@code const float* __restrict__ x} or {@code unsigned int n}. */
    static KernelArgs.Kind kind(String param, String kernel) {
        String p = param.replace("__restrict__", " ").replace("const", " ").trim();
        if (p.contains("*")) return KernelArgs.Kind.PTR;
        String type = p.replaceAll("\\s+\\w+$", "").replaceAll("\\s+", " ").trim();
        return switch (type) {
            case "int", "unsigned int", "unsigned", "int32_t", "uint32_t" -> KernelArgs.Kind.I32;
            case "long long", "unsigned long long", "int64_t", "uint64_t" -> KernelArgs.Kind.I64;
            case "float" -> KernelArgs.Kind.F32;
            case "double" -> KernelArgs.Kind.F64;
            default -> throw new AssertionError(kernel + ": unexpected parameter type '" + type + "' in '" + param + "'");
        };
    }

    private static Map<String, Integer> macros(Path dir) throws IOException {
        Map<String, Integer> out = new HashMap<>();
        Matcher m = DEFINE.matcher(Files.readString(dir.resolve("common.cuh")));
        while (m.find()) out.put(m.group(1), Integer.parseInt(m.group(2)));
        return out;
    }

    /** Evaluates a launch-bounds expression: a number, a macro, or a product of them; the first argument only. */
    private static int threads(String bounds, Map<String, Integer> macros, String kernel) {
        if (bounds == null) fail(kernel + " has no __launch_bounds__");
        String first = bounds.split(",")[0];
        int v = 1;
        for (String factor : first.split("\\*")) {
            String f = factor.trim();
            if (f.matches("\\d+")) v *= Integer.parseInt(f);
            else if (macros.containsKey(f)) v *= macros.get(f);
            else fail(kernel + ": cannot evaluate '" + f + "' in __launch_bounds__(" + bounds + ")");
        }
        return v;
    }

    @Test
    void everyEntryPointIsDeclaredWithItsSignature() throws IOException {
        Path dir = kernelsDir();
        Map<String, Integer> macros = macros(dir);
        Map<String, Entry> sources = new TreeMap<>();
        for (Entry e : entries(dir)) {
            if (sources.put(e.name(), e) != null) fail("duplicate entry point " + e.name());
        }
        Map<String, KernelSpec> declared = new TreeMap<>();
        for (KernelSpec k : Kernels.ALL) declared.put(k.name(), k);
        assertEquals(sources.keySet(), declared.keySet(), "entry points in kernels/*.cu vs Kernels.ALL");
        for (KernelSpec k : Kernels.ALL) {
            Entry e = sources.get(k.name());
            assertEquals(e.file(), k.file(), k.name() + " source file");
            assertEquals(e.params(), k.params(), k.name() + " parameters");
            assertEquals(threads(e.bounds(), macros, k.name()), k.threads(), k.name() + " threads per block");
        }
    }

    @Test
    void launchConstantsMatchTheMacros() throws IOException {
        Map<String, Integer> m = macros(kernelsDir());
        assertEquals(m.get("ELBO4J_BLOCK_ELEMENTWISE"), Kernels.BLOCK_ELEMENTWISE);
        assertEquals(m.get("ELBO4J_BLOCK_ROW"), Kernels.BLOCK_ROW);
        assertEquals(m.get("ELBO4J_BLOCK_LATENT"), Kernels.BLOCK_LATENT);
        assertEquals(m.get("ELBO4J_COLS_TILE_X"), Kernels.COLS_TILE_X);
        assertEquals(m.get("ELBO4J_COLS_TILE_Y"), Kernels.COLS_TILE_Y);
        assertEquals(m.get("ELBO4J_BLOCK_REDUCE"), Kernels.BLOCK_REDUCE);
        assertEquals(m.get("ELBO4J_REDUCE_MAX_BLOCKS"), Kernels.REDUCE_MAX_BLOCKS);
    }

    @Test
    void parsesCParameterTypes() {
        assertEquals(KernelArgs.Kind.PTR, kind("const float* __restrict__ x", "k"));
        assertEquals(KernelArgs.Kind.PTR, kind("unsigned long long* counter", "k"));
        assertEquals(KernelArgs.Kind.I32, kind("unsigned int seed_lo", "k"));
        assertEquals(KernelArgs.Kind.I64, kind("unsigned long long step", "k"));
        assertEquals(KernelArgs.Kind.I64, kind("long long n", "k"));
        assertEquals(KernelArgs.Kind.F64, kind("double kl_weight", "k"));
        assertEquals(KernelArgs.Kind.F32, kind("float grad_scale", "k"));
        assertTrue(Kernels.ALL.size() >= 20);
    }
}
