package dev.elbo4j.testing;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One line per finished test, written and flushed as each test ends, into the file that the
 * system property {@value #PROPERTY} names (inactive without it). JUnit's console launcher prints
 * its tree and writes its XML only when the whole run ends, so a run stopped by a timeout (the GPU
 * check's suite groups, scripts/gpu-check/call1.sh) would otherwise leave no word of the tests that
 * did finish. Registered through {@code META-INF/services}; Maven's runs never set the property.
 *
 * <p>Line format: {@code STATUS<TAB>milliseconds<TAB>class#method display-name<TAB>first line of the
 * failure}, STATUS one of OK, FAILED, ABORTED, SKIPPED, or STOPPED: a test that ended after the JVM
 * began to shut down (a timeout's SIGTERM; the GPU suite's shutdown hook closes the shared backend
 * under the running test, which then fails for that reason alone).
 */
public final class ProgressLog implements TestExecutionListener {
    /** System property: the file to append to. */
    public static final String PROPERTY = "elbo4j.test.progress";

    private final Writer out;
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    public ProgressLog() {
        this(System.getProperty(PROPERTY));
    }

    ProgressLog(String file) {
        Writer w = null;
        if (file != null && !file.isBlank()) {
            try {
                Path p = Path.of(file);
                if (p.getParent() != null) Files.createDirectories(p.getParent());
                w = Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("elbo4j: cannot open -D" + PROPERTY + "=" + file, e);
            }
        }
        out = w;
        if (out != null) Runtime.getRuntime().addShutdownHook(new Thread(this::markStopping, "elbo4j-progress-stopping"));
    }

    /** From here on, finished tests are reported as STOPPED (the JVM is shutting down). */
    void markStopping() {
        stopping = true;
    }

    @Override
    public void executionStarted(TestIdentifier id) {
        if (out != null && id.isTest()) started.put(id.getUniqueId(), System.nanoTime());
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (out != null && id.isTest()) write("SKIPPED", 0, id, reason);
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (out == null || !id.isTest()) return;
        Long t0 = started.remove(id.getUniqueId());
        long ms = t0 == null ? 0 : (System.nanoTime() - t0) / 1_000_000;
        String status = switch (result.getStatus()) {
            case SUCCESSFUL -> "OK";
            case FAILED -> "FAILED";
            case ABORTED -> "ABORTED";
        };
        if (stopping && !status.equals("OK")) status = "STOPPED";
        write(status, ms, id, result.getThrowable().map(String::valueOf).orElse(""));
    }

    static String name(TestIdentifier id) {
        String where = id.getSource().filter(MethodSource.class::isInstance).map(MethodSource.class::cast)
                .map(m -> m.getClassName().substring(m.getClassName().lastIndexOf('.') + 1) + "#" + m.getMethodName())
                .orElse(id.getUniqueId());
        return where + " " + id.getDisplayName();
    }

    private synchronized void write(String status, long ms, TestIdentifier id, String detail) {
        String first = detail == null ? "" : detail.lines().findFirst().orElse("");
        if (first.length() > 300) first = first.substring(0, 300) + "...";
        try {
            out.write(String.format(Locale.ROOT, "%s\t%d\t%s\t%s%n", status, ms, name(id).replace('\t', ' '), first.replace('\t', ' ')));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
