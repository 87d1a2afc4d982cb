package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * reconstruct, latent * and eval check that their output can be written before their work:
 * they used to load the checkpoint and data, compute everything (an eval for hours), and only then
 * fail to write into a missing or read-only folder. The proof that the check comes first: with an
 * unwritable output and a checkpoint that does not exist, the output is what the error names.
 */
class OutputFirstCliTest {
    @TempDir
    static Path tmp;
    static Path data, run;

    @BeforeAll
    static void trainOne() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 200, 50);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu", "--epochs", "1",
                "--hidden", "8", "--latent", "2", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
    }

    /** Each command with its output flag(s); "OUT" becomes the unwritable file. */
    private static final String[][] COMMANDS = {
            {"reconstruct", "-o", "OUT.png"},
            {"latent", "scatter", "-o", "OUT.png"},
            {"latent", "manifold", "-o", "OUT.png"},
            {"latent", "interpolate", "-o", "OUT.png"},
            {"latent", "interpolate", "--codes", "OUT.csv"},
            {"latent", "attribute", "--class-a", "0", "--class-b", "1", "-o", "OUT.png"},
            {"latent", "density", "-k", "2", "-o", "OUT.csv"},
            {"eval", "-k", "2", "--no-record", "--scores", "OUT.csv"},
    };

    private static CliTest.Result run(String[] command, Path checkpoint, Path outFile) {
        List<String> a = new ArrayList<>();
        for (String s : command) a.add(s.startsWith("OUT") ? outFile.toString() + s.substring(3) : s);
        a.addAll(List.of("-c", checkpoint.toString(), "--device", "cpu"));
        if (!(command[0].equals("latent") && command[1].equals("manifold"))) a.addAll(List.of("--data", data.toString()));
        if (command[0].equals("eval") || command[1].equals("density")) a.add("--no-progress");
        return CliTest.run(a.toArray(String[]::new));
    }

    @Test
    void anOutputInAMissingFolderIsNamedBeforeTheWork() {
        Path missing = tmp.resolve("no-such-folder");
        for (String[] c : COMMANDS) {
            Path out = missing.resolve("x");
            // The checkpoint does not exist either: only a check made before loading it names the output.
            CliTest.Result r = run(c, tmp.resolve("no-checkpoint"), out);
            assertEquals(1, r.code(), Arrays.toString(c) + ": " + r.err());
            assertTrue(r.err().contains(out + ".") && r.err().contains("cannot write: the folder " + missing + " does not exist"),
                    Arrays.toString(c) + " names the output first: " + r.err());
            assertFalse(r.err().contains("\tat "), r.err());
            // With the real run the same line, and nothing of the work (no model or data line).
            r = run(c, run, out);
            assertEquals(1, r.code(), Arrays.toString(c) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), Arrays.toString(c) + ", one line: " + r.err());
        }
        assertFalse(Files.exists(missing));
    }

    @Test
    void aReadOnlyFolderIsNamedBeforeTheWork() throws IOException {
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        assertTrue(ro.toFile().setWritable(false, false));
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isWritable(ro), "root writes into read-only folders");
            for (String[] c : COMMANDS) {
                CliTest.Result r = run(c, tmp.resolve("no-checkpoint"), ro.resolve("x"));
                assertEquals(1, r.code(), Arrays.toString(c) + ": " + r.err());
                assertTrue(r.err().contains(ro.resolve("x") + ".") && r.err().contains(": cannot write: permission denied"),
                        Arrays.toString(c) + ": " + r.err());
            }
            try (var s = Files.list(ro)) {
                assertEquals(0, s.count(), "no probe file left");
            }
        } finally {
            ro.toFile().setWritable(true, false);
        }
    }
}
