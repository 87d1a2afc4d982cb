package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Ais;
import dev.elbo4j.eval.Raise;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmEval;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;

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
    @Option(names = "--ais-base", paramLabel = "BASE", defaultValue = "data", completionCandidates = Candidates.AisBases.class,
            description = "rbm: AIS base-rate model: data (visible biases from the training data's pixel means) or "
                    + "uniform (all 0) (default: ${DEFAULT-VALUE}).")
    String base;
    @Option(names = "--ais-weights", paramLabel = "FILE.csv",
            description = "rbm: also write each AIS run's log importance weight (run, log_weight) to this CSV, "
                    + "to inspect how many runs carry the estimate.")
    Path weightsFile;
    @Option(names = "--raise", paramLabel = "N", defaultValue = "0",
            description = "rbm: also estimate log p(x) of the first N test examples by reverse AIS (RAISE, Burda et al. "
                    + "2015), one chain each over the same betas: a conservative estimate beside AIS's optimistic one, "
                    + "costing about N/M times the AIS run (default: ${DEFAULT-VALUE}, off).")
    int raise;

    /** RAISE chains per batch (rows of one reverse-annealing pass). */
    static final int RAISE_ROWS = 1000;

    /** Effective runs below this fraction of the runs make eval warn that log Z rests on a few runs. */
    static final double FEW_RUNS = 0.1;

    /** Checks the flags; throws a usage error naming the bad one. */
    double[] betas() {
        if (runs < 1) throw new Main.UsageException("--ais-runs must be >= 1, got " + runs);
        if (raise < 0) throw new Main.UsageException("--raise must be >= 0, got " + raise);
        if (!base.equals("data") && !base.equals("uniform")) {
            throw new Main.UsageException("--ais-base must be data or uniform, got '" + base + "'");
        }
        try {
            return Ais.schedule(schedule);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--ais-schedule: " + e.getMessage());
        }
    }

    /**
     * Runs AIS on the checkpoint's RBM and prints log Z and the test log p(x); puts the settings and
     * the figures printed into {@code record} (evals.jsonl, docs/FORMAT.md).
     */
    void evaluate(Checkpoint c, DataOptions data, Dataset test, String split, Backend be, Binarization mode, long seed,
                  boolean progressBar, PrintWriter out, PrintWriter err, Map<String, Object> record) throws IOException {
        double[] betas = betas();
        double[] rates = base.equals("data") ? Ais.baseRates(data.loadFor("train", 0, c.image())) : null;
        try (Rbm rbm = c.restoreModel(be, Rbm.class); DeviceDataset td = new DeviceDataset(be, test)) {
            err.printf(Locale.ROOT, "elbo4j eval: %s%n  %d %s examples of %s; %s; AIS: %d runs, %d betas, %s base rates%n",
                    c.model(), test.n(), split, data.name(), be.description(), runs, betas.length - 1, base);
            Progress progress = new Progress(err, progressBar);
            progress.begin("AIS", betas.length - 1, 0);
            long t0 = System.nanoTime();
            Ais.Estimate est = Ais.logZ(rbm.layer(), rates, betas, runs, new RngKey(seed, Streams.EVAL, 0),
                    done -> progress.update(done, 1, "betas/s", (String) null));
            double secs = (System.nanoTime() - t0) / 1e9;
            progress.clear();
            double[] f = rbm.freeEnergies(td, mode, seed);
            double meanF = RbmEval.mean(f);
            out.printf(Locale.ROOT, "%s log p(x) %.3f nats (AIS log Z %.3f, +-3 std [%.3f, %.3f] gives log p(x) in [%.3f, %.3f]; "
                            + "%d runs, %d betas, %.1f s), mean free energy %.3f, %d examples%n",
                    split, -meanF - est.logZ(), est.logZ(), est.low(), est.high(), -meanF - est.high(), -meanF - est.low(),
                    runs, betas.length - 1, secs, meanF, test.n());
            double ess = est.effectiveRuns();
            out.printf(Locale.ROOT, "AIS weights: %.1f effective runs of %d, log-weight std %.3f%n", ess, runs, est.logWeightStd());
            record.put("method", "AIS");
            record.put("ais_runs", runs);
            record.put("ais_betas", betas.length - 1);
            record.put("ais_schedule", schedule);
            record.put("ais_base", base);
            record.put("raise", raise);
            record.put("log_px", -meanF - est.logZ());
            record.put("log_z", est.logZ());
            record.put("log_z_low", est.low());
            record.put("log_z_high", est.high());
            record.put("log_px_low", -meanF - est.high());
            record.put("log_px_high", -meanF - est.low());
            record.put("free_energy", meanF);
            record.put("effective_runs", ess);
            record.put("log_weight_std", est.logWeightStd());
            record.put("ais_seconds", secs);
            if (runs > 1 && (ess < Math.max(2, FEW_RUNS * runs) || est.low() == Double.NEGATIVE_INFINITY)) {
                err.printf(Locale.ROOT, "elbo4j eval: warning: the AIS estimate rests on a few runs (%.1f effective of %d): "
                        + "log Z is then likely underestimated and log p(x) optimistic; compare estimates with other --seed values "
                        + "and more betas (--ais-schedule), and a conservative RAISE estimate (--raise N)%n", ess, runs);
            }
            if (raise > 0) raise(rbm, rates, betas, f, est.logZ(), td, mode, seed, progress, out, record);
            if (weightsFile != null) {
                StringBuilder csv = new StringBuilder("run,log_weight\n");
                double[] lw = est.logWeights();
                for (int m = 0; m < lw.length; m++) csv.append(m).append(',').append(String.format(Locale.ROOT, "%.6f", lw[m])).append('\n');
                AtomicFiles.writeString(weightsFile, csv.toString());
                out.println("wrote " + weightsFile);
            }
        }
    }

    /**
     * RAISE on the first {@code raise} examples (all of them when there are fewer), in batches of
     * {@link #RAISE_ROWS}; prints its mean with the standard error over examples, and AIS's estimate
     * of the same examples with the mean per-example gap between the two.
     */
    private void raise(Rbm rbm, double[] rates, double[] betas, double[] freeEnergy, double logZ, DeviceDataset td,
                       Binarization mode, long seed, Progress progress, PrintWriter out, Map<String, Object> record) {
        Backend be = rbm.backend();
        int n = Math.min(raise, td.size());
        double[] lw = new double[n];
        progress.begin("RAISE", (long) (betas.length - 1) * ((n + RAISE_ROWS - 1) / RAISE_ROWS), 0);
        long t0 = System.nanoTime();
        RbmEval.forChunks(be, rbm.dtype(), td, n, RAISE_ROWS, mode, seed, (xb, from, chunk) -> {
            long done = (long) chunk * (betas.length - 1);
            double[] part = Raise.logLikelihood(rbm.layer(), rates, betas, xb, new RngKey(seed, Streams.RAISE, chunk),
                    d -> progress.update(done + d, 1, "betas/s", (String) null));
            System.arraycopy(part, 0, lw, from, xb.rows());
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        progress.clear();
        double mean = 0, ais = 0;
        for (int i = 0; i < n; i++) {
            mean += lw[i] / n;
            ais += (-freeEnergy[i] - logZ) / n;
        }
        double var = 0, gapVar = 0;
        for (int i = 0; i < n; i++) {
            var += (lw[i] - mean) * (lw[i] - mean);
            double gap = (-freeEnergy[i] - logZ - lw[i]) - (ais - mean);
            gapVar += gap * gap;
        }
        double se = n > 1 ? Math.sqrt(var / (n - 1) / n) : Double.NaN;
        double gapSe = n > 1 ? Math.sqrt(gapVar / (n - 1) / n) : Double.NaN;
        out.printf(Locale.ROOT, "RAISE log p(x) %.3f nats +- %.3f (std error) on the first %d examples (conservative; %d betas, "
                        + "%.1f s); AIS on the same examples %.3f (optimistic); AIS - RAISE %.3f +- %.3f%n",
                mean, se, n, betas.length - 1, secs, ais, ais - mean, gapSe);
        record.put("raise_examples", n);
        record.put("raise_log_px", mean);
        record.put("raise_std_error", se);
        record.put("raise_ais_log_px", ais);
        record.put("raise_seconds", secs);
    }
}
