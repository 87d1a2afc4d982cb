package dev.elbo4j.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run folder on a file system without room for the model's checkpoint is refused before training,
 * not at the first checkpoint write an epoch later. Needs a small file system: a 1 MB tmpfs,
 * mounted with mount(8), so the test runs where that is allowed (as root, as the build machine and
 * CI run) and is skipped elsewhere.
 */
class DiskRoomCliTest {
    @TempDir
    Path tmp;
    private Path mnt;

    private static int sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mnt != null) sh("umount", "-l", mnt.toString());
    }

    @Test
    void aFolderWithoutRoomForTheCheckpointIsRefusedBeforeTraining() throws Exception {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 600, 100);
        Path dir = tmp.resolve("small");
        Files.createDirectories(dir);
        Assumptions.assumeTrue(sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.toString()) == 0,
                "mounting a tmpfs needs root");
        mnt = dir;
        Path out = dir.resolve("run");
        // 784-400-(20,20) / 20-400-784: 652,824 parameters, 7.8 MB with Adam's moments.
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--epochs", "3", "--eval-k", "0", "--no-progress");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("error: " + out + ": ") && r.err().contains(" free, but a checkpoint of this vae model takes at least "
                + "8 MB (652,824 parameters and Adam's two moments); free some space or use another --out"), r.err());
        assertFalse(r.err().contains("epoch 1/3"), "refused before the first epoch: " + r.err());
        assertFalse(Files.exists(out), "a refused new run leaves no folder");
        // A model that fits trains there.
        r = CliTest.run("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu", "--hidden", "16",
                "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
    }
}
