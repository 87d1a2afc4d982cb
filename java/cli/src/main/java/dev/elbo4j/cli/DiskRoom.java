package dev.elbo4j.cli;

import dev.elbo4j.backend.HostMemory;
import dev.elbo4j.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Room in the run folder for a checkpoint, checked before training starts: a full disk would
 * otherwise be found at the first checkpoint write, after up to --checkpoint-every steps (an epoch
 * of MNIST with the defaults) of work. An estimate from below: the parameters and Adam's two
 * moments as float32 (a PCD run's chains and the header come on top).
 */
final class DiskRoom {
    private DiskRoom() {
    }

    static void checkCheckpoint(ModelConfig cfg, Path out) throws IOException {
        long params = cfg.parameterLayout().count();
        long need = params * 4L * 3;
        long free;
        try {
            free = Files.getFileStore(out).getUsableSpace();
        } catch (IOException e) {
            return; // a file system that cannot say: the write itself will tell
        }
        if (free < need) {
            throw new IOException(String.format(Locale.ROOT, "%s: %s free, but a checkpoint of this %s model takes at least %s "
                            + "(%,d parameters and Adam's two moments); free some space or use another --out",
                    out, HostMemory.format(free), cfg.type(), HostMemory.format(need), params));
        }
    }
}
