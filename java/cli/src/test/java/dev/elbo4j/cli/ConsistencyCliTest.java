package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The commands name things the same way: flags, the run argument, and what a mistyped flag gets told. */
class ConsistencyCliTest {
    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void train() throws IOException {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 300, 60);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu", "--hidden", "16",
                "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void aMistypedFlagOrCommandGetsASuggestion() {
        CliTest.Result r = CliTest.run("train", "--laten", "5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("did you mean --latent"), r.err());
        r = CliTest.run("evl", "-c", run.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("did you mean eval?"), r.err());
    }

    @Test
    void evalAndLatentTakeTrainsTestLimitName() {
        CliTest.Result r = CliTest.run("eval", "-c", run.toString(), "--test-limit", "7", "-k", "2", "--device", "cpu", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("7 examples"), r.out());
        r = CliTest.run("latent", "scatter", "-c", run.toString(), "--test-limit", "9", "--device", "cpu",
                "-o", tmp.resolve("s.png").toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void curvesTakesTheRunAsMinusCLikeTheOtherCommands() throws IOException {
        Path png = tmp.resolve("c.png");
        CliTest.Result r = CliTest.run("latent", "curves", "-c", run.toString(), "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(png) > 0);
        r = CliTest.run("latent", "curves", "-c", run.toString(), run.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("not both"), r.err());
    }

    @Test
    void helpTellsTheKDefaultsAndNoMissingFlag() {
        String eval = CliTest.run("eval", "--help").out(), density = CliTest.run("latent", "density", "--help").out();
        assertTrue(eval.contains("default: 1000"), eval);
        assertTrue(density.contains("default: 1000"), density);
        String train = CliTest.run("train", "--help").out().replaceAll("\\s+", " ");
        assertFalse(train.contains("Give it again to eval, sample"), "the help points to no sample flag that does not exist");
    }
}
