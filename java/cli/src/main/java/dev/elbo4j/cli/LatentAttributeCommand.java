package dev.elbo4j.cli;

import dev.elbo4j.io.Png;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "attribute", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Attribute vectors (the \"smile vector\"): v = mean code of the test inputs of class A minus mean "
                + "code of those of class B. The first --count test inputs of class B are encoded, v is added to "
                + "their codes at each --scales value s (z + s v) and decoded.",
                "Writes a PNG grid: one row per input; the input, then one column per scale. Scale 0 is the "
                        + "input's reconstruction; scale 1 moves it by the whole A-B difference."})
final class LatentAttributeCommand implements Callable<Integer> {

    @Mixin
    LatentOptions common = new LatentOptions();

    @Option(names = "--class-a", paramLabel = "A", required = true, description = "The class the vector points to.")
    int classA;
    @Option(names = "--class-b", paramLabel = "B", required = true, description = "The class it points from; the inputs shown are of this class.")
    int classB;
    @Option(names = "--scales", paramLabel = "S", split = ",", defaultValue = "0,0.5,1,1.5,2",
            description = "Comma-separated multiples of v to add (default: ${DEFAULT-VALUE}).")
    double[] scales;
    @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "8", description = "Inputs of class B to show, 1..100 (default: ${DEFAULT-VALUE}).")
    int count;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", defaultValue = "attribute.png", description = "Output PNG (default: ${DEFAULT-VALUE}).")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** A usage error unless 0 <= c <= maxLabel (the largest label in the test data). */
    private static void checkClass(String flag, int c, int maxLabel) {
        if (c < 0 || c > maxLabel) throw new Main.UsageException(flag + " must be a class in 0.." + maxLabel + ", got " + c);
    }

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        if (count < 1 || count > 100) throw new Main.UsageException("--count must be in 1..100, got " + count);
        if (scales.length < 1 || scales.length > 20) throw new Main.UsageException("--scales takes 1..20 values, got " + scales.length);
        for (double v : scales) if (!Double.isFinite(v)) throw new Main.UsageException("--scales must be finite numbers, got " + v);
        Flags.writable(out);
        try (LatentSession s = common.open(spec.commandLine().getErr())) {
            int[] labels = s.labels();
            if (labels == null) throw new Main.UsageException("attribute vectors need labelled test data; " + common.data.name() + " has none");
            int maxLabel = 0;
            for (int l : labels) maxLabel = Math.max(maxLabel, l);
            checkClass("--class-a", classA, maxLabel);
            checkClass("--class-b", classB, maxLabel);
            float[] codes = s.encodeAll();
            int z = s.latent(), d = s.dim();
            double[] meanA = LatentMath.classMean(codes, z, labels, classA), meanB = LatentMath.classMean(codes, z, labels, classB);
            if (meanA == null || meanB == null) {
                throw new Main.UsageException("no test input of class " + (meanA == null ? classA : classB) + " in the "
                        + s.n() + " used (raise --limit)");
            }
            List<Integer> picked = new ArrayList<>();
            for (int i = 0; i < labels.length && picked.size() < count; i++) if (labels[i] == classB) picked.add(i);
            int rows = picked.size(), cols = 1 + scales.length;
            float[] shifted = new float[rows * scales.length * z];
            int[] rowLabels = new int[rows * scales.length];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < scales.length; j++) {
                    int o = (r * scales.length + j) * z;
                    for (int k = 0; k < z; k++) {
                        shifted[o + k] = (float) (codes[picked.get(r) * z + k] + scales[j] * (meanA[k] - meanB[k]));
                    }
                    rowLabels[r * scales.length + j] = classB;
                }
            }
            float[] decoded = s.decode(shifted, rowLabels);
            int[] idx = picked.stream().mapToInt(Integer::intValue).toArray();
            float[] inputs = s.inputs(idx);
            float[] grid = new float[rows * cols * d];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(inputs, r * d, grid, (r * cols) * d, d);
                System.arraycopy(decoded, r * scales.length * d, grid, (r * cols + 1) * d, scales.length * d);
            }
            int[] image = s.image();
            Png.writeGrid(out, grid, rows * cols, image, cols, 2);
            double norm = 0;
            for (int k = 0; k < z; k++) norm += (meanA[k] - meanB[k]) * (meanA[k] - meanB[k]);
            spec.commandLine().getOut().printf(Locale.ROOT,
                    "attribute vector class %d - class %d: norm %.4f; wrote %d inputs of class %d (test indices %s) at scales %s to %s%n",
                    classA, classB, Math.sqrt(norm), rows, classB, picked, java.util.Arrays.toString(scales), out);
        }
        return 0;
    }
}
