package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run trained on a named data set ({@code --dataset mnist}) finds its data from any working
 * directory: where the checkpoint's recorded path is gone, the data set it names stands in, looked up
 * in ./data and then in the data folder beside the elbo4j command (bin/elbo4j's
 * {@code -Delbo4j.home}), with the content hash still checked. Each command runs in a child JVM,
 * since the working directory is what is under test.
 */
class DataLookupCliTest {
    @TempDir
    static Path tmp;
    static Path run, home;

    /** A 2-D VAE trained on `--dataset mnist` (500 digits) under tmp/old/data, then that data moved to tmp/home/data. */
    @BeforeAll
    static void trainThenMove() throws IOException {
        Path old = tmp.resolve("old/data");
        CliTest.mnistSubset(old.resolve("mnist"), 500, 200);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--dataset", "mnist", "--data-root", old.toString(), "--out", run.toString(),
                "--device", "cpu", "--epochs", "1", "--latent", "2", "--hidden", "16", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        home = tmp.resolve("home");
        Files.createDirectories(home);
        Files.move(tmp.resolve("old/data"), home.resolve("data"));
    }

    static int scatter(Path cwd, List<String> jvm, Path log) throws Exception {
        Files.createDirectories(cwd);
        return ChildJvm.run(jvm, List.of("latent", "scatter", "-c", run.toString(), "-o", cwd.resolve("s.png").toString(),
                "--device", "cpu"), log, cwd);
    }

    @Test
    void fromTheFolderHoldingDataTheRecordedNameIsFound() throws Exception {
        Path log = tmp.resolve("here.log");
        int code = scatter(home, List.of(), log);
        String out = ChildJvm.output(log);
        assertEquals(0, code, out);
        assertTrue(out.contains("using the data set 'mnist'"), out);
        assertFalse(out.contains("changed since"), "the same digits, so the same content hash: " + out);
        assertTrue(Files.size(home.resolve("s.png")) > 0);
    }

    @Test
    void fromAnyOtherFolderTheCommandsOwnDataFolderIsFound() throws Exception {
        Path log = tmp.resolve("elsewhere.log"), cwd = tmp.resolve("elsewhere");
        int code = scatter(cwd, List.of("-D" + DataOptions.HOME_PROPERTY + "=" + home), log);
        String out = ChildJvm.output(log);
        assertEquals(0, code, out);
        assertTrue(Files.size(cwd.resolve("s.png")) > 0);
        assertFalse(Files.exists(cwd.resolve("data")), "nothing is looked for or made in ./data");
    }

    @Test
    void withoutTheDataAnywhereTheErrorNamesBothPlaces() throws Exception {
        Path log = tmp.resolve("none.log"), cwd = tmp.resolve("none");
        Path nowhere = tmp.resolve("nowhere");
        Files.createDirectories(nowhere);
        int code = scatter(cwd, List.of("-D" + DataOptions.HOME_PROPERTY + "=" + nowhere), log);
        String out = ChildJvm.output(log);
        assertEquals(2, code, out);
        assertTrue(out.contains("data set 'mnist' not found in " + cwd.resolve("data")), out);
        assertTrue(out.contains("nor in " + nowhere.resolve("data")), out);
    }
}
