package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.model.Generative;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sample", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Draw z from the prior N(0, I), decode, and write the likelihood's means as a PNG grid, or, "
                + "to a .npy file, as an array [n, rows, cols] (RGB: [n, rows, cols, 3]) of float32 in the training data's "
                + "own units (the scaling the checkpoint records undone; docs/DATA.md)."})
final class SampleCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "64", description = "Number of samples (default: ${DEFAULT-VALUE}).")
    int count;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE", defaultValue = "samples.png",
            description = "Output: a .png grid, or a .npy array in the data's units (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of the draws (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--label", paramLabel = "C", description = "Class to draw, for conditional models (default: cycle through the classes).")
    Integer label;
    @Option(names = "--gibbs-steps", paramLabel = "N",
            description = "rbm, dbn: Gibbs sweeps of the chains from noise (default: the checkpoint's, 1000 unless trained with another).")
    Integer gibbsSteps;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png", ".npy");
        if (count < 1 || count > 10_000) throw new Main.UsageException("--count must be in 1..10000, got " + count);
        Checkpoint c = checkpoint.load();
        int classes = c.model().classes();
        if (label != null) {
            if (classes == 0) throw new Main.UsageException("--label: the checkpoint's '" + c.model().type()
                    + "' model is unconditional; it takes no label");
            if (label < 0 || label >= classes) {
                throw new Main.UsageException("--label must be in 0.." + (classes - 1) + ", got " + label);
            }
        }
        try (Backend be = device.open(c.model()); Generative vae = CheckpointOption.restore(c, be, Generative.class,
                "which has no prior to draw samples from; `elbo4j reconstruct -c " + ShellWord.of(checkpoint.path) + "` shows what it learned")) {
            if (gibbsSteps != null) GibbsSteps.apply(vae, gibbsSteps); // rbm, dbn
            if (out.getFileName() != null && out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".npy")) {
                float[] v = vae.sample(count, new dev.elbo4j.rng.RngKey(seed, dev.elbo4j.rng.Streams.SAMPLE, 0), label == null ? -1 : label);
                int[] im = c.image();
                int[] shape = new int[im.length + 1];
                shape[0] = count;
                System.arraycopy(im, 0, shape, 1, im.length);
                dev.elbo4j.io.Npy.write(out, new dev.elbo4j.io.NumericArray(shape, null, DataOptions.scaling(c).undo(v)));
            } else {
                Pictures.samples(out, vae, c.image(), count, seed, 0, label == null ? -1 : label);
            }
        }
        spec.commandLine().getOut().println("wrote " + count + " samples to " + out);
        return 0;
    }
}
