package dev.elbo4j.backend.cpu.openblas;

import dev.elbo4j.backend.cpu.Blas;
import dev.elbo4j.backend.cpu.JavaBlas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@link Blas} backed by OpenBLAS's {@code cblas_sgemm} / {@code cblas_dgemm}, bound with the
 * FFM API (this package is the only place that touches {@code java.lang.foreign} for OpenBLAS).
 *
 * <p>Java heap arrays are handed to the library without copying: the downcalls are linked with
 * {@link Linker.Option#critical(boolean) critical(true)} and receive
 * {@link MemorySegment#ofArray(float[]) heap segments} sliced at the element offset. A critical
 * call keeps the GC from moving the arrays while it runs; GEMMs are short, so that is fine.
 *
 * <p>Arguments are validated in Java ({@link JavaBlas#checkArgs}) before the call, and
 * degenerate calls ({@code m == 0}, {@code n == 0}, {@code k == 0}, {@code alpha == 0}) never
 * reach the library, so OpenBLAS's {@code xerbla} (which prints and returns instead of failing)
 * is not relied on.
 *
 * <p>Library search ({@link #candidates()}): the file named by system property
 * {@value #LIBRARY_PROPERTY} or else environment variable {@value #LIBRARY_ENV} when one is set
 * (then only that file, so that a wrong explicit choice is reported rather than silently
 * replaced); otherwise {@code libopenblas.so.0}, {@code libopenblas.so}, {@code libopenblasp.so.0}
 * in the usual Linux directories, then {@code libopenblas.so.0} through the dynamic loader's own
 * search path.
 *
 * <p>Threading: OpenBLAS's thread count is process-global; {@link #setThreads(int)} changes it
 * for every user of the library in this process.
 */
public final class OpenBlas implements Blas {

    /** System property naming the OpenBLAS shared library file to load. */
    public static final String LIBRARY_PROPERTY = "elbo4j.openblas";
    /** Environment variable naming the OpenBLAS shared library file to load. */
    public static final String LIBRARY_ENV = "ELBO4J_OPENBLAS";

    private static final List<String> NAMES =
            List.of("libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0");
    private static final List<String> DIRS = List.of(
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread",
            "/usr/lib64",
            "/usr/local/lib");

    // CBLAS enum values (cblas.h).
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private final String library;
    private final MethodHandle sgemm;
    private final MethodHandle dgemm;
    private final MethodHandle setNumThreads; // null when the library does not export it
    private final MethodHandle getNumThreads; // null when the library does not export it
    private final String build; // openblas_get_config() and openblas_get_corename(), or the library's file

    private OpenBlas(String library, MethodHandle sgemm, MethodHandle dgemm,
                     MethodHandle setNumThreads, MethodHandle getNumThreads, String build) {
        this.library = library;
        this.build = build;
        this.sgemm = sgemm;
        this.dgemm = dgemm;
        this.setNumThreads = setNumThreads;
        this.getNumThreads = getNumThreads;
    }

    /**
     * Tries the {@link #candidates() candidate libraries} in order and binds the first that
     * exports {@code cblas_sgemm} and {@code cblas_dgemm}. Never throws for a missing or
     * unusable library: returns empty and appends one line per failed candidate to
     * {@code reasonsOut}.
     */
    public static Optional<OpenBlas> load(List<String> reasonsOut) {
        for (String candidate : candidates()) {
            try {
                return Optional.of(bind(candidate));
            } catch (RuntimeException | LinkageError e) {
                reasonsOut.add(candidate + ": " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * Loads and binds exactly {@code library} (a path, or a bare file name resolved by the
     * dynamic loader).
     *
     * @throws IllegalArgumentException if it cannot be opened or lacks the CBLAS GEMM symbols
     */
    public static OpenBlas load(String library) {
        return bind(library);
    }

    /**
     * The libraries {@link #load(List)} tries, in order: the explicit property / environment
     * choice when set (then only that), else the existing files among the usual names and
     * directories, then {@code libopenblas.so.0} for the dynamic loader.
     */
    public static List<String> candidates() {
        String explicit = System.getProperty(LIBRARY_PROPERTY);
        if (explicit == null || explicit.isBlank()) {
            explicit = System.getenv(LIBRARY_ENV);
        }
        if (explicit != null && !explicit.isBlank()) {
            return List.of(explicit.strip());
        }
        List<String> out = new ArrayList<>();
        for (String dir : DIRS) {
            for (String name : NAMES) {
                Path p = Path.of(dir, name);
                if (Files.exists(p)) {
                    out.add(p.toString());
                }
            }
        }
        out.add("libopenblas.so.0");
        return out;
    }

    @SuppressWarnings("restricted") // native access is the point of this class
    private static OpenBlas bind(String library) {
        // A shared arena so the library can be unloaded again if it turns out to be unusable;
        // on success it stays open for the life of the JVM.
        Arena arena = Arena.ofShared();
        try {
            SymbolLookup lookup = library.contains("/")
                    ? SymbolLookup.libraryLookup(Path.of(library), arena)
                    : SymbolLookup.libraryLookup(library, arena);
            Linker linker = Linker.nativeLinker();
            Linker.Option critical = Linker.Option.critical(true);
            MethodHandle s = linker.downcallHandle(symbol(lookup, "cblas_sgemm"),
                    gemmDescriptor(JAVA_FLOAT), critical);
            MethodHandle d = linker.downcallHandle(symbol(lookup, "cblas_dgemm"),
                    gemmDescriptor(JAVA_DOUBLE), critical);
            MethodHandle set = lookup.find("openblas_set_num_threads")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.ofVoid(JAVA_INT)))
                    .orElse(null);
            MethodHandle get = lookup.find("openblas_get_num_threads")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(JAVA_INT)))
                    .orElse(null);
            return new OpenBlas(library, s, d, set, get, build(lookup, linker, library));
        } catch (RuntimeException | LinkageError e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The library's build and the kernels it picked for this CPU ("OpenBLAS 0.3.21 DYNAMIC_ARCH
     * NO_AFFINITY Haswell MAX_THREADS=64, core Haswell"): its results depend on both. The file
     * name when the library does not say.
     */
    @SuppressWarnings("restricted")
    private static String build(SymbolLookup lookup, Linker linker, String library) {
        StringBuilder b = new StringBuilder();
        for (String f : List.of("openblas_get_config", "openblas_get_corename")) {
            Optional<MemorySegment> sym = lookup.find(f);
            if (sym.isEmpty()) continue;
            try {
                MemorySegment str = (MemorySegment) linker.downcallHandle(sym.get(), FunctionDescriptor.of(ADDRESS)).invokeExact();
                if (str.equals(MemorySegment.NULL)) continue;
                String v = str.reinterpret(4096).getString(0).strip();
                if (!v.isEmpty()) b.append(b.length() == 0 ? "" : ", core ").append(v);
            } catch (Throwable e) {
                // a library whose entry points misbehave is described by its file below
            }
        }
        return b.length() > 0 ? b.toString() : library;
    }

    private static MemorySegment symbol(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(
                () -> new IllegalArgumentException("symbol " + name + " not found"));
    }

    /** {@code (order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)}. */
    private static FunctionDescriptor gemmDescriptor(ValueLayout scalar) {
        return FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, scalar, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, scalar, ADDRESS,
                JAVA_INT);
    }

    /** The library this instance is bound to, as it was given to the loader. */
    public String library() {
        return library;
    }

    @Override
    public String name() {
        return "openblas";
    }

    /** The library's build and the CPU kernels it picked (openblas_get_config, openblas_get_corename). */
    @Override
    public String numerics() {
        return build;
    }

    /** Whether the library exports {@code openblas_set_num_threads}. */
    public boolean canSetThreads() {
        return setNumThreads != null;
    }

    /**
     * Sets OpenBLAS's (process-global) thread count.
     *
     * @throws UnsupportedOperationException if the library does not export
     *         {@code openblas_set_num_threads}
     * @throws IllegalStateException if the native call fails
     */
    public void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (setNumThreads == null) {
            throw new UnsupportedOperationException(
                    library + " does not export openblas_set_num_threads");
        }
        try {
            setNumThreads.invokeExact(threads);
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            throw nativeFailure("openblas_set_num_threads", t);
        }
    }

    /**
     * OpenBLAS's current thread count, or -1 when the library does not export
     * {@code openblas_get_num_threads}.
     */
    public int threads() {
        if (getNumThreads == null) {
            return -1;
        }
        try {
            return (int) getNumThreads.invokeExact();
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            throw nativeFailure("openblas_get_num_threads", t);
        }
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        JavaBlas.checkArgs(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb,
                c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            JavaBlas.scale(m, n, beta, c, cOff, ldc);
            return;
        }
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
                    m, n, k, alpha,
                    MemorySegment.ofArray(a).asSlice(4L * aOff), lda,
                    MemorySegment.ofArray(b).asSlice(4L * bOff), ldb,
                    beta,
                    MemorySegment.ofArray(c).asSlice(4L * cOff), ldc);
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            throw nativeFailure("cblas_sgemm", t);
        }
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                      double beta, double[] c, int cOff, int ldc) {
        JavaBlas.checkArgs(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb,
                c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0d) {
            JavaBlas.scale(m, n, beta, c, cOff, ldc);
            return;
        }
        try {
            dgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
                    m, n, k, alpha,
                    MemorySegment.ofArray(a).asSlice(8L * aOff), lda,
                    MemorySegment.ofArray(b).asSlice(8L * bOff), ldb,
                    beta,
                    MemorySegment.ofArray(c).asSlice(8L * cOff), ldc);
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            throw nativeFailure("cblas_dgemm", t);
        }
    }

    /** The exception for a failed downcall, naming the native function and the library. */
    private IllegalStateException nativeFailure(String call, Throwable t) {
        return new IllegalStateException(call + " (" + library + ") failed: " + t, t);
    }

    /** For messages: the library and its thread count. */
    @Override
    public String toString() {
        return "OpenBlas[" + library + ", threads=" + threads() + "]";
    }
}
