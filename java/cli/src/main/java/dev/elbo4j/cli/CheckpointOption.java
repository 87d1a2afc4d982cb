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

    /** The checkpoint file: the given file, or the folder's checkpoint.safetensors; a usage error when there is none. */
    Path file() {
        Path f = fileOf(path);
        if (!Files.isRegularFile(f)) {
            throw new Main.UsageException("--checkpoint " + path + ": no checkpoint file there (train one with `elbo4j train`)");
        }
        return f;
    }

    Checkpoint load() throws IOException {
        Checkpoint c = Checkpoint.load(file());
        c.requireFinite(false); // a diverged model computes nothing meaningful: NaN ELBOs, black pictures
        return c;
    }

    /**
     * The checkpoint's model as {@code type}, or a usage error: {@code why} says, for the user, why
     * this model cannot do what the command asks and which command can.
     */
    static <M extends dev.elbo4j.model.Model> M restore(Checkpoint c, dev.elbo4j.backend.Backend be, Class<M> type, String why) {
        try {
            return c.restoreModel(be, type, why);
        } catch (dev.elbo4j.train.WrongModelException e) {
            throw new Main.UsageException(e.getMessage());
        }
    }

    /** {@code run}'s checkpoint.safetensors when it is a folder, else {@code run} itself (a checkpoint file). */
    static Path fileOf(Path run) {
        return Files.isDirectory(run) ? run.resolve("checkpoint.safetensors") : run;
    }

    /** The run folder: the folder given, or the checkpoint file's folder. */
    Path runFolder() {
        if (Files.isDirectory(path)) return path;
        Path parent = path.toAbsolutePath().getParent();
        return parent != null ? parent : Path.of(".");
    }
}
