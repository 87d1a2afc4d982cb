package dev.elbo4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Model selection over epochs: the best value so far of a per-epoch figure where higher is better
 * (every family's test objective is: an ELBO, a log-likelihood, minus a loss; see
 * {@link EpochResult}), the epoch that reached it, and how many epochs have passed since, for
 * keeping the best model and for early stopping with a patience.
 *
 * <p>Feed it one figure per finished epoch with {@link #update}; it answers whether the figure
 * improved (strictly: a tie keeps the earlier epoch; NaN never improves) and, with a patience
 * P &gt; 0, {@link #shouldStop()} becomes true once P epochs in a row brought no improvement.
 * Its state is a few numbers ({@link #toJson()}, {@link #fromJson}) so that a resumed run
 * continues counting where it stopped; the CLI keeps it in the checkpoint's {@code selection}
 * metadata ({@link Checkpoint#selection()}).
 *
 * <pre>{@code
 * BestTracker best = new BestTracker(5);
 * trainer.run(new TrainListener() {
 *     public void epochEnd(EpochResult r) {
 *         if (best.update(r)) Checkpoint.save(bestPath, trainer, image);  // (IOException handling left out)
 *         if (best.shouldStop()) throw new MyStop();                      // caught around run()
 *     }
 * });
 * }</pre>
 */
public final class BestTracker {
    private final int patience;
    private int bestEpoch;
    private double best = Double.NaN;
    private int sinceBest;

    /**
     * A tracker that has seen no epoch.
     *
     * @param patience epochs without improvement after which {@link #shouldStop()} is true; 0: never
     * @throws IllegalArgumentException if {@code patience} is negative
     */
    public BestTracker(int patience) {
        if (patience < 0) throw new IllegalArgumentException("patience must be >= 0, got " + patience);
        this.patience = patience;
    }

    /**
     * Records the figure of a finished epoch.
     *
     * @param epoch  1-based number of the epoch
     * @param figure its value, higher is better; NaN counts as no improvement
     * @return whether it beat every earlier figure (the first finite figure always does)
     */
    public boolean update(int epoch, double figure) {
        if (!Double.isNaN(figure) && (Double.isNaN(best) || figure > best)) {
            best = figure;
            bestEpoch = epoch;
            sinceBest = 0;
            return true;
        }
        sinceBest++;
        return false;
    }

    /** {@link #update(int, double)} with the epoch's test objective, {@link EpochResult#testElbo()}. */
    public boolean update(EpochResult r) {
        return update(r.epoch(), r.testElbo());
    }

    /** The epochs without improvement after which {@link #shouldStop()} holds; 0: never. */
    public int patience() {
        return patience;
    }

    /** The 1-based epoch of the best figure; 0 while there is none. */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** The best figure; NaN while there is none. */
    public double best() {
        return best;
    }

    /** Epochs recorded since the best one (all of them while there is none). */
    public int epochsSinceBest() {
        return sinceBest;
    }

    /** Whether the patience is set and that many epochs in a row brought no improvement. */
    public boolean shouldStop() {
        return patience > 0 && sinceBest >= patience;
    }

    /**
     * The state as JSON fields: {@code best_epoch}, {@code best} (absent while there is none) and
     * {@code epochs_since_best}; the patience is the caller's to record.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("best_epoch", bestEpoch);
        if (!Double.isNaN(best)) m.put("best", best);
        m.put("epochs_since_best", sinceBest);
        return m;
    }

    /**
     * A tracker continuing the state {@link #toJson()} wrote, with {@code patience} (which may differ
     * from the one it was written with).
     *
     * @throws IllegalArgumentException if a field is missing, of the wrong type or out of range
     */
    public static BestTracker fromJson(Map<String, Object> json, int patience) {
        BestTracker t = new BestTracker(patience);
        if (!(json.get("best_epoch") instanceof Number e) || !(json.get("epochs_since_best") instanceof Number s)) {
            throw new IllegalArgumentException("best_epoch and epochs_since_best must be numbers");
        }
        Object b = json.get("best");
        if (b != null && !(b instanceof Number)) throw new IllegalArgumentException("best must be a number");
        t.bestEpoch = e.intValue();
        t.sinceBest = s.intValue();
        t.best = b == null ? Double.NaN : ((Number) b).doubleValue();
        if (t.bestEpoch < 0 || t.sinceBest < 0 || (t.bestEpoch > 0) == Double.isNaN(t.best)) {
            throw new IllegalArgumentException("inconsistent state " + json);
        }
        return t;
    }
}
