package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cuda.BatchCursor;
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
 * per batch shape (the full batch, and the short last batch when the data has one) and replayed
 * with one {@code cuGraphLaunch} per step. Everything that changes per step is in device memory:
 * the batch number ({@link BatchCursor}), the Adam and noise step (the guard's counter), the
 * binarisation epoch, Adam's constants (a per-step table uploaded once per epoch). The host
 * learns what happened only at {@link #read()}.
 *
 * <p>Used for the models whose step is a fixed launch sequence with no host read: the VAE family
 * (every likelihood, IWAE, planar flows) without labels and with a constant KL weight, and NICE;
 * see {@link #supports}.
 */
final class ReplayedStep implements AutoCloseable {
    /** Sums the guard checks besides the loss terms: the gradients, then the parameters. */
    static final int GRADIENTS = 0, PARAMETERS = 1;

    private final CudaBackend gpu;
    private final Model model;
    private final TrainStep pass;
    private final DeviceDataset train;
    private final Tensor x;
    private final Adam adam;
    private final TrainConfig cfg;
    private final StepGuard guard;
    private final BatchCursor cursor;
    private final DeviceCounter epochCounter;
    private final int lossTerms;
    private final CudaGraph[] graphs = new CudaGraph[2];   // full batch, short last batch
    private final int[] graphRows = new int[2];

    /**
     * Whether the trainer can replay this model's step in {@code epoch} (else it runs the eager
     * loop): a step that offers its loss terms ({@link TrainStep#accumulatedTerms}: the VAE
     * family and NICE) of a model without labels on the CUDA backend, in an epoch whose KL weight
     * is 1 throughout (the KL warm-up's epochs run eagerly: the weight is a launch argument, which
     * a graph freezes).
     */
    static boolean supports(Model model, TrainStep pass, TrainConfig cfg, int epoch) {
        return model.backend() instanceof CudaBackend && pass.accumulatedScales() != null
                && model.config().labelUse() == LabelUse.NONE && cfg.klWeight(epoch) >= 1
                && model.dtype() == dev.elbo4j.tensor.DType.F32;
    }

    ReplayedStep(Model model, TrainStep pass, DeviceDataset train, Tensor x, Adam adam, TrainConfig cfg,
                 boolean skipNonFinite, int stepsPerEpoch) {
        this.gpu = (CudaBackend) model.backend();
        this.model = model;
        this.pass = pass;
        this.train = train;
        this.x = x;
        this.adam = adam;
        this.cfg = cfg;
        this.pass.klWeight(1);    // the weight of every replayed epoch (supports)
        this.lossTerms = this.pass.accumulatedScales().length;
        StepGuard g = null;
        BatchCursor c = null;
        try {
            g = new StepGuard(gpu, skipNonFinite, adam.steps(), lossTerms + 1, stepsPerEpoch);
            c = new BatchCursor(gpu, x.rows());
            this.epochCounter = gpu.counter(0);
        } catch (RuntimeException e) {
            if (c != null) c.close();
            if (g != null) g.close();
            throw e;
        }
        this.guard = g;
        this.cursor = c;
        guard.logSkipsAt(cursor.cursor());
    }

    /** The key a gather binarises with (its step is the epoch, read from the device when dynamic). */
    private RngKey binarizeKey(int epoch) {
        return cfg.binarization() == Binarization.FIXED
                ? new RngKey(cfg.seed(), Streams.FIXED_BINARIZE, 0)
                : new RngKey(cfg.seed(), Streams.BINARIZE, epoch);
    }

    /**
     * The device-side inputs of an epoch: the order must already be on the device
     * ({@link DeviceDataset#order}); the cursor, the epoch, the Adam step and its constants for the
     * epoch's remaining batches, and zeroed accumulators and skip log.
     */
    void beginEpoch(int epoch, int batchInEpoch, int steps) {
        cursor.cursor().set(batchInEpoch);
        epochCounter.set(epoch);
        guard.setStep(adam.steps());
        guard.resetLoss();
        guard.resetSkipLog();
        // The table is indexed by Adam's step, the schedule by the batch's position: the two agree
        // while no batch is skipped (Trainer.replaysSteps keeps per-step schedules eager under skip).
        double[] lr = new double[Math.max(1, steps - batchInEpoch)];
        for (int i = 0; i < lr.length; i++) lr[i] = cfg.learningRate(epoch, batchInEpoch + i, steps);
        guard.schedule(cfg.adam(), adam.steps() + 1, lr);
    }

    /** Enqueues one step of {@code rows} examples (the batch at the device cursor). */
    void launch(int rows) {
        int slot = rows == x.rows() ? 0 : 1;
        if (graphs[slot] == null || graphRows[slot] != rows) {
            if (graphs[slot] != null) graphs[slot].close();
            graphs[slot] = null;
            graphs[slot] = capture(rows);
            graphRows[slot] = rows;
        }
        graphs[slot].launch();
    }

    /**
     * Captures the step for {@code rows} examples. The pass runs once eagerly first (its scratch
     * buffers, and the reductions', exist before the capture: nothing may allocate during one);
     * the noise and binarisation steps are bound to device counters only while capturing, so an
     * eager call in between (an evaluation, a diagnosis) uses its own keys.
     */
    private CudaGraph capture(int rows) {
        Parameters ps = model.parameters();
        Tensor xb = x.rowSlice(0, rows);
        RngKey latent = new RngKey(cfg.seed(), Streams.LATENT, 0);
        RngKey binarize = binarizeKey(0);
        train.gather(0, cfg.binarization(), binarize, xb);
        pass.run(new Batch(xb, null, null, null), latent);
        gpu.allFinite(ps.values());
        gpu.sum(ps.grads());
        Tensor[] terms = pass.accumulatedTerms();
        guard.plan(terms, pass.accumulatedScales(), rows, new Tensor[]{ps.grads(), ps.values()}, PARAMETERS);
        gpu.bindRngStep(Streams.LATENT, guard.step());
        if (cfg.binarization() == Binarization.DYNAMIC) gpu.bindRngStep(Streams.BINARIZE, epochCounter);
        try {
            return gpu.capture(() -> {
                cursor.select(train.orderOnDevice(), rows);
                train.gatherRows(cursor.indices(rows), cfg.binarization(), binarize, xb);
                pass.run(new Batch(xb, null, null, null), latent);
                guard.check();
                guard.adam(ps.values(), ps.grads(), adam.m(), adam.v(), cfg.adam());
                cursor.cursor().add(1);
            });
        } finally {
            gpu.bindRngStep(Streams.LATENT, null);
            gpu.bindRngStep(Streams.BINARIZE, null);
        }
    }

    /** What the device recorded since {@link #beginEpoch}: one copy and its wait; throws a gather index error. */
    StepGuard.Readout read() {
        return guard.read();
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
        return lossTerms == 1 && i == named - 1 ? 0 : -1;
    }

    /**
     * Runs the step of batch {@code batchInEpoch} (0-based) eagerly from the current parameters
     * with the noise of Adam step {@code stepBefore} (not updating), so that the pass's loss
     * terms and gradients are those the replayed step saw: for naming the first non-finite tensor.
     */
    void rerun(int epoch, int batchInEpoch, long stepBefore) {
        int n = train.size(), from = batchInEpoch * cfg.batchSize(), b = Math.min(cfg.batchSize(), n - from);
        Tensor xb = x.rowSlice(0, b);
        train.gather(from, cfg.binarization(), binarizeKey(epoch), xb);
        pass.run(new Batch(xb, null, null, null), new RngKey(cfg.seed(), Streams.LATENT, stepBefore));
    }

    Backend backend() {
        return gpu;
    }

    @Override
    public void close() {
        for (CudaGraph g : graphs) if (g != null) g.close();
        cursor.close();
        epochCounter.close();
        guard.close();
    }
}
