package dev.elbo4j.testing;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

class ProgressLogTest {
    private static final String RUN = "elbo4j.progresslog.sample";

    /** Run only from {@link #oneFlushedLinePerFinishedTest} (Maven leaves nested classes out too). */
    static class Sample {
        @Test
        void passes() {
            Assumptions.assumeTrue(Boolean.getBoolean(RUN));
        }

        @Test
        void fails() {
            Assumptions.assumeTrue(Boolean.getBoolean(RUN));
            throw new AssertionError("expected 1\twas 2\nsecond line");
        }

        @Test
        void aborts() {
            Assumptions.assumeTrue(false, "not here");
        }

        @org.junit.jupiter.api.Disabled("off")
        @Test
        void skipped() {
        }
    }

    @Test
    void oneFlushedLinePerFinishedTest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/progress.tsv");
        Launcher launcher = LauncherFactory.create();
        System.setProperty(RUN, "true");
        try {
            launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(Sample.class)).build(),
                    new ProgressLog(file.toString()));
        } finally {
            System.clearProperty(RUN);
        }
        List<String> lines = Files.readAllLines(file).stream().sorted().toList();
        assertEquals(4, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).matches("ABORTED\t\\d+\tProgressLogTest\\$Sample#aborts aborts\\(\\)\t.*not here.*"), lines.get(0));
        assertTrue(lines.get(1).matches("FAILED\t\\d+\tProgressLogTest\\$Sample#fails fails\\(\\)\tjava.lang.AssertionError: expected 1 was 2"), lines.get(1));
        assertTrue(lines.get(2).matches("OK\t\\d+\tProgressLogTest\\$Sample#passes passes\\(\\)\t"), lines.get(2));
        assertTrue(lines.get(3).matches("SKIPPED\t0\tProgressLogTest\\$Sample#skipped skipped\\(\\)\toff"), lines.get(3));
    }

    @Test
    void aTestThatEndsDuringShutdownIsStoppedNotFailed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("progress.tsv");
        ProgressLog log = new ProgressLog(file.toString());
        log.markStopping();
        System.setProperty(RUN, "true");
        try {
            LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                    .selectors(org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod(Sample.class, "fails"),
                            org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod(Sample.class, "passes")).build(), log);
        } finally {
            System.clearProperty(RUN);
        }
        List<String> lines = Files.readAllLines(file).stream().sorted().toList();
        assertEquals(2, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("OK\t"), lines.get(0));
        assertTrue(lines.get(1).startsWith("STOPPED\t"), lines.get(1));
    }

    @Test
    void withoutThePropertyItWritesNothing(@TempDir Path dir) {
        ProgressLog log = new ProgressLog((String) null);
        log.executionSkipped(null, "ignored: inactive before it looks at the test");
        assertEquals(0, dir.toFile().list().length);
    }
}
