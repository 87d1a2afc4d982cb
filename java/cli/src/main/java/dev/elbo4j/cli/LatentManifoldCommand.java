package dev.elbo4j.cli;

import dev.elbo4j.io.Png;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "manifold", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"For a 2-D latent space: decode a grid of codes and write it as a PNG (Kingma & Welling's "
                + "learned-manifold figure). Grid point (i, j) is z = (Phi^-1((j + 0.5) / N), Phi^-1((N - i - 0.5) / N)), "
                + "Phi^-1 the standard normal quantile, so equal areas of the grid hold equal prior mass; z1 grows "
                + "to the right, z2 upwards.",
                "The image is N*W*scale + 2(N+1) pixels wide and N*H*scale + 2(N+1) high for W x H inputs."})
final class LatentManifoldCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "--grid", paramLabel = "N", defaultValue = "20", description = "Codes per side, 2..100 (default: ${DEFAULT-VALUE}).")
    int grid;
    @Option(names = "--scale", paramLabel = "S", defaultValue = "1", description = "Pixels per input pixel, 1..8 (default: ${DEFAULT-VALUE}).")
    int scale;
    @Option(names = "--label", paramLabel = "C", description = "Class to decode with, for conditional models (default: 0).")
    Integer label;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", defaultValue = "manifold.png", description = "Output PNG (default: ${DEFAULT-VALUE}).")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The code of grid cell (row i, column j) of an n x n grid; see the command's description. */
    static float[] gridCode(int i, int j, int n) {
        return new float[]{(float) LatentMath.normalQuantile((j + 0.5) / n), (float) LatentMath.normalQuantile((n - i - 0.5) / n)};
    }

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        if (grid < 2 || grid > 100) throw new Main.UsageException("--grid must be in 2..100, got " + grid);
        if (scale < 1 || scale > 8) throw new Main.UsageException("--scale must be in 1..8, got " + scale);
        Flags.writable(out);
        Checkpoint c = checkpoint.load();
        try (LatentSession s = LatentSession.openModel(c, device, null)) {
            s.requireTwoDimensions("latent manifold");
            int l = s.decodeLabel(label, 0);
            float[] codes = new float[grid * grid * 2];
            for (int i = 0; i < grid; i++) {
                for (int j = 0; j < grid; j++) System.arraycopy(gridCode(i, j, grid), 0, codes, (i * grid + j) * 2, 2);
            }
            int[] labels = new int[grid * grid];
            java.util.Arrays.fill(labels, l);
            float[] images = s.decode(codes, labels);
            int[] image = s.image();
            Png.writeGrid(out, images, grid * grid, image, grid, scale);
            double edge = LatentMath.normalQuantile(0.5 / grid);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote a %dx%d grid of decoded codes, z in [%.3f, %.3f]^2, to %s%n",
                    grid, grid, edge, -edge, out);
        }
        return 0;
    }
}
