package dev.elbo4j.backend.cuda.jcuda;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads JCuda's native libraries once per JVM and turns every failure into a reason. JCuda loads
 * {@code libJCudaDriver-12.6.0-<os>-<arch>.so} (which needs {@code libcuda.so.1}) in the static
 * initialiser of {@code jcuda.driver.JCudaDriver}, and {@code libJCublas2-...so} (which needs
 * {@code libcublas.so.12}) in that of {@code jcuda.jcublas.JCublas2}; this class initialises the
 * two classes by name. A failed static initialiser throws an {@link UnsatisfiedLinkError} once and
 * a {@link NoClassDefFoundError} on every later use, so the outcome of the first attempt is
 * remembered. Every {@link Throwable} is caught (missing JCuda jars included): a missing library
 * must never reach the caller as a bare {@code UnsatisfiedLinkError}.
 *
 * <p>JCuda's global "exceptions enabled" flags are left as they are (off unless the application
 * turned them on): elbo4j checks every returned code itself, and where a JCuda application has
 * turned them on, a failure surfaces as JCuda's own {@code jcuda.CudaException} instead.
 */
final class JCudaNatives {
    /** The dynamic loader's message for a missing dependency, inside JCuda's long message. */
    private static final Pattern MISSING_LIBRARY =
            Pattern.compile("([\\w.+-]+\\.so[\\w.]*): cannot open shared object file[^\\n]*");
    /** null: not tried; "": loaded; else the reason it could not be loaded. */
    private static String driverProblem;
    private static String blasProblem;

    private JCudaNatives() {
    }

    /** Initialises JCudaDriver (loading its native library). Empty when it loaded, else why not. */
    static synchronized Optional<String> driver() {
        if (driverProblem == null) {
            try {
                Class.forName("jcuda.driver.JCudaDriver", true, JCudaNatives.class.getClassLoader());
                driverProblem = "";
            } catch (Throwable t) {
                driverProblem = "JCuda's driver library (libJCudaDriver 12.6.0, needs libcuda.so.1) could not be loaded: "
                        + oneLine(t);
            }
        }
        return driverProblem.isEmpty() ? Optional.empty() : Optional.of(driverProblem);
    }

    /** Initialises JCublas2 (loading its native library). Empty when it loaded, else why not. */
    static synchronized Optional<String> blas() {
        if (blasProblem == null) {
            try {
                Class.forName("jcuda.jcublas.JCublas2", true, JCudaNatives.class.getClassLoader());
                blasProblem = "";
            } catch (Throwable t) {
                blasProblem = "JCublas2 12.6 (needs libcublas.so.12) could not be loaded: " + oneLine(t);
            }
        }
        return blasProblem.isEmpty() ? Optional.empty() : Optional.of(blasProblem);
    }

    /**
     * The throwable on one line: JCuda's {@code LibUtils} packs every load attempt's stack trace
     * into its message, so where a dependency is missing ("libcuda.so.1: cannot open shared object
     * file") that phrase alone is the reason; otherwise the throwable and its causes, at most 400
     * characters.
     */
    static String oneLine(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            Matcher m = MISSING_LIBRARY.matcher(String.valueOf(c.getMessage()));
            if (m.find()) return m.group().strip();
        }
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null && b.length() < 400; c = c.getCause()) {
            if (!b.isEmpty()) b.append(" <- ");
            b.append(c.getClass().getSimpleName());
            if (c.getMessage() != null) b.append(": ").append(c.getMessage());
        }
        String s = b.toString().replaceAll("\\s*\\R\\s*", " ");
        return s.length() > 400 ? s.substring(0, 397) + "..." : s;
    }
}
