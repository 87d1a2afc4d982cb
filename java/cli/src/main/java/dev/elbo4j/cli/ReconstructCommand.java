package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Reconstructing;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "reconstruct", sortOptions = false, mixinStandardHelpOptions = true,
        description = "Encode test inputs, decode them at the posterior mean (with a planar flow: the mean pushed through the flow), "
                + "and write inputs above reconstructions as a PNG.")
final class ReconstructCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DataOptions data = new DataOptions();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "32", description = "Test inputs to show (default: ${DEFAULT-VALUE}).")
    int count;
    @Option(names = "--from", paramLabel = "I", defaultValue = "0", description = "Index of the first test input (default: ${DEFAULT-VALUE}).")
    int from;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", defaultValue = "reconstructions.png", description = "Output PNG (default: ${DEFAULT-VALUE}).")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        if (count < 1 || count > 10_000) throw new Main.UsageException("--count must be in 1..10000, got " + count);
        Flags.writable(out);
        Checkpoint c = checkpoint.load();
        Dataset test = data.loadFor(c, "test", 0, spec.commandLine().getErr(), "elbo4j reconstruct");
        if (from < 0 || from >= test.n()) throw new Main.UsageException("--from must be in 0.." + (test.n() - 1) + ", got " + from);
        int n = Math.min(count, test.n() - from);
        Binarization mode = c.training() == null ? Binarization.NONE : c.training().binarization();
        long seed = c.training() == null ? 1 : c.training().seed();
        try (Backend be = device.open(c.model()); Reconstructing vae = CheckpointOption.restore(c, be, Reconstructing.class,
                "which has no code to reconstruct an input through; `elbo4j sample -c " + ShellWord.of(checkpoint.path) + "` draws from it")) {
            // Test image i gets the same binarisation whatever --from: it is drawn at its test index.
            Pictures.reconstructions(out, vae, test, from, n, mode, seed);
        }
        spec.commandLine().getOut().println("wrote " + n + " inputs and reconstructions to " + out);
        return 0;
    }
}
