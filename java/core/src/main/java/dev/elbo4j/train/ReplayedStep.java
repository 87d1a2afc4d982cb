package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cuda.BatchCursor;
import dev.elbo4j.backend.cuda.BatchScalar;
import dev.elbo4j.backend.cuda.CudaBackend;
import dev.elbo4j.backend.cuda.CudaGraph;
import dev.elbo4j.backend.cuda.DeviceCounter;
import dev.elbo4j.backend.cuda.StepGuard;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.model.Batch;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.TrainStep;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;

/**
 * A {@link Trainer}'s step as a CUDA graph: the batch selected at a device cursor and gathered,
 * forward and backward, the finite check and the guarded Adam ({@link StepGuard}), captured once
 * per batch shape (the full batch, and the short last batch when the data has one; for M2 each
 * pair of unlabelled and labelled batch shapes that occurs, the labelled sub-batch selected by a
 * second cursor that cycles at the first's batch number) and replayed with one
 * {@code cuGraphLaunch} per step. Everything that changes per step is in device memory:
 * the batch number ({@link BatchCursor}), the Adam and noise step (the guard's counter), the
 * binarisation epoch, Adam's constants (a per-step table uploaded once per epoch), the KL weight
 * (a per-batch table uploaded once per epoch, its entry selected at the cursor: {@link BatchScalar}).
 * The host learns what happened only at {@link #read()}.
 *
 * <p>Used for the models whose step reads nothing back: the VAE family (every likelihood, IWAE,
 * planar flows, a KL warm-up), the CVAE (its labels gathered at the same cursor), M2 (its labelled
 * sub-batch b mod L at a cycling cursor), the autoencoders (plain, denoising, sparse), NICE, the RBM
 * (CD and PCD), the DBN and the FVBM; see {@link #supports}. A step whose launches change at points the host
 * knows from the step count ({@link TrainStep#launchSequence}: a DBN's stage) gets a graph per
 * sequence, captured at its first step; a step that changes host-side state (PCD's chains starting
 * from the data) runs its launches eagerly, once, with the same device-side inputs.
 */
final class ReplayedStep implements AutoCloseable {
    /** Sums the guard checks besides the loss terms: the gradients, then the parameters. */
    static final int GRADIENTS = 0, PARAMETERS = 1;

    private final CudaBackend gpu;
    private final Model model;
    private final TrainStep pass;
    private final DeviceDataset train;
    private final Tensor x;
    /** The batch's one-hot labels (a model trained on labels, the CVAE); null without. */
    private final Tensor y;
    /** The labelled set of a semi-supervised model (M2), its batch buffers and cursor; null without. */
    private final DeviceDataset labelled;
    private final Tensor xl, yl;
    private final BatchCursor labelledCursor;
    /** The labelled gather's binarisation step (the epoch + 1, as the eager loop's key). */
    private final DeviceCounter labelledEpochCounter;
    private final int labelledBatches;
    private final Adam adam;
    private final TrainConfig cfg;
    private final StepGuard guard;
    private final BatchCursor cursor;
    private final DeviceCounter epochCounter;
    /** The second loss term's scale per batch (beta times the KL warm-up weight); null for a one-term loss. */
    private final BatchScalar klScale;
    private final double[] klScaleHost;
    private final int stepsPerEpoch;
    /** The loss terms of the last planned step (a DBN's stage may change them). */
    private int lossTerms;
    /** Slot: unlabelled batch full (0) or short (1), plus 2 for a short labelled sub-batch. */
    private final CudaGraph[] graphs = new CudaGraph[4];
    private final int[] graphRows = new int[4], graphLabelledRows = new int[4];
    /** The {@link TrainStep#launchSequence} the graphs held are of. */
    private int graphSequence = -1;

    /**
     * Whether the trainer can replay this model's step (else it runs the eager loop): a step that
     * offers its loss terms ({@link TrainStep#accumulatedTerms}: the VAE family, the CVAE, M2, the
     * autoencoders, NICE, the RBM, the DBN and the FVBM) on the CUDA backend, F32.
     */
    static boolean supports(Model model, TrainStep pass) {
        return model.backend() instanceof CudaBackend && pass.accumulatedScales() != null
                && model.dtype() == dev.elbo4j.tensor.DType.F32;
    }

    /**
     * @param y        the labels' buffer for a model trained on labels, else null
     * @param labelled the labelled set of a semi-supervised model ({@link LabelUse#SOME}), else null;
     *                 {@code xl}, {@code yl} its batch buffers (their rows: the full labelled sub-batch)
     */
    ReplayedStep(Model model, TrainStep pass, DeviceDataset train, Tensor x, Tensor y, DeviceDataset labelled,
                 Tensor xl, Tensor yl, Adam adam, TrainConfig cfg, boolean skipNonFinite, int stepsPerEpoch) {
        this.gpu = (CudaBackend) model.backend();
        this.model = model;
        this.pass = pass;
        this.train = train;
        this.x = x;
        this.y = y;
        this.labelled = labelled;
        this.xl = xl;
        this.yl = yl;
        this.labelledBatches = labelled == null ? 0 : (labelled.size() + xl.rows() - 1) / xl.rows();
        this.adam = adam;
        this.cfg = cfg;
        this.lossTerms = this.pass.accumulatedScales().length;
        this.stepsPerEpoch = stepsPerEpoch;
        StepGuard g = null;
        BatchCursor c = null, lc = null;
        BatchScalar k = null;
        DeviceCounter le = null;
        try {
            g = new StepGuard(gpu, skipNonFinite, adam.steps(), StepGuard.MAX_LOSS_TERMS + 1, stepsPerEpoch);
            c = new BatchCursor(gpu, x.rows());
            if (labelled != null) {
                lc = new BatchCursor(gpu, xl.rows(), c.cursor(), labelledBatches);
                le = gpu.counter(0);
            }
            // the guard reads the KL term's scale from the device; the latent, flow and bound kernels the same cell
            if (pass.klTerm() >= 0) k = new BatchScalar(gpu, stepsPerEpoch);
            this.epochCounter = gpu.counter(0);
        } catch (RuntimeException e) {
            if (k != null) k.close();
            if (le != null) le.close();
            if (lc != null) lc.close();
            if (c != null) c.close();
            if (g != null) g.close();
            throw e;
        }
        this.guard = g;
        this.cursor = c;
        this.labelledCursor = lc;
        this.labelledEpochCounter = le;
        this.klScale = k;
        this.klScaleHost = k == null ? null : new double[stepsPerEpoch];
        guard.logSkipsAt(cursor.cursor());
        if (k != null) guard.scaleFrom(pass.klTerm(), k.cell());
    }

    /** The key a gather binarises with (its step is the epoch, read from the device when dynamic). */
    private RngKey binarizeKey(int epoch) {
        return cfg.binarization() == Binarization.FIXED
                ? new RngKey(cfg.seed(), Streams.FIXED_BINARIZE, 0)
                : new RngKey(cfg.seed(), Streams.BINARIZE, epoch);
    }

    /** The labelled set's binarisation key, as the eager loop's (its step is epoch + 1, from the device when dynamic). */
    private RngKey labelledBinarizeKey(int epoch) {
        return new RngKey(cfg.seed(), Streams.LABELLED_BINARIZE, cfg.binarization() == Binarization.FIXED ? 0 : epoch + 1L);
    }

    /** The unlabelled rows of batch {@code b} (the last may be short). */
    private int rowsOf(int b) {
        return Math.min(cfg.batchSize(), train.size() - Math.multiplyExact(b, cfg.batchSize()));
    }

    /** The rows of labelled sub-batch {@code b mod L} (the last of the labelled set's L may be short); 0 without one. */
    private int labelledRowsOf(int b) {
        if (labelled == null) return 0;
        int from = (b % labelledBatches) * xl.rows();
        return Math.min(xl.rows(), labelled.size() - from);
    }

    /**
     * The device-side inputs of an epoch: the order (and the labelled set's) must already be on the
     * device ({@link DeviceDataset#order}); the cursor, the epoch, the Adam step and its constants
     * for the epoch's remaining batches, and zeroed accumulators and skip log.
     */
    void beginEpoch(int epoch, int batchInEpoch, int steps) {
        cursor.cursor().set(batchInEpoch);
        epochCounter.set(epoch);
        if (labelledEpochCounter != null) labelledEpochCounter.set(epoch + 1L);
        guard.setStep(adam.steps());
        guard.resetLoss();
        guard.resetSkipLog();
        // The table is indexed by Adam's step, the schedule by the batch's position: the two agree
        // while no batch is skipped (Trainer.replaysSteps keeps per-step schedules eager under skip).
        double[] lr = new double[Math.max(1, steps - batchInEpoch)];
        for (int i = 0; i < lr.length; i++) lr[i] = cfg.learningRate(epoch, batchInEpoch + i, steps);
        guard.schedule(cfg.adam(), adam.steps() + 1, lr);
        if (klScale != null) {
            // What the eager loop's pass would use at each batch: its accumulation scale for the KL
            // term (beta times the warm-up weight), which its latent and flow backward divide by
            // their rows exactly as the bound kernels do.
            for (int i = 0; i < steps; i++) {
                pass.klWeight(cfg.klWeight(epoch + (double) i / steps));
                klScaleHost[i] = pass.effectiveKlWeight();
            }
            klScale.upload(klScaleHost);
        }
    }

    /**
     * Enqueues the step of batch {@code batchInEpoch} (0-based; the device cursor must be there) of
     * {@code rows} examples; {@code step} is the Adam steps taken before it as the host knows them
     * (exact whenever the pass's {@link TrainStep#launchSequence} for it differs from the last
     * step's: see {@link #sequenceChanges}). A step of a new launch sequence drops the graphs of the
     * old one and captures its own; a step of sequence -1 (one that changes host-side state, e.g.
     * starts PCD's chains) runs the same launches eagerly.
     */
    void launch(int batchInEpoch, int rows, long step) {
        int lrows = labelledRowsOf(batchInEpoch);
        int sequence = pass.launchSequence(step, rows);
        if (sequence < 0) {
            runEagerly(rows, lrows, step);
            return;
        }
        if (sequence != graphSequence) {
            closeGraphs();
            graphSequence = sequence;
        }
        int slot = (rows == x.rows() ? 0 : 1) + (labelled != null && lrows != xl.rows() ? 2 : 0);
        if (graphs[slot] == null || graphRows[slot] != rows || graphLabelledRows[slot] != lrows) {
            if (graphs[slot] != null) graphs[slot].close();
            graphs[slot] = null;
            graphs[slot] = capture(rows, lrows, step);
            graphRows[slot] = rows;
            graphLabelledRows[slot] = lrows;
        }
        graphs[slot].launch();
    }

    /**
     * Whether the step {@code step} on {@code rows} rows is of another launch sequence than the
     * graphs held, or runs eagerly: then {@link #launch} needs the exact step (under the skip
     * policy the host must read it first, since a skipped step does not advance it).
     */
    boolean sequenceChanges(int rows, long step) {
        int sequence = pass.launchSequence(step, rows);
        return sequence < 0 || sequence != graphSequence;
    }

    private void closeGraphs() {
        for (int i = 0; i < graphs.length; i++) {
            if (graphs[i] != null) graphs[i].close();
            graphs[i] = null;
        }
    }

    /**
     * Captures the step for {@code rows} examples. The pass runs once eagerly first (its scratch
     * buffers, and the reductions', exist before the capture: nothing may allocate during one),
     * with its training state ({@link TrainStep#state()}, e.g. PCD's chains) saved before and put
     * back after, so that run leaves no trace; the noise and binarisation steps are bound to device
     * counters only while capturing, so an eager call in between (an evaluation, a diagnosis) uses
     * its own keys.
     */
    private CudaGraph capture(int rows, int lrows, long step) {
        Parameters ps = model.parameters();
        Tensor xb = x.rowSlice(0, rows);
        RngKey latent = new RngKey(cfg.seed(), Streams.LATENT, step);
        RngKey binarize = binarizeKey(0), lbinarize = labelledBinarizeKey(0);
        Tensor yb = y == null ? null : y.rowSlice(0, rows);
        Tensor xlb = labelled == null ? null : xl.rowSlice(0, lrows), ylb = labelled == null ? null : yl.rowSlice(0, lrows);
        java.util.List<Tensor[]> saved = new java.util.ArrayList<>();
        try {
            for (Tensor t : pass.state().values()) {
                Tensor copy = gpu.alloc(t.dtype(), t.shape());
                saved.add(new Tensor[]{t, copy});
                gpu.copy(t, copy);
            }
            train.gather(0, cfg.binarization(), binarize, xb);
            if (yb != null) train.gatherLabels(0, yb);
            if (xlb != null) {
                labelled.gather(0, cfg.binarization(), lbinarize, xlb);
                labelled.gatherLabels(0, ylb);
            }
            pass.run(new Batch(xb, yb, xlb, ylb), latent);
            gpu.allFinite(ps.values());
            gpu.sum(ps.grads());
            for (Tensor[] s : saved) gpu.copy(s[1], s[0]);
        } finally {
            for (Tensor[] s : saved) s[1].close();
        }
        planGuard(rows);
        bind();
        try {
            return gpu.capture(() -> {
                select(rows, lrows, binarize, lbinarize, xb, yb, xlb, ylb);
                pass.run(new Batch(xb, yb, xlb, ylb), latent);
                update();
            });
        } finally {
            unbind();
        }
    }

    /**
     * The step's launches for {@code rows} examples run eagerly (not captured) with the same
     * device-side inputs as a replay: for a step that changes host-side state (its launch
     * sequence is -1), whose run decides its launches on the host as the eager loop does.
     */
    private void runEagerly(int rows, int lrows, long step) {
        Tensor xb = x.rowSlice(0, rows);
        Tensor yb = y == null ? null : y.rowSlice(0, rows);
        Tensor xlb = labelled == null ? null : xl.rowSlice(0, lrows), ylb = labelled == null ? null : yl.rowSlice(0, lrows);
        RngKey binarize = binarizeKey(0), lbinarize = labelledBinarizeKey(0);
        bind();
        try {
            select(rows, lrows, binarize, lbinarize, xb, yb, xlb, ylb);
            pass.run(new Batch(xb, yb, xlb, ylb), new RngKey(cfg.seed(), Streams.LATENT, step));
            planGuard(rows);   // the loss terms of this run (a DBN's stage, the rows)
            update();
        } finally {
            unbind();
        }
    }

    private void planGuard(int rows) {
        Parameters ps = model.parameters();
        Tensor[] terms = pass.accumulatedTerms();
        double[] scales = pass.accumulatedScales().clone();
        // the KL term's scale: the device's per-batch weight times the shape's factor (StepGuard.scaleFrom)
        if (klScale != null && pass.klTerm() < scales.length) scales[pass.klTerm()] = pass.klTermFactor();
        guard.plan(terms, scales, rows, new Tensor[]{ps.grads(), ps.values()}, PARAMETERS);
        lossTerms = terms.length;
    }

    /** Device-side step inputs: the noise and binarisation steps, the KL weight cell. */
    private void bind() {
        gpu.bindRngStep(Streams.LATENT, guard.step());
        gpu.bindRngStep(Streams.CORRUPT, guard.step());   // a denoising autoencoder's noise: (seed, CORRUPT, the latent key's step)
        gpu.bindRngStep(Streams.LABELLED_LATENT, guard.step());   // M2's labelled half: (seed, LABELLED_LATENT, the latent key's step)
        if (cfg.binarization() == Binarization.DYNAMIC) {
            gpu.bindRngStep(Streams.BINARIZE, epochCounter);
            if (labelledEpochCounter != null) gpu.bindRngStep(Streams.LABELLED_BINARIZE, labelledEpochCounter);
        }
        if (klScale != null) gpu.bindKlWeight(klScale.cell());
    }

    private void unbind() {
        gpu.bindRngStep(Streams.LATENT, null);
        gpu.bindRngStep(Streams.CORRUPT, null);
        gpu.bindRngStep(Streams.LABELLED_LATENT, null);
        gpu.bindRngStep(Streams.BINARIZE, null);
        gpu.bindRngStep(Streams.LABELLED_BINARIZE, null);
        gpu.bindKlWeight(null);
    }

    /**
     * The batch at the device cursor gathered into xb (and its labels into yb), a semi-supervised
     * model's labelled sub-batch at the labelled cursor into xlb, ylb; the KL weight of that batch selected.
     */
    private void select(int rows, int lrows, RngKey binarize, RngKey lbinarize, Tensor xb, Tensor yb, Tensor xlb, Tensor ylb) {
        if (klScale != null) klScale.select(cursor.cursor());
        cursor.select(train.orderOnDevice(), rows);
        train.gatherRows(cursor.indices(rows), cfg.binarization(), binarize, xb);
        if (yb != null) train.gatherLabelRows(cursor.indices(rows), yb);
        if (xlb != null) {
            labelledCursor.select(labelled.orderOnDevice(), lrows);
            labelled.gatherRows(labelledCursor.indices(lrows), cfg.binarization(), lbinarize, xlb);
            labelled.gatherLabelRows(labelledCursor.indices(lrows), ylb);
        }
    }

    /** The guard's check, the guarded Adam, the cursor's advance. */
    private void update() {
        Parameters ps = model.parameters();
        guard.check();
        guard.adam(ps.values(), ps.grads(), adam.m(), adam.v(), cfg.adam());
        cursor.cursor().add(1);
    }

    /**
     * What the device recorded since {@link #beginEpoch}, with the parameters' sum (finite exactly
     * when every parameter is): one asynchronous copy into pinned memory and one event wait;
     * throws a gather index error.
     */
    StepGuard.Readout read() {
        return guard.read(model.parameters().values());
    }

    /** The epoch's skip log (entry b: 0, or 1 + the index of batch b's first non-finite sum). */
    int[] skipLog() {
        return guard.skipLog();
    }

    /** The name of the sum at {@code index} of the guard's plan (loss terms, gradients, parameters). */
    String sumName(int index) {
        if (index < lossTerms) {
            int i = 0;
            for (String name : pass.lossTerms().keySet()) {
                if (lossTermIndex(i++) == index) return name;
            }
            return "loss";
        }
        return index - lossTerms == GRADIENTS ? "gradients" : "parameters";
    }

    /**
     * Which of {@link TrainStep#lossTerms()} (in order) is the guard's loss sum number i: the
     * same position where the step names as many terms as it accumulates, else the accumulated
     * one is the last named (IWAE: reconstruction, log ratio, then the IWAE loss it sums).
     */
    private int lossTermIndex(int i) {
        int named = pass.lossTerms().size();
        if (named == lossTerms) return i;
        if (lossTerms == 1) return i == named - 1 ? 0 : -1;
        return named < lossTerms && i < named ? i : -1;   // M2: its last term, the constant log C, is not named
    }

    /**
     * Runs the step of batch {@code batchInEpoch} (0-based) eagerly from the current parameters
     * with the noise of Adam step {@code stepBefore} (not updating), so that the pass's loss
     * terms and gradients are those the replayed step saw: for naming the first non-finite tensor.
     */
    void rerun(int epoch, int batchInEpoch, long stepBefore) {
        int from = batchInEpoch * cfg.batchSize(), b = rowsOf(batchInEpoch);
        Tensor xb = x.rowSlice(0, b);
        Tensor yb = y == null ? null : y.rowSlice(0, b);
        train.gather(from, cfg.binarization(), binarizeKey(epoch), xb);
        if (yb != null) train.gatherLabels(from, yb);
        Tensor xlb = null, ylb = null;
        if (labelled != null) {
            int lb = labelledRowsOf(batchInEpoch), lfrom = (batchInEpoch % labelledBatches) * xl.rows();
            xlb = xl.rowSlice(0, lb);
            ylb = yl.rowSlice(0, lb);
            labelled.gather(lfrom, cfg.binarization(), labelledBinarizeKey(epoch), xlb);
            labelled.gatherLabels(lfrom, ylb);
        }
        pass.klWeight(cfg.klWeight(epoch + (double) batchInEpoch / stepsPerEpoch));
        pass.run(new Batch(xb, yb, xlb, ylb), new RngKey(cfg.seed(), Streams.LATENT, stepBefore));
    }

    Backend backend() {
        return gpu;
    }

    @Override
    public void close() {
        closeGraphs();
        if (labelledCursor != null) labelledCursor.close();
        if (labelledEpochCounter != null) labelledEpochCounter.close();
        cursor.close();
        if (klScale != null) klScale.close();
        epochCounter.close();
        guard.close();
    }
}
