package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Ais;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmEval;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * {@code elbo4j eval} on an RBM checkpoint: log Z by annealed importance sampling ({@link Ais}) and
 * the test set's mean log p(x) = -F(x) - log Z, with the bounds that log Z's +-3 std bounds give.
 */
final class AisOptions {
    @Option(names = "--ais-runs", paramLabel = "M", defaultValue = "100",
            description = "rbm: AIS runs for log Z (default: ${DEFAULT-VALUE}).")
    int runs;
    @Option(names = "--ais-schedule", paramLabel = "N:BETA,...", defaultValue = Ais.DEFAULT_SCHEDULE,
            description = "rbm: AIS inverse temperatures, segments of N equally spaced betas up to BETA, ending at 1.0 "
                    + "(default: ${DEFAULT-VALUE}, Salakhutdinov and Murray's 14,500).")
    String schedule;
    @Option(names = "--ais-base", paramLabel = "BASE", defaultValue = "data",
            description = "rbm: AIS base-rate model: data (visible biases from the training data's pixel means) or "
                    + "uniform (all 0) (default: ${DEFAULT-VALUE}).")
    String base;
    @Option(names = "--ais-weights", paramLabel = "FILE.csv",
            description = "rbm: also write each AIS run's log importance weight (run, log_weight) to this CSV, "
                    + "to inspect how many runs carry the estimate.")
    Path weightsFile;

    /** Effective runs below this fraction of the runs make eval warn that log Z rests on a few runs. */
    static final double FEW_RUNS = 0.1;

    /** Checks the flags; throws a usage error naming the bad one. */
    double[] betas() {
        if (runs < 1) throw new Main.UsageException("--ais-runs must be >= 1, got " + runs);
        if (!base.equals("data") && !base.equals("uniform")) {
            throw new Main.UsageException("--ais-base must be data or uniform, got '" + base + "'");
        }
        try {
            return Ais.schedule(schedule);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--ais-schedule: " + e.getMessage());
        }
    }

    /** Runs AIS on the checkpoint's RBM and prints log Z and the test log p(x); returns the exit code. */
    int evaluate(Checkpoint c, DataOptions data, Dataset test, String split, Backend be, Binarization mode, long seed,
                 boolean progressBar, PrintWriter out, PrintWriter err) throws IOException {
        double[] betas = betas();
        double[] rates = base.equals("data") ? Ais.baseRates(data.loadFor("train", 0, c.model().inputDim())) : null;
        try (Rbm rbm = c.restoreModel(be, Rbm.class); DeviceDataset td = new DeviceDataset(be, test)) {
            err.printf(Locale.ROOT, "elbo4j eval: %s%n  %d %s examples of %s; %s; AIS: %d runs, %d betas, %s base rates%n",
                    c.model(), test.n(), split, data.name(), be.description(), runs, betas.length - 1, base);
            Progress progress = new Progress(err, progressBar);
            progress.begin("AIS", betas.length - 1, 0);
            long t0 = System.nanoTime();
            Ais.Estimate est = Ais.logZ(rbm.layer(), rates, betas, runs, new RngKey(seed, Streams.EVAL, 0),
                    done -> progress.update(done, 1, "betas/s", null));
            double secs = (System.nanoTime() - t0) / 1e9;
            progress.clear();
            double[] f = RbmEval.perExample(be, rbm.dtype(), td, mode, seed, (x, o) -> {
                try (Tensor act = be.alloc(rbm.dtype(), x.rows(), rbm.config().hidden())) {
                    rbm.layer().freeEnergy(x, act, o);
                }
            });
            double meanF = RbmEval.mean(f);
            out.printf(Locale.ROOT, "%s log p(x) %.3f nats (AIS log Z %.3f, +-3 std [%.3f, %.3f] gives log p(x) in [%.3f, %.3f]; "
                            + "%d runs, %d betas, %.1f s), mean free energy %.3f, %d examples%n",
                    split, -meanF - est.logZ(), est.logZ(), est.low(), est.high(), -meanF - est.high(), -meanF - est.low(),
                    runs, betas.length - 1, secs, meanF, test.n());
            double ess = est.effectiveRuns();
            out.printf(Locale.ROOT, "AIS weights: %.1f effective runs of %d, log-weight std %.3f%n", ess, runs, est.logWeightStd());
            if (runs > 1 && (ess < Math.max(2, FEW_RUNS * runs) || est.low() == Double.NEGATIVE_INFINITY)) {
                err.printf(Locale.ROOT, "elbo4j eval: warning: the AIS estimate rests on a few runs (%.1f effective of %d): "
                        + "log Z is then likely underestimated and log p(x) optimistic; use more betas (--ais-schedule) "
                        + "until estimates from different --seed values agree%n", ess, runs);
            }
            if (weightsFile != null) {
                StringBuilder csv = new StringBuilder("run,log_weight\n");
                double[] lw = est.logWeights();
                for (int m = 0; m < lw.length; m++) csv.append(m).append(',').append(String.format(Locale.ROOT, "%.6f", lw[m])).append('\n');
                AtomicFiles.writeString(weightsFile, csv.toString());
                out.println("wrote " + weightsFile);
            }
        }
        return 0;
    }
}
