package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cuda.StepGuard;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Batch;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.TrainStep;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Trains a {@link Model} with Adam on a data set resident on the model's backend.
 *
 * <p>Everything random is a function of the seed and the position, never of history: epoch e
 * shuffles with (seed, SHUFFLE, e), binarises with (seed, BINARIZE, e), and global step s draws
 * its noise from (seed, LATENT, s), and the learning rate is the schedule's at the position
 * ({@link TrainConfig#learningRate}). So the position (epoch, batch in epoch, step) plus parameters,
 * Adam's moments and the training step's own state ({@link #stepState()}, e.g. PCD's persistent
 * chains) is the whole state, and a resumed run continues bit for bit.
 *
 * <p>Before each update the trainer checks the batch's loss and gradients ({@link FiniteGuard});
 * a NaN or infinity never reaches the parameters: the run stops with a {@link NonFiniteException}
 * naming the step and the first bad tensor, or, under {@link NanPolicy#SKIP}, drops the batch.
 *
 * <p>{@link #requestStop()}, from any thread, makes {@link #run} or {@link #runEpoch} return at the
 * next step boundary; the trainer is then where a checkpoint resumes exactly, and {@code run}
 * again continues as if it had never stopped.
 */
public final class Trainer implements AutoCloseable {
    private final Model model;
    private final TrainConfig cfg;
    private final DeviceDataset train;
    private final DeviceDataset test;
    private final DeviceDataset labelled;
    private final Adam adam;
    private final TrainStep pass;
    private final Tensor x, y, xl, yl;
    private final Tensor lossAcc;
    private final FiniteGuard guard;
    private NanPolicy nanPolicy = NanPolicy.STOP;
    private boolean graph = true;
    /** The replayed step (CUDA), made at the first epoch that can use it; null: the eager loop. */
    private ReplayedStep replay;
    /** The replay's host-side bookkeeping for the epoch in flight (see {@link #sync}). */
    private boolean replayPending;
    private long replayStepAtStart, replaySkippedAtStart, replaySkippedSeen, replayGuardSkipped;
    private int replayBatchAtStart, replaySkipsReported;
    /** Steps launched since the last {@link #sync} read. */
    private long replayUnread;
    private double replayLossSum;
    private TrainListener replayListener;
    private long skipped;
    private boolean closed;
    /** Set by {@link #requestStop} on any thread; cleared when {@link #run} or {@link #runEpoch} returns. */
    private volatile boolean stopRequested;
    /** Whether the last {@link #run} or {@link #runEpoch} returned because of a stop request. */
    private boolean stopped;
    private int epoch;
    private int batchInEpoch;

    /** Examples of the current epoch whose loss is in {@code lossAcc} (for {@link #runningObjective}). */
    private int seenInEpoch;

    /**
     * A trainer of {@code model} on {@code train}: copies the data sets to the model's backend and allocates
     * Adam's moments and the batch buffers there; {@link #close} frees what it allocated (the model stays the
     * caller's). Not thread-safe: one thread calls {@link #run} and the other methods. The model is
     * trained from the parameters it has: a newly created RBM or DBN should first get its data-dependent
     * start, {@code model.initializeFrom(train)} ({@link Model#initializeFrom}), as {@code elbo4j train} gives it.
     *
     * @param test may be null: no test ELBO per epoch
     * @throws IllegalArgumentException when the data or the training config does not fit the model
     *                                  (including its own {@link dev.elbo4j.model.ModelConfig#checkTraining} checks)
     */
    public Trainer(Model model, Dataset train, Dataset test, TrainConfig cfg) {
        if (model == null || train == null || cfg == null) {
            throw new IllegalArgumentException((model == null ? "model" : train == null ? "train" : "cfg") + " must not be null");
        }
        if (model.parameters().isClosed()) {
            throw new IllegalStateException("the " + model.config().type() + " model was closed; a Trainer needs an open model");
        }
        model.config().checkTraining(cfg.binarization(), cfg.warmupEpochs());
        int d = train.dim();
        if (d != model.config().inputDim()) {
            throw new IllegalArgumentException("training data has " + d + " pixels per example, the model expects "
                    + model.config().inputDim());
        }
        if (train.n() == 0) throw new IllegalArgumentException("training data is empty");
        Backend be = model.backend();
        LabelUse use = model.config().labelUse();
        int classes = model.config().classes();
        if (use == LabelUse.SOME && (cfg.labelled() < 1 || cfg.labelled() > train.n())) {
            throw new IllegalArgumentException("a semi-supervised model needs 1.." + train.n()
                    + " labelled examples, got " + cfg.labelled() + " (TrainConfig.builder().labelled(n))");
        }
        this.model = model;
        this.cfg = cfg;
        this.train = new DeviceDataset(be, train, use == LabelUse.ALL ? classes : 0);
        this.test = test == null ? null : new DeviceDataset(be, test, use == LabelUse.NONE ? 0 : classes);
        this.labelled = use == LabelUse.SOME ? new DeviceDataset(be, pickLabelled(train, classes, cfg), classes) : null;
        this.adam = new Adam(model.parameters(), cfg.adam());
        int batch = Math.min(cfg.batchSize(), train.n());
        this.pass = model.trainStep(batch);
        this.x = be.alloc(model.dtype(), batch, d);
        this.y = use == LabelUse.ALL ? be.alloc(model.dtype(), batch, classes) : null;
        int lb = labelled == null ? 0 : Math.min(cfg.batchSize(), labelled.size());
        this.xl = labelled == null ? null : be.alloc(model.dtype(), lb, d);
        this.yl = labelled == null ? null : be.alloc(model.dtype(), lb, classes);
        this.lossAcc = be.alloc(DType.F64, 1);
        this.guard = new FiniteGuard(model);
    }

    /**
     * The labelled subset of a semi-supervised run: {@code cfg.labelled()} examples, as balanced over
     * the classes as the count allows, the first of each class in a permutation drawn from the seed.
     */
    static Dataset pickLabelled(Dataset train, int classes, TrainConfig cfg) {
        if (!train.hasLabels()) throw new IllegalArgumentException("a semi-supervised model needs labels; the data set has none");
        int n = train.n(), want = cfg.labelled();
        int[] perm = Philox.permutation(new RngKey(cfg.seed(), Streams.LABELLED_PICK, 0), n);
        int[] quota = new int[classes];
        for (int c = 0; c < classes; c++) quota[c] = want / classes + (c < want % classes ? 1 : 0);
        int[] picked = new int[want];
        int k = 0;
        for (int i = 0; i < n && k < want; i++) {
            int c = train.label(perm[i]);
            if (c >= classes) {
                throw new IllegalArgumentException("example " + perm[i] + " has label " + c + ", the model knows " + classes + " classes");
            }
            if (quota[c] > 0) {
                quota[c]--;
                picked[k++] = perm[i];
            }
        }
        if (k < want) {
            int short_ = 0;
            while (quota[short_] == 0) short_++;
            int have = 0;
            for (int i = 0; i < n; i++) if (train.label(i) == short_) have++;
            int need = want / classes + (short_ < want % classes ? 1 : 0);
            throw new IllegalArgumentException("class " + short_ + " has " + have + " training example" + (have == 1 ? "" : "s")
                    + ", fewer than the " + need + " that " + want + " labelled examples balanced over " + classes
                    + " classes take from it" + (have == 0 ? " (does the data have " + classes + " classes?)" : ""));
        }
        java.util.Arrays.sort(picked);
        return train.pick(picked);
    }

    /**
     * What to do when a step's loss or gradients are NaN or infinite (default {@link NanPolicy#STOP}).
     * The check runs before every update; see {@link NanPolicy}.
     */
    public Trainer onNonFinite(NanPolicy policy) {
        java.util.Objects.requireNonNull(policy, "policy");
        if (replay != null && policy != nanPolicy) {   // the replayed step's guard holds the policy
            sync();
            replay.close();
            replay = null;
        }
        this.nanPolicy = policy;
        return this;
    }

    /**
     * Whether the CUDA backend may replay each step as one captured graph (default true; the CPU
     * backend always runs the eager loop, as do the models {@code ReplayedStep} does not cover).
     * Both give the same bits; the eager loop names the first non-finite tensor of every skipped
     * step, a replayed one only the sum (the loss term, the gradients or the parameters).
     */
    public Trainer graph(boolean enabled) {
        if (replay != null && !enabled) {
            sync();
            replay.close();
            replay = null;
        }
        this.graph = enabled;
        return this;
    }

    /** True when the current epoch replays its steps as a CUDA graph. */
    public boolean replaysSteps() {
        // A skipped batch shifts Adam's steps against the batches' positions, which only a schedule
        // that changes within an epoch would notice: that combination stays eager.
        return graph && ReplayedStep.supports(model, pass)
                && !(nanPolicy == NanPolicy.SKIP && cfg.schedule().variesWithinEpoch());
    }

    /** Batches dropped by {@link NanPolicy#SKIP} since this trainer was created. */
    public long skippedSteps() {
        sync();
        return skipped;
    }

    /** The model being trained (not owned: close it yourself). */
    public Model model() {
        return model;
    }

    /**
     * The test set as uploaded to the model's backend (with its labels where the model uses labels),
     * for evaluations after training that should not upload it again; null without a test set.
     * Owned by the trainer: valid until it is closed.
     */
    public DeviceDataset testData() {
        return test;
    }

    /** The optimizer; with a replayed step in flight, first brings its step count up to date (a read). */
    public Adam optimizer() {
        sync();
        return adam;
    }

    /** The training settings, as given. */
    public TrainConfig config() {
        return cfg;
    }

    /** Epochs completed (0-based index of the current epoch). */
    public int epoch() {
        return epoch;
    }

    /** Batches of the current epoch already done. */
    public int batchInEpoch() {
        return batchInEpoch;
    }

    /** Batches per epoch (the last one may be smaller). */
    public int stepsPerEpoch() {
        return (int) (((long) train.size() + cfg.batchSize() - 1) / cfg.batchSize()); // long: a batch near 2^31
    }

    /** Moves to a saved position; the caller restores parameters and optimizer state. */
    public void restorePosition(int epoch, int batchInEpoch) {
        if (epoch < 0 || batchInEpoch < 0 || batchInEpoch > stepsPerEpoch()) {
            throw new IllegalArgumentException("invalid training position: epoch " + epoch + ", batch " + batchInEpoch);
        }
        this.epoch = epoch;
        this.batchInEpoch = batchInEpoch;
    }

    /**
     * The training step's own state by name ({@link TrainStep#state()}: e.g. PCD's persistent
     * chains), live views; what a checkpoint saves besides parameters, optimizer and position.
     */
    public java.util.Map<String, Tensor> stepState() {
        return pass.state();
    }

    /** Puts back one tensor of {@link #stepState()}; see {@link TrainStep#restoreState}. */
    public void restoreStepState(String name, int[] shape, float[] values) {
        pass.restoreState(name, shape, values);
    }

    /**
     * Asks {@link #run} or {@link #runEpoch} to return at the next step boundary: the step in flight
     * (on a GPU, the replayed step launched last) completes, its update applied and
     * {@link TrainListener#step} called for it, and no further step starts. Safe from any thread,
     * a signal handler included: it only sets a flag. A request made while no run is in progress
     * holds for the next call, which then returns without a step; {@code run} and
     * {@code runEpoch} clear the request when they return, whether it stopped them or came too late
     * (during the run's last step: the run finished).
     *
     * <p>After the stop the trainer is at a step boundary: {@link #epoch()}, {@link #batchInEpoch()}
     * and the optimizer's step count say where, {@code Checkpoint.save} writes a checkpoint that
     * resumes bit for bit, and {@code run} again continues the run as if it had not stopped (the
     * interrupted epoch's {@link EpochResult} then covers the steps after the stop, as after a
     * resume). A request during an epoch's last step lets that epoch end as usual (test figures,
     * {@link TrainListener#epochEnd}); {@code run} then returns before the next one.
     */
    public void requestStop() {
        stopRequested = true;
    }

    /**
     * Whether the last {@link #run} or {@link #runEpoch} returned because of {@link #requestStop}
     * before its work was done ({@code run}: before {@code cfg.epochs()} epochs; {@code runEpoch}:
     * before the epoch's last batch); false while none has returned.
     */
    public boolean stopped() {
        return stopped;
    }

    /**
     * {@link #run(TrainListener)} with no listener: trains silently, e.g.
     * {@code trainer.run().getLast().testElbo()} is the last epoch's test objective.
     */
    public List<EpochResult> run() {
        return run(new TrainListener() { });
    }

    /**
     * Trains until {@code cfg.epochs()} epochs are complete or a {@link #requestStop} stops it
     * ({@link #stopped()}); returns the epochs this call completed.
     */
    public List<EpochResult> run(TrainListener listener) {
        if (closed) throw new IllegalStateException("this Trainer was closed; create a new one (and restore a checkpoint) to train on");
        stopped = false;
        try {
            List<EpochResult> results = new ArrayList<>();
            while (epoch < cfg.epochs()) {
                EpochResult r = epoch(listener);
                if (r == null) {
                    stopped = true;
                    break;
                }
                results.add(r);
            }
            return results;
        } finally {
            stopRequested = false;
        }
    }

    /**
     * Runs (the rest of) the current epoch; returns its figures, or null when a
     * {@link #requestStop} stopped it before its last batch ({@link #stopped()} is then true).
     */
    public EpochResult runEpoch(TrainListener listener) {
        stopped = false;
        try {
            EpochResult r = epoch(listener);
            stopped = r == null;
            return r;
        } finally {
            stopRequested = false;
        }
    }

    /** {@link #runEpoch} without the stop request's bookkeeping; null: stopped at a step boundary. */
    private EpochResult epoch(TrainListener listener) {
        if (closed) throw new IllegalStateException("this Trainer was closed; create a new one (and restore a checkpoint) to train on");
        if (model.parameters().isClosed()) {
            throw new IllegalStateException("the " + model.config().type() + " model of this Trainer was closed before the Trainer");
        }
        if (listener == null) throw new IllegalArgumentException("listener must not be null; pass new TrainListener() {} for none");
        if (stopRequested) return null;
        Backend be = model.backend();
        int n = train.size(), steps = stepsPerEpoch();
        train.order(Philox.permutation(new RngKey(cfg.seed(), Streams.SHUFFLE, epoch), n));
        if (labelled != null) {
            labelled.order(Philox.permutation(new RngKey(cfg.seed(), Streams.LABELLED_SHUFFLE, epoch), labelled.size()));
        }
        if (replaysSteps()) return runEpochReplayed(listener);
        RngKey binarize = cfg.binarization() == Binarization.FIXED
                ? new RngKey(cfg.seed(), Streams.FIXED_BINARIZE, 0)
                : new RngKey(cfg.seed(), Streams.BINARIZE, epoch);
        int lbatches = 0;
        RngKey binarizeLabelled = null;
        if (labelled != null) {
            lbatches = (labelled.size() + xl.rows() - 1) / xl.rows();
            binarizeLabelled = new RngKey(cfg.seed(), Streams.LABELLED_BINARIZE,
                    cfg.binarization() == Binarization.FIXED ? 0 : epoch + 1L);
        }
        be.fill(lossAcc, 0);
        int seen = 0;
        seenInEpoch = 0;
        listener.epochStart(epoch, steps, batchInEpoch);
        long t0 = System.nanoTime();
        for (; batchInEpoch < steps; ) {
            int from = Math.multiplyExact(batchInEpoch, cfg.batchSize()); // below n: the batch starts inside the data
            int b = Math.min(cfg.batchSize(), n - from);
            Tensor xb = x.rowSlice(0, b);
            train.gather(from, cfg.binarization(), binarize, xb);
            Tensor yb = null, xlb = null, ylb = null;
            if (y != null) {
                yb = y.rowSlice(0, b);
                train.gatherLabels(from, yb);
            }
            if (labelled != null) {
                int lfrom = (batchInEpoch % lbatches) * xl.rows(), lb = Math.min(xl.rows(), labelled.size() - lfrom);
                xlb = xl.rowSlice(0, lb);
                ylb = yl.rowSlice(0, lb);
                labelled.gather(lfrom, cfg.binarization(), binarizeLabelled, xlb);
                labelled.gatherLabels(lfrom, ylb);
            }
            pass.klWeight(cfg.klWeight(epoch + (double) batchInEpoch / steps));
            adam.learningRate(cfg.learningRate(epoch, batchInEpoch, steps));
            pass.run(new Batch(xb, yb, xlb, ylb), new RngKey(cfg.seed(), Streams.LATENT, adam.steps()));
            listener.gradientsReady(epoch, batchInEpoch + 1, adam.steps() + 1);
            if (guard.stepIsFinite(pass)) {
                adam.step();
                if (!guard.parametersFinite()) updateOverflowed();
                pass.accumulateLoss(lossAcc);
                seen += b;
                seenInEpoch = seen;
            } else {
                nonFinite(listener);
            }
            batchInEpoch++;
            listener.step(epoch, batchInEpoch, adam.steps());
            if (stopRequested && batchInEpoch < steps) return null;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double trainElbo = seen == 0 ? Double.NaN : -be.sum(lossAcc) / seen;
        return finishEpoch(be, trainElbo, seconds, listener);
    }

    /** The test figures, the epoch count moved on, the listener told. */
    private EpochResult finishEpoch(Backend be, double trainElbo, double seconds, TrainListener listener) {
        double testElbo = Double.NaN;
        java.util.Map<String, Double> metrics = java.util.Map.of();
        if (test != null) {
            Model.TestFigures f = model.testFigures(test, cfg.binarization(), cfg.seed());
            testElbo = f.objective();
            metrics = f.metrics();
        }
        epoch++;
        batchInEpoch = 0;
        EpochResult r = new EpochResult(epoch, adam.steps(), trainElbo, testElbo, seconds, metrics);
        listener.epochEnd(r);
        return r;
    }

    /**
     * {@link #runEpoch} with each step one graph launch. The host reads the device only in
     * {@link #sync}: at the epoch's end and whenever a caller asks for what the device holds (a
     * progress refresh, a checkpoint). {@link TrainListener#step} gets the step count the run has if
     * no step was skipped since the last read; {@link TrainListener#gradientsReady} is not called
     * (there is no host moment between the backward pass and the update).
     */
    private EpochResult runEpochReplayed(TrainListener listener) {
        Backend be = model.backend();
        int n = train.size(), steps = stepsPerEpoch();
        if (replay == null) {
            replay = new ReplayedStep(model, pass, train, x, y, labelled, xl, yl, adam, cfg, nanPolicy == NanPolicy.SKIP, steps);
            replayGuardSkipped = 0;
        }
        replay.beginEpoch(epoch, batchInEpoch, steps);
        replayStepAtStart = adam.steps();
        replayBatchAtStart = batchInEpoch;
        replaySkippedAtStart = skipped;
        replaySkippedSeen = 0;
        replaySkipsReported = 0;
        replayLossSum = 0;
        replayListener = listener;
        seenInEpoch = 0;
        replayPending = true;
        replayUnread = 0;
        listener.epochStart(epoch, steps, batchInEpoch);
        long t0 = System.nanoTime();
        long launched = 0;
        try {
            for (; batchInEpoch < steps; ) {
                int from = Math.multiplyExact(batchInEpoch, cfg.batchSize());
                int rows = Math.min(cfg.batchSize(), n - from);
                // The Adam step before this one if nothing was skipped since the last read; where the
                // step's launch sequence changes (a DBN's next stage, PCD's chains starting) a skip
                // could make that wrong, so under the skip policy the host reads the step there first.
                long step = replayStepAtStart + launched - (skipped - replaySkippedAtStart);
                if (nanPolicy == NanPolicy.SKIP && replayUnread > 0 && replay.sequenceChanges(rows, step)) {
                    sync();
                    step = replayStepAtStart + launched - (skipped - replaySkippedAtStart);
                }
                replay.launch(batchInEpoch, rows, step);
                replayUnread++;
                batchInEpoch++;
                launched++;
                listener.step(epoch, batchInEpoch, replayStepAtStart + launched - (skipped - replaySkippedAtStart));
                if (stopRequested && batchInEpoch < steps) {
                    sync(); // the launched steps complete: the host's position, steps and skips are the device's
                    return null;
                }
            }
            sync();
        } finally {
            replayPending = false;
            replayListener = null;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double trainElbo = seenInEpoch == 0 ? Double.NaN : -replayLossSum / seenInEpoch;
        return finishEpoch(be, trainElbo, seconds, listener);
    }

    /**
     * Brings the host's view up to date with a replayed epoch in flight: one read of the guard
     * (the Adam step, summed loss and examples, skipped steps, a stop, the parameters' sum for an
     * update that overflowed on the last step, the gathers' error word: one asynchronous copy into
     * pinned memory and one event wait), and, where steps were skipped since the last read, the
     * epoch's skip log. Raises the eager loop's errors for what it finds. No-op otherwise.
     */
    private void sync() {
        if (!replayPending) return;
        StepGuard.Readout r = replay.read();
        replayUnread = 0;
        if (r.tableMiss()) throw new IllegalStateException("a replayed step found no Adam constants for its step (a bug)");
        adam.setSteps(r.step());
        seenInEpoch = (int) r.examples();
        replayLossSum = r.lossSum();
        if (r.skipped() != replayGuardSkipped) {        // the guard counts over its lifetime
            skipped += r.skipped() - replayGuardSkipped;
            replayGuardSkipped = r.skipped();
            replaySkippedSeen = skipped - replaySkippedAtStart;
            reportSkips();
        }
        if (r.stopped()) {
            replayPending = false;
            if (replay.sumName(r.badSum()).equals("parameters") && r.badStep() - 1 > replayStepAtStart) {
                overflowAt(r.badStep() - 1);
            }
            long step = r.badStep();
            int batch = batchOfStep(step);
            replay.rerun(epoch, batch, step - 1);
            batchInEpoch = batch;
            nonFinite(replayListener == null ? new TrainListener() { } : replayListener);
            throw new IllegalStateException("a replayed step stopped on a finite batch (a bug): step " + step);
        }
        if (!Double.isFinite(r.alsoSum())) {   // the parameters' sum: the last update, which no check has seen
            replayPending = false;
            overflowAt(r.step());
        }
    }

    /** The update of {@code step} overflowed: the eager loop's error for it. */
    private void overflowAt(long step) {
        adam.setSteps(step);
        batchInEpoch = batchOfStep(step);
        updateOverflowed();
    }

    /**
     * The 0-based batch of the current epoch that took Adam step {@code step} (or would have: a
     * stopped step), from the epoch's first step and the batches the skip log says were skipped.
     */
    private int batchOfStep(long step) {
        int[] log = replaySkippedSeen > 0 ? replay.skipLog() : null;
        long s = replayStepAtStart;
        for (int b = replayBatchAtStart; b < stepsPerEpoch(); b++) {
            if (log != null && b < log.length && log[b] != 0) continue;
            if (++s == step) return b;
        }
        throw new IllegalStateException("step " + step + " is not in epoch " + (epoch + 1) + " of the replayed run (a bug)");
    }

    /** Tells the listener about the skipped batches the last read found, as the eager loop does at each. */
    private void reportSkips() {
        int[] log = replay.skipLog();
        TrainListener l = replayListener == null ? new TrainListener() { } : replayListener;
        long s = replayStepAtStart;
        int seen = 0;
        for (int b = replayBatchAtStart; b < log.length && b < batchInEpoch; b++) {
            if (log[b] == 0) {
                s++;
                continue;
            }
            if (seen++ < replaySkipsReported) continue;
            replaySkipsReported++;
            l.stepSkipped(epoch, b + 1, s + 1, replay.sumName(log[b] - 1)
                    + " (non-finite sum; a replayed step is not read back: --no-graph names the first bad value)");
        }
    }

    /** Stops or skips a step whose loss or gradients are not finite; the update has not been applied. */
    private void nonFinite(TrainListener listener) {
        long step = adam.steps() + 1;
        String what = guard.diagnose(pass);
        if (nanPolicy == NanPolicy.SKIP && !what.startsWith("parameter ")) {
            skipped++;
            listener.stepSkipped(epoch, batchInEpoch + 1, step, what);
            return;
        }
        String where = String.format(java.util.Locale.ROOT, "step %d (epoch %d, batch %d of %d)", step, epoch + 1,
                batchInEpoch + 1, stepsPerEpoch());
        String msg = "non-finite values at " + where + ": " + what + "; the update was not applied"
                + (nanPolicy == NanPolicy.SKIP ? " (skipping cannot get past a non-finite parameter)" : "")
                + "; the parameters are those after step " + (step - 1);
        throw new NonFiniteException(msg, step, FiniteGuard.nameOf(what));
    }

    /**
     * The update of a step whose loss and gradients were finite made a parameter non-finite (a
     * learning rate or weight decay too large for float32, or a non-finite optimizer moment). The
     * parameters in memory are lost, so this stops under every policy; no checkpoint is written
     * from them ({@link Checkpoint#save} refuses non-finite tensors too).
     */
    private void updateOverflowed() {
        long step = adam.steps();
        String what = guard.diagnose(pass);
        String where = String.format(java.util.Locale.ROOT, "step %d (epoch %d, batch %d of %d)", step, epoch + 1,
                batchInEpoch + 1, stepsPerEpoch());
        throw new NonFiniteException("non-finite values after the update of " + where + ": " + what
                + "; the loss and gradients were finite, the update itself overflowed (learning rate " + cfg.adam().lr()
                + ", weight decay " + cfg.adam().weightDecay() + ")"
                + (nanPolicy == NanPolicy.SKIP ? "; skipping cannot undo an update" : "")
                + "; the parameters after step " + (step - 1) + " are lost unless a checkpoint holds them", step,
                FiniteGuard.nameOf(what));
    }

    /**
     * Frees what the trainer allocated (its copies of the data, batch buffers, Adam's moments, the training
     * step, a captured CUDA graph); idempotent. The model stays open: the caller closes it.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (replay != null) replay.close();
        pass.close();
        x.close();
        for (Tensor t : new Tensor[]{y, xl, yl}) if (t != null) t.close();
        if (labelled != null) labelled.close();
        lossAcc.close();
        adam.close();
        train.close();
        if (test != null) test.close();
    }

    /**
     * The training objective (the ELBO for a VAE; nats per example, higher is better) averaged over
     * the current epoch's steps so far, NaN before the first: what a progress bar shows. Call it from
     * {@link TrainListener#step}; on a GPU it waits for the device, so call it a few times a second,
     * not every step.
     */
    public double runningObjective() {
        if (replayPending) {
            sync();
            return seenInEpoch == 0 ? Double.NaN : -replayLossSum / seenInEpoch;
        }
        return seenInEpoch == 0 ? Double.NaN : -model.backend().sum(lossAcc) / seenInEpoch;
    }
}
