package dev.elbo4j.cli;

import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Png;
import dev.elbo4j.model.Vae;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

@Command(name = "density", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Score every test input by its importance-sampled log-likelihood, "
                + "log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x) (nats), the same estimate "
                + "and noise as `elbo4j eval --scores` for the same -k, --seed and --limit. Writes index,label,log_px "
                + "to a CSV, and the --lowest N inputs (the least likely under the model: the anomaly view) as a "
                + "PNG grid, lowest first, left to right, top to bottom.",
                "Needs a 'vae' checkpoint."})
final class LatentDensityCommand implements Callable<Integer> {

    @Mixin
    LatentOptions common = new LatentOptions();

    @Option(names = "-k", paramLabel = "K", defaultValue = "1000",
            description = "Importance samples per input (default: ${DEFAULT-VALUE}, as eval's; published tables use 5000).")
    int k;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.csv", defaultValue = "density.csv", description = "Output CSV (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--lowest", paramLabel = "N", defaultValue = "32",
            description = "Show the N lowest-scoring inputs, 0..1000; 0: no PNG (default: ${DEFAULT-VALUE}).")
    int lowest;
    @Option(names = "--lowest-out", paramLabel = "FILE.png",
            description = "PNG of the lowest-scoring inputs (default: lowest.png in the folder of --out).")
    Path lowestOut;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr(), outw = spec.commandLine().getOut();
        if (lowestOut == null) lowestOut = out.resolveSibling("lowest.png"); // beside the CSV, where the user asked for output
        Flags.output("--lowest-out", lowestOut, ".png");
        if (k < 1) throw new Main.UsageException("-k must be >= 1, got " + k);
        if (lowest < 0 || lowest > 1000) throw new Main.UsageException("--lowest must be in 0..1000, got " + lowest);
        Flags.writable(out, lowest > 0 ? lowestOut : null);
        try (LatentSession s = common.open(spec.commandLine().getErr())) {
            if (!(s.model instanceof Vae vae)) {
                throw new Main.UsageException("density needs a 'vae' checkpoint (importance-sampled log p(x)); this one holds '"
                        + s.model.config().type() + "'");
            }
            int n = s.n();
            double[] lpx;
            try (DeviceDataset td = new DeviceDataset(s.backend, s.test)) {
                Evaluator ev = new Evaluator(vae, td, s.training, s.seed);
                Progress progress = new Progress(err, !noProgress);
                progress.begin("log p(x), k=" + k, n, 0);
                lpx = ev.logLikelihood(k, done -> progress.update(done, 1, "inputs/s", (String) null));
            }
            int[] labels = s.labels();
            StringBuilder csv = new StringBuilder("index,label,log_px\n");
            for (int i = 0; i < n; i++) {
                csv.append(i).append(',').append(labels == null ? "" : Integer.toString(labels[i]))
                        .append(',').append(String.format(Locale.ROOT, "%.6f", lpx[i])).append('\n');
            }
            AtomicFiles.writeString(out, csv.toString());
            outw.printf(Locale.ROOT, "mean log p(x) %.3f nats over %d test inputs (k=%d); wrote %s%n", Evaluator.mean(lpx), n, k, out);
            if (lowest > 0) {
                int m = Math.min(lowest, n);
                int[] order = IntStream.range(0, n).boxed()
                        .sorted(Comparator.<Integer>comparingDouble(i -> lpx[i]).thenComparingInt(i -> i))
                        .mapToInt(Integer::intValue).limit(m).toArray();
                int[] image = s.image();
                Png.writeGrid(lowestOut, s.inputs(order), m, image, Math.min(m, 8), 2);
                StringBuilder which = new StringBuilder();
                for (int j = 0; j < Math.min(m, 5); j++) {
                    which.append(j == 0 ? "" : ", ").append(String.format(Locale.ROOT, "#%d%s %.1f", order[j],
                            labels == null ? "" : " (label " + labels[order[j]] + ")", lpx[order[j]]));
                }
                outw.printf(Locale.ROOT, "wrote the %d lowest-scoring inputs to %s; lowest: %s%s%n", m, lowestOut, which,
                        m > 5 ? ", ..." : "");
            }
        }
        return 0;
    }
}
