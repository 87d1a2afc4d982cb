package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A picture that cannot be written after the last epoch (a full disk) fails train with one line
 * that names the picture and says the trained run is saved, naming its files; it used to say only
 * "samples.png: cannot write: ...", as if the run were lost. The failure is injected as a folder
 * where the picture goes (a full disk needs a mount, which CI cannot make).
 */
class PictureFailureCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 200, 50);
    }

    @Test
    void aPictureThatCannotBeWrittenSaysTheRunIsSaved() throws IOException {
        for (String picture : new String[]{"samples.png", "reconstructions.png"}) {
            Path out = tmp.resolve("run-" + picture);
            Files.createDirectories(out.resolve(picture)); // the picture's path is taken by a folder: it cannot be written
            CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                    "--epochs", "1", "--hidden", "8", "--latent", "2", "--eval-k", "0", "--no-progress");
            assertEquals(1, r.code(), r.err());
            String last = r.err().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.startsWith("elbo4j train: error: "), r.err());
            assertTrue(last.contains(out.resolve(picture).toString()), "names the picture: " + last);
            assertTrue(last.contains("the trained run is saved (" + out.resolve("checkpoint.safetensors") + ", "
                    + out.resolve("log.jsonl")), "names the saved files: " + last);
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
            assertTrue(Files.isRegularFile(out.resolve("checkpoint.safetensors")), "the checkpoint is there");
            if (picture.equals("reconstructions.png")) {
                assertTrue(last.contains(out.resolve("samples.png").toString()), "the samples written first are named: " + last);
            }
        }
    }
}
