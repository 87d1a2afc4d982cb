package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Evaluate a trained model on the test set: the ELBO and the importance-sampled estimate of "
                + "log p(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), in nats per example.",
                "Binarised models are evaluated on one fixed binarisation of the test set (from --seed)."})
final class EvalCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DataOptions data = new DataOptions();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "-k", paramLabel = "K", defaultValue = "1000",
            description = "Importance samples per input (default: ${DEFAULT-VALUE}; published tables use 5000).")
    int k;
    @Option(names = "--elbo-samples", paramLabel = "L", defaultValue = "1", description = "Samples for the ELBO estimate (default: ${DEFAULT-VALUE}).")
    int elboSamples;
    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Evaluate only the first N test examples (0: all).")
    int limit;
    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "test", description = "test or train (default: ${DEFAULT-VALUE}).")
    String split;
    @Option(names = "--scores", paramLabel = "FILE.csv", description = "Also write per-example scores (index, label, elbo, log_px) to this CSV.")
    Path scores;
    @Option(names = "--seed", paramLabel = "N", description = "Evaluation seed (default: the training seed).")
    Long seed;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;
    @Mixin
    AisOptions ais = new AisOptions(); // rbm: log Z by AIS

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr(), out = spec.commandLine().getOut();
        if (k < 1) throw new Main.UsageException("-k must be >= 1, got " + k);
        if (elboSamples < 1) throw new Main.UsageException("--elbo-samples must be >= 1, got " + elboSamples);
        if (!split.equals("test") && !split.equals("train")) throw new Main.UsageException("--split must be test or train, got " + split);
        Checkpoint c = checkpoint.load();
        Dataset test = data.loadFor(split, limit, c.model().inputDim());
        Binarization mode = c.training() == null ? Binarization.DYNAMIC : c.training().binarization();
        long s = seed != null ? seed : c.training() == null ? 1 : c.training().seed();
        if (c.model() instanceof dev.elbo4j.model.RbmConfig) { // rbm: AIS
            try (Backend be = device.open()) {
                return ais.evaluate(c, data, test, split, be, mode, s, !noProgress, out, err);
            }
        }
        if (!(c.model() instanceof dev.elbo4j.model.VaeConfig)) {
            // Models without importance-sampled likelihood: the model's own test objective and metrics.
            int classes = c.model().labelUse() == dev.elbo4j.model.LabelUse.NONE ? 0 : c.model().classes();
            try (Backend be = device.open(); dev.elbo4j.model.Model m = c.restoreModel(be);
                 DeviceDataset td = new DeviceDataset(be, test, classes)) {
                err.printf(Locale.ROOT, "elbo4j eval: %s%n  %d %s examples of %s; %s%n", c.model(), test.n(), split, data.name(),
                        be.description());
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s %s %.3f nats", split,
                        c.model().objectiveName(), m.testObjective(td, mode, s)));
                m.testMetrics(td, mode, s).forEach((key, v) -> line.append(String.format(Locale.ROOT, ", %s %.4f", key, v)));
                out.println(line.append(", ").append(test.n()).append(" examples"));
            }
            return 0;
        }
        try (Backend be = device.open(); Vae vae = c.restoreModel(be, Vae.class); DeviceDataset td = new DeviceDataset(be, test)) {
            err.printf(Locale.ROOT, "elbo4j eval: %s%n  %d %s examples of %s; %s%n", c.model(), test.n(), split, data.name(),
                    be.description());
            Evaluator ev = new Evaluator(vae, td, mode, s);
            double[] elbo = ev.elbo(elboSamples);
            Progress progress = new Progress(err, !noProgress);
            progress.begin("log p(x), k=" + k, test.n(), 0);
            long t0 = System.nanoTime();
            double[] lpx = ev.logLikelihood(k, done -> progress.update(done, 1, "inputs/s", null));
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "%s ELBO %.3f nats (L=%d), log p(x) %.3f nats (importance sampling, k=%d, %.1f s), %d examples%n",
                    split, Evaluator.mean(elbo), elboSamples, Evaluator.mean(lpx), k, secs, test.n());
            if (scores != null) {
                StringBuilder b = new StringBuilder("index,label,elbo,log_px\n");
                for (int i = 0; i < test.n(); i++) {
                    b.append(i).append(',').append(test.hasLabels() ? Integer.toString(test.label(i)) : "")
                            .append(',').append(String.format(Locale.ROOT, "%.6f", elbo[i]))
                            .append(',').append(String.format(Locale.ROOT, "%.6f", lpx[i])).append('\n');
                }
                AtomicFiles.writeBytes(scores, b.toString().getBytes(StandardCharsets.UTF_8));
                out.println("wrote " + scores);
            }
        }
        return 0;
    }
}
