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
 * <p>Used for the models whose step is a fixed launch sequence with no host read: the VAE family
 * (every likelihood, IWAE, planar flows, a KL warm-up), the CVAE (its labels gathered at the same
 * cursor), M2 (its labelled sub-batch b mod L at a cycling cursor), the autoencoders (plain,
 * denoising, sparse) and NICE; see {@link #supports}.
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
    /** The loss terms of the last captured step's plan. */
    private int lossTerms;
    /** Slot: unlabelled batch full (0) or short (1), plus 2 for a short labelled sub-batch. */
    private final CudaGraph[] graphs = new CudaGraph[4];
    private final int[] graphRows = new int[4], graphLabelledRows = new int[4];

    /**
     * Whether the trainer can replay this model's step (else it runs the eager loop): a step that
     * offers its loss terms ({@link TrainStep#accumulatedTerms}: the VAE family, the CVAE, M2, the
     * autoencoders, the plain-CD RBM and NICE) on the CUDA backend, F32.
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

    /** Enqueues the step of batch {@code batchInEpoch} (0-based; the device cursor must be there). */
    void launch(int batchInEpoch) {
        int rows = rowsOf(batchInEpoch), lrows = labelledRowsOf(batchInEpoch);
        int slot = (rows == x.rows() ? 0 : 1) + (labelled != null && lrows != xl.rows() ? 2 : 0);
        if (graphs[slot] == null || graphRows[slot] != rows || graphLabelledRows[slot] != lrows) {
            if (graphs[slot] != null) graphs[slot].close();
            graphs[slot] = null;
            graphs[slot] = capture(rows, lrows);
            graphRows[slot] = rows;
            graphLabelledRows[slot] = lrows;
        }
        graphs[slot].launch();
    }

    /**
     * Captures the step for {@code rows} examples. The pass runs once eagerly first (its scratch
     * buffers, and the reductions', exist before the capture: nothing may allocate during one);
     * the noise and binarisation steps are bound to device counters only while capturing, so an
     * eager call in between (an evaluation, a diagnosis) uses its own keys.
     */
    private CudaGraph capture(int rows, int lrows) {
        Parameters ps = model.parameters();
        Tensor xb = x.rowSlice(0, rows);
        RngKey latent = new RngKey(cfg.seed(), Streams.LATENT, 0);
        RngKey binarize = binarizeKey(0), lbinarize = labelledBinarizeKey(0);
        Tensor yb = y == null ? null : y.rowSlice(0, rows);
        Tensor xlb = labelled == null ? null : xl.rowSlice(0, lrows), ylb = labelled == null ? null : yl.rowSlice(0, lrows);
        train.gather(0, cfg.binarization(), binarize, xb);
        if (yb != null) train.gatherLabels(0, yb);
        if (xlb != null) {
            labelled.gather(0, cfg.binarization(), lbinarize, xlb);
            labelled.gatherLabels(0, ylb);
        }
        pass.run(new Batch(xb, yb, xlb, ylb), latent);
        gpu.allFinite(ps.values());
        gpu.sum(ps.grads());
        Tensor[] terms = pass.accumulatedTerms();
        double[] scales = pass.accumulatedScales().clone();
        // the KL term's scale: the device's per-batch weight times the shape's factor (StepGuard.scaleFrom)
        if (klScale != null && pass.klTerm() < scales.length) scales[pass.klTerm()] = pass.klTermFactor();
        guard.plan(terms, scales, rows, new Tensor[]{ps.grads(), ps.values()}, PARAMETERS);
        lossTerms = terms.length;
        gpu.bindRngStep(Streams.LATENT, guard.step());
        gpu.bindRngStep(Streams.CORRUPT, guard.step());   // a denoising autoencoder's noise: (seed, CORRUPT, the latent key's step)
        gpu.bindRngStep(Streams.LABELLED_LATENT, guard.step());   // M2's labelled half: (seed, LABELLED_LATENT, the latent key's step)
        if (cfg.binarization() == Binarization.DYNAMIC) {
            gpu.bindRngStep(Streams.BINARIZE, epochCounter);
            if (labelledEpochCounter != null) gpu.bindRngStep(Streams.LABELLED_BINARIZE, labelledEpochCounter);
        }
        if (klScale != null) gpu.bindKlWeight(klScale.cell());
        try {
            return gpu.capture(() -> {
                if (klScale != null) klScale.select(cursor.cursor());
                cursor.select(train.orderOnDevice(), rows);
                train.gatherRows(cursor.indices(rows), cfg.binarization(), binarize, xb);
                if (yb != null) train.gatherLabelRows(cursor.indices(rows), yb);
                if (xlb != null) {
                    labelledCursor.select(labelled.orderOnDevice(), lrows);
                    labelled.gatherRows(labelledCursor.indices(lrows), cfg.binarization(), lbinarize, xlb);
                    labelled.gatherLabelRows(labelledCursor.indices(lrows), ylb);
                }
                pass.run(new Batch(xb, yb, xlb, ylb), latent);
                guard.check();
                guard.adam(ps.values(), ps.grads(), adam.m(), adam.v(), cfg.adam());
                cursor.cursor().add(1);
            });
        } finally {
            gpu.bindRngStep(Streams.LATENT, null);
            gpu.bindRngStep(Streams.CORRUPT, null);
            gpu.bindRngStep(Streams.LABELLED_LATENT, null);
            gpu.bindRngStep(Streams.BINARIZE, null);
            gpu.bindRngStep(Streams.LABELLED_BINARIZE, null);
            gpu.bindKlWeight(null);
        }
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
        for (CudaGraph g : graphs) if (g != null) g.close();
        if (labelledCursor != null) labelledCursor.close();
        if (labelledEpochCounter != null) labelledEpochCounter.close();
        cursor.close();
        if (klScale != null) klScale.close();
        epochCounter.close();
        guard.close();
    }
}
