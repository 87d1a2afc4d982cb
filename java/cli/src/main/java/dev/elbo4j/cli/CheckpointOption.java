package dev.elbo4j.cli;

import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The model to use: a checkpoint file, or a run folder holding checkpoint.safetensors. */
final class CheckpointOption {

    @Option(names = {"-c", "--checkpoint"}, paramLabel = "FILE", defaultValue = "runs/default",
            description = "Checkpoint file, or a run folder with checkpoint.safetensors (default: ${DEFAULT-VALUE}).")
    Path path;

    Checkpoint load() throws IOException {
        Path f = Files.isDirectory(path) ? path.resolve("checkpoint.safetensors") : path;
        if (!Files.isRegularFile(f)) {
            throw new Main.UsageException("--checkpoint " + path + ": no checkpoint file there (train one with `elbo4j train`)");
        }
        Checkpoint c = Checkpoint.load(f);
        c.requireFinite(false); // a diverged model computes nothing meaningful: NaN ELBOs, black pictures
        return c;
    }

    /** The run folder: the folder given, or the checkpoint file's folder. */
    Path runFolder() {
        if (Files.isDirectory(path)) return path;
        Path parent = path.toAbsolutePath().getParent();
        return parent != null ? parent : Path.of(".");
    }
}
