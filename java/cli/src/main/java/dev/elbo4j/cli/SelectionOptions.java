package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.train.BestTracker;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.TrainConfig;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Model selection for {@code train}: a validation split held out from the training data, the best
 * epoch's model kept as best.safetensors, early stopping with a patience. The figure selected on is
 * the validation objective with a validation split, else the test objective; every family's is
 * higher-is-better ({@link BestTracker}). Its state goes into the checkpoint ({@link #state()}), so
 * --resume continues it; the split's size goes into the data record ({@link #record}).
 */
final class SelectionOptions {
    /** The file the best epoch's checkpoint is copied to, in the run folder. */
    static final String BEST = "best.safetensors";

    @Option(names = "--validation", paramLabel = "N|F",
            description = "Hold out the last N examples of the training split (after --train-limit), or the fraction F "
                    + "in (0,1) of them, as a validation set, evaluated after every epoch like the test set and used "
                    + "by --keep-best and --early-stop in its place, so the test set plays no part in choosing the "
                    + "model (default: none; with --resume: the run's own).")
    String validation;
    @Option(names = "--keep-best", arity = "0",
            description = "After every epoch whose selection objective (the validation objective with --validation, "
                    + "else the test objective; higher is better) beats all earlier ones, copy the checkpoint to "
                    + BEST + " (atomically; eval, sample, export take it with -c). With --resume: the run's own.")
    Boolean keepBest;
    @Option(names = "--early-stop", paramLabel = "P",
            description = "Stop after P epochs in a row without improvement of the selection objective (as --keep-best's); "
                    + "the run then ends as after its last epoch, its final figures those of the model as it is "
                    + "(the best is in " + BEST + " with --keep-best) (default: 0, never; with --resume: the run's own).")
    Integer earlyStop;

    private int held;
    private Dataset validationSet;
    private DeviceDataset validationData;
    private BestTracker tracker;

    /** Range checks that need no data. */
    void check() {
        if (earlyStop != null) Flags.atLeast("--early-stop", earlyStop, 0);
        if (validation != null) parse(validation, Integer.MAX_VALUE);
    }

    /**
     * A resumed run's own settings where the flags leave them unset: the split from {@code data}
     * (the checkpoint's data record), --keep-best, --early-stop and the best so far from its
     * {@code selection} metadata. Refuses a run that already stopped early under the patience
     * it would continue with.
     */
    void defaultTo(Checkpoint from, String out) {
        Map<String, Object> data = from.dataSource();
        if (validation == null && data != null && JsonFields.has(data, "validation")) {
            validation = Long.toString(JsonFields.longValue(data, "validation"));
        }
        Map<String, Object> s = from.selection();
        if (s == null) return;
        if (keepBest == null && s.get("keep_best") instanceof Boolean b) keepBest = b;
        if (earlyStop == null && s.get("patience") instanceof Number p) earlyStop = p.intValue();
        try {
            tracker = BestTracker.fromJson(s, patience());
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--resume: the checkpoint's selection state is invalid: " + e.getMessage());
        }
        if (tracker.shouldStop() && from.state().batchInEpoch() == 0) {
            throw new Main.UsageException(String.format(Locale.ROOT, "--resume: the run in %s stopped early after epoch %d "
                            + "(%d epochs without improvement since epoch %d); pass --early-stop P with P > %d, or 0, to train it further",
                    out, from.state().epoch(), tracker.epochsSinceBest(), tracker.bestEpoch(), tracker.epochsSinceBest()));
        }
    }

    /** The training split without the validation examples (the last ones), which are kept for {@link #upload}. */
    Dataset holdOut(Dataset train) {
        if (validation == null) return train;
        held = parse(validation, train.n());
        if (held == 0) return train;
        validationSet = heldOut(train, held);
        return trainedOn(train, held);
    }

    /**
     * The examples a run trains on when it holds out {@code held} of its training split
     * {@code train}: all but the last {@code held} (all of them for 0). {@code eval --split train}
     * takes the same rows.
     */
    static Dataset trainedOn(Dataset train, int held) {
        return held == 0 ? train : train.subset(train.n() - held);
    }

    /** The validation examples of a run that holds out {@code held} (> 0) of {@code train}: the last ones. */
    static Dataset heldOut(Dataset train, int held) {
        return train.slice(train.n() - held, held);
    }

    /** The held-out examples {@link #holdOut} kept; null without a split. */
    Dataset validationSet() {
        return validationSet;
    }

    /** Adds the validation size to the data record (only when there is a split, so older runs compare equal). */
    void record(Map<String, Object> dataRecord) {
        if (held > 0) dataRecord.put("validation", held);
    }

    /** The validation set on {@code be}, labelled as the trainer labels its test set; null without one. */
    DeviceDataset upload(Backend be, ModelConfig cfg) {
        if (validationSet == null) return null;
        validationData = new DeviceDataset(be, validationSet, cfg.labelUse() == LabelUse.NONE ? 0 : cfg.classes());
        return validationData;
    }

    /** Whether a best model is tracked (--keep-best or --early-stop); a new run's tracker starts here. */
    boolean active() {
        boolean on = Boolean.TRUE.equals(keepBest) || patience() > 0;
        if (on && tracker == null) tracker = new BestTracker(patience());
        return on;
    }

    boolean keepsBest() {
        return Boolean.TRUE.equals(keepBest);
    }

    private int patience() {
        return earlyStop == null ? 0 : earlyStop;
    }

    /** What the selection figure is: "validation" or "test". */
    String on() {
        return validationSet != null ? "validation" : "test";
    }

    /** The header line's account of the split and the selection, or null when there is neither. */
    String describe(String objective) {
        if (validationSet == null && !active()) return null;
        StringBuilder b = new StringBuilder();
        if (validationSet != null) b.append(held).append(" validation examples (the last of the training split)");
        if (active()) {
            b.append(b.isEmpty() ? "" : "; ").append("model selection on the ").append(on()).append(' ').append(objective)
                    .append(" (higher is better)");
            if (keepsBest()) b.append(", best kept in ").append(BEST);
            if (patience() > 0) b.append(", early stop after ").append(patience()).append(" epochs without improvement");
            if (tracker.bestEpoch() > 0) {
                b.append(String.format(Locale.ROOT, "; best so far %.2f at epoch %d", tracker.best(), tracker.bestEpoch()));
            }
        }
        return b.toString();
    }

    /** The validation figures of {@code m} now, as the trainer computes the test figures; null without a split. */
    Model.TestFigures validate(Model m, TrainConfig tc) {
        return validationData == null ? null : m.testFigures(validationData, tc.binarization(), tc.seed());
    }

    /**
     * Feeds the epoch's selection figure (validation if {@code v} is not null, else test) to the
     * tracker; whether it improved. False when no selection is active.
     */
    boolean update(EpochResult r, Model.TestFigures v) {
        if (!active()) return false;
        return tracker.update(r.epoch(), v != null ? v.objective() : r.testElbo());
    }

    /** The checkpoint's {@code selection} metadata, or null when no selection is active. */
    Map<String, Object> state() {
        if (!active()) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("on", on());
        m.put("keep_best", keepsBest());
        m.put("patience", patience());
        m.putAll(tracker.toJson());
        return m;
    }

    /** Copies the checkpoint just written to {@link #BEST} beside it, atomically, when --keep-best is on. */
    void keep(Path checkpoint) throws IOException {
        if (keepsBest()) AtomicFiles.write(checkpoint.resolveSibling(BEST), os -> Files.copy(checkpoint, os));
    }

    /** The validation figures under {@code validation_*} keys of a log record. */
    static void log(Map<String, Object> rec, Model.TestFigures v) {
        if (v == null) return;
        rec.put("validation_objective", v.objective());
        v.metrics().forEach((k, x) -> rec.put("validation_" + k, x));
    }

    /** The validation figures for the epoch line ("", without a split). */
    static String line(String objective, Model.TestFigures v) {
        if (v == null) return "";
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, ", validation %s %.2f nats", objective, v.objective()));
        v.metrics().forEach((k, x) -> b.append(String.format(Locale.ROOT, ", validation %s %.4f", k, x)));
        return b.toString();
    }

    /** Whether --early-stop's patience has run out. */
    boolean shouldStop() {
        return active() && tracker.shouldStop();
    }

    /** The line {@code train} prints when the patience ran out after {@code epoch}. */
    String earlyStopLine(int epoch, int epochs, String objective) {
        return String.format(Locale.ROOT, "stopped early after epoch %d/%d: no improvement of the %s %s for %d epochs; "
                        + "the best, %.2f, was at epoch %d%s", epoch, epochs, on(), objective, tracker.epochsSinceBest(),
                tracker.best(), tracker.bestEpoch(), keepsBest() ? " (" + BEST + ")" : "");
    }

    /** The best epoch and figure for the final log record, when a selection is active. */
    void finalRecord(Map<String, Object> rec, boolean stoppedEarly) {
        if (!active()) return;
        rec.put("selection", on());
        rec.put("best_epoch", tracker.bestEpoch());
        rec.put("best_objective", tracker.best());
        if (stoppedEarly) rec.put("stopped_early", true);
    }

    /** N (a whole number, at most {@code n - 1}) or a fraction F in (0,1) of {@code n}, rounded, as a count. */
    private static int parse(String spec, int n) {
        String s = spec.trim();
        long count;
        if (s.matches("\\d+")) {
            try {
                count = Long.parseLong(s);
            } catch (NumberFormatException e) {
                count = Long.MAX_VALUE;
            }
        } else {
            double f;
            try {
                f = Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--validation must be a count N or a fraction F in (0,1), got '" + spec + "'");
            }
            if (!(f > 0 && f < 1)) {
                throw new Main.UsageException("--validation: a fraction must lie in (0,1), got " + spec);
            }
            count = Math.round(f * n);
            if (count == 0 && n < Integer.MAX_VALUE) {
                throw new Main.UsageException("--validation " + spec + " of " + n + " training examples holds out none");
            }
        }
        if (count >= n) {
            throw new Main.UsageException("--validation " + spec + ": the training split has " + n
                    + " examples and at least one must remain for training");
        }
        return (int) count;
    }
}
