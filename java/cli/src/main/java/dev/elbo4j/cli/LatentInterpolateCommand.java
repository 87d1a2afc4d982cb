package dev.elbo4j.cli;

import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Png;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "interpolate", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Walk the code space from test input I to test input J and decode the path: a PNG strip of "
                + "input I, the decoded codes z(t) at t = 0, 1/(N-1), ..., 1, and input J.",
                "The ends of the path are the codes of I and J, so the first and last decoded images are their "
                        + "reconstructions."})
final class LatentInterpolateCommand implements Callable<Integer> {

    @Mixin
    LatentOptions common = new LatentOptions();

    @Option(names = "--from", paramLabel = "I", defaultValue = "0", description = "Test index of the start (default: ${DEFAULT-VALUE}).")
    int from;
    @Option(names = "--to", paramLabel = "J", defaultValue = "1", description = "Test index of the end (default: ${DEFAULT-VALUE}).")
    int to;
    @Option(names = "--steps", paramLabel = "N", defaultValue = "10",
            description = "Decoded codes on the path, both ends included, 2..100 (default: ${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "linear",
            description = "linear: z(t) = (1-t) z_I + t z_J; slerp: the direction turns along the great circle "
                    + "(spherical interpolation) while the norm goes linearly from |z_I| to |z_J|, so the path "
                    + "stays on the shell where the prior's mass lies (default: ${DEFAULT-VALUE}).")
    String mode;
    @Option(names = "--label", paramLabel = "C",
            description = "Class to decode with, for conditional models (default: the label of input I).")
    Integer label;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", defaultValue = "interpolation.png",
            description = "Output PNG (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--codes", paramLabel = "FILE.csv", description = "Also write the path's codes (t, z1..zZ, norm) to this CSV.")
    Path codes;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        if (steps < 2 || steps > 100) throw new Main.UsageException("--steps must be in 2..100, got " + steps);
        LatentMath.Mode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "linear" -> LatentMath.Mode.LINEAR;
            case "slerp" -> LatentMath.Mode.SLERP;
            default -> throw new Main.UsageException("--mode must be linear or slerp, got " + mode);
        };
        Flags.writable(out, codes);
        try (LatentSession s = common.open(spec.commandLine().getErr())) {
            s.checkIndex("--from", from);
            s.checkIndex("--to", to);
            int[] labels = s.labels();
            int l = s.decodeLabel(label, labels == null ? 0 : labels[from]);
            int z = s.latent(), d = s.dim();
            float[] ends = s.encode(new int[]{from, to});
            float[] a = java.util.Arrays.copyOfRange(ends, 0, z), b = java.util.Arrays.copyOfRange(ends, z, 2 * z);
            float[] path = LatentMath.path(m, a, b, steps);
            int[] rowLabels = new int[steps];
            java.util.Arrays.fill(rowLabels, l);
            float[] decoded = s.decode(path, rowLabels);
            float[] strip = new float[(steps + 2) * d];
            float[] inputs = s.inputs(new int[]{from, to});
            System.arraycopy(inputs, 0, strip, 0, d);
            System.arraycopy(decoded, 0, strip, d, steps * d);
            System.arraycopy(inputs, d, strip, (steps + 1) * d, d);
            int[] image = s.image();
            Png.writeGrid(out, strip, steps + 2, image, steps + 2, 2);
            if (codes != null) {
                StringBuilder csv = new StringBuilder("t");
                for (int k = 0; k < z; k++) csv.append(",z").append(k + 1);
                csv.append(",norm\n");
                for (int i = 0; i < steps; i++) {
                    csv.append(String.format(Locale.ROOT, "%.6f", (double) i / (steps - 1)));
                    float[] zi = java.util.Arrays.copyOfRange(path, i * z, (i + 1) * z);
                    for (float v : zi) csv.append(',').append(v);
                    csv.append(String.format(Locale.ROOT, ",%.9g", LatentMath.norm(zi))).append('\n');
                }
                AtomicFiles.writeString(codes, csv.toString());
            }
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote the %s path from test input %d to %d (%d steps) to %s%s%n",
                    mode.toLowerCase(Locale.ROOT), from, to, steps, out, codes == null ? "" : " and its codes to " + codes);
        }
        return 0;
    }
}
