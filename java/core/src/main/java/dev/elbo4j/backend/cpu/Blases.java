package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.cpu.openblas.OpenBlas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the {@link Blas} implementation.
 *
 * <p>{@link #best()} returns OpenBLAS when the library loads and the pure-Java
 * {@link JavaBlas} otherwise, printing one warning line on stderr (once per JVM) that says how
 * to get OpenBLAS. System properties:
 * <ul>
 *   <li>{@value #BLAS_PROPERTY} = {@code auto} (default) | {@code openblas} | {@code java};
 *       {@code openblas} fails with {@link IllegalStateException} when the library cannot be
 *       loaded;</li>
 *   <li>{@value #THREADS_PROPERTY} = threads per GEMM for either implementation (default:
 *       available processors; {@link CpuThreads#set} overrides it). OpenBLAS itself runs
 *       single-threaded and {@link SplitBlas} cuts each large product across that many threads;</li>
 *   <li>{@value OpenBlas#LIBRARY_PROPERTY} (or environment {@value OpenBlas#LIBRARY_ENV}) =
 *       the OpenBLAS shared library file to load.</li>
 * </ul>
 * The choice is made once and cached.
 */
public final class Blases {

    /** System property choosing the implementation: {@code auto}, {@code openblas}, {@code java}. */
    public static final String BLAS_PROPERTY = "elbo4j.blas";
    /** System property with the number of threads per GEMM: {@link CpuThreads#PROPERTY}. */
    public static final String THREADS_PROPERTY = CpuThreads.PROPERTY;

    private static volatile Blas best;
    private static volatile JavaBlas java;
    private static OpenBlas openBlas;          // guarded by Blases.class
    private static List<String> openBlasReasons; // guarded by Blases.class; null until tried
    private static boolean warned;              // guarded by Blases.class

    private Blases() {
    }

    /**
     * The implementation selected by {@value #BLAS_PROPERTY} (default {@code auto}: OpenBLAS if
     * it loads, else {@link JavaBlas} with a one-time warning on stderr).
     *
     * @throws IllegalStateException if {@code openblas} was asked for and cannot be loaded, or
     *         the property value is unknown
     */
    public static Blas best() {
        Blas b = best;
        if (b == null) {
            synchronized (Blases.class) {
                b = best;
                if (b == null) {
                    b = select(System.getProperty(BLAS_PROPERTY, "auto"));
                    best = b;
                }
            }
        }
        return b;
    }

    /** The pure-Java implementation with {@value #THREADS_PROPERTY} threads (shared instance). */
    public static JavaBlas java() {
        JavaBlas j = java;
        if (j == null) {
            synchronized (Blases.class) {
                j = java;
                if (j == null) {
                    j = new JavaBlas(threads());
                    java = j;
                }
            }
        }
        return j;
    }

    /**
     * OpenBLAS running single-threaded, loaded on the first call (shared instance); empty when it
     * cannot be loaded, see {@link #openBlasReasons()}. {@link #best()} spreads it over
     * {@value #THREADS_PROPERTY} threads itself ({@link SplitBlas} says why).
     */
    public static synchronized Optional<OpenBlas> openBlas() {
        if (openBlasReasons == null) {
            List<String> reasons = new ArrayList<>();
            Optional<OpenBlas> loaded = OpenBlas.load(reasons);
            if (loaded.isPresent() && loaded.get().canSetThreads()) {
                try {
                    loaded.get().setThreads(1);
                } catch (RuntimeException e) {
                    reasons.add(loaded.get().library() + ": " + e.getMessage());
                    loaded = Optional.empty();
                }
            }
            openBlas = loaded.orElse(null);
            openBlasReasons = List.copyOf(reasons);
        }
        return Optional.ofNullable(openBlas);
    }

    /** Why OpenBLAS could not be loaded, one line per candidate tried (empty if it loaded). */
    public static synchronized List<String> openBlasReasons() {
        openBlas();
        return openBlas == null ? openBlasReasons : List.of();
    }

    /**
     * Threads per GEMM: {@link CpuThreads#get()} (which this fixes), default available processors.
     *
     * @throws IllegalStateException if {@value #THREADS_PROPERTY} is not a positive integer
     */
    public static int threads() {
        return CpuThreads.get();
    }

    private static Blas select(String choice) {
        switch (choice.strip().toLowerCase(Locale.ROOT)) {
            case "java":
                return java();
            case "openblas":
                OpenBlas ob = openBlas().orElseThrow(() -> new IllegalStateException(
                        BLAS_PROPERTY + "=openblas but OpenBLAS could not be loaded: "
                                + String.join("; ", openBlasReasons())
                                + ". " + installHint()));
                return threads() > 1 ? new SplitBlas(ob, threads()) : ob;
            case "auto":
            case "":
                Optional<OpenBlas> o = openBlas();
                if (o.isPresent()) {
                    return threads() > 1 ? new SplitBlas(o.get(), threads()) : o.get();
                }
                warnOnce();
                return java();
            default:
                throw new IllegalStateException(BLAS_PROPERTY + " must be auto, openblas or java, "
                        + "got '" + choice + "'");
        }
    }

    private static void warnOnce() {
        if (!warned) {
            warned = true;
            System.err.println("elbo4j: OpenBLAS not found, using the slower pure-Java GEMM. "
                    + installHint() + "; -D" + BLAS_PROPERTY + "=java silences this. Tried: "
                    + String.join("; ", openBlasReasons()));
        }
    }

    private static String installHint() {
        return "Install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) or set -D"
                + OpenBlas.LIBRARY_PROPERTY + "=/path/to/libopenblas.so.0";
    }
}
