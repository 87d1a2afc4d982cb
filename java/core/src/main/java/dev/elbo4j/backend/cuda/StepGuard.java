package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * The finite check and the optimizer of a training step that the host does not wait for, so the
 * whole step can be captured once and replayed ({@link CudaBackend#capture}): the check
 * ({@code kernels/step.cu}) writes a device flag that the guarded Adam ({@code elbo4j_adam_guarded_f32})
 * reads, so a bad step applies no update without any read back. Everything the host used to learn
 * per step stays on the device until {@link #read()}: the Adam step (also the latent noise step,
 * {@link #step()}), the summed loss and examples of the applied steps, the skipped steps, and, under
 * the stop policy, a sticky flag with the step and the first non-finite sum of the first bad step.
 *
 * <p>The same calls run eagerly too; a replay and an eager run of the same calls give the same
 * bits. Adam's step-dependent constants come from a per-step table folded on the host exactly as
 * {@link CudaBackend#adam} folds them ({@link #schedule}), uploaded once per epoch, so a
 * learning-rate schedule needs no launch argument that a graph would freeze.
 *
 * <p>The steady state allocates nothing, on the host or the device: {@link #check()} and
 * {@link #adam} fill the backend's one argument list; every device buffer is made by the
 * constructor. {@link #read()} is one asynchronous device-to-host copy of one small allocation into
 * pinned memory and one event wait.
 */
public final class StepGuard implements AutoCloseable {
    /** Offsets of the state words (kernels/step.cu). */
    static final int APPLY = 0, STOPPED = 1, BAD_STEP_LO = 2, BAD_STEP_HI = 3, BAD_SUM = 4, SKIPPED = 5,
            TABLE_MISS = 6, EXAMPLES = 7, TABLE_FIRST_LO = 8, TABLE_ROWS = 10, WORDS = 12;
    /**
     * The summed loss (a double) and the Adam step (u64) follow the state words in the same
     * allocation, then what a {@link #read(Tensor)} gathers into it before copying it back: a
     * tensor's sum (a double) and the gathers' error word.
     */
    static final int LOSS_LO = WORDS, STEP_LO = WORDS + 2, READ_SUM_LO = WORDS + 4, GATHER_ERROR = WORDS + 6,
            BLOCK_WORDS = WORDS + 8;

    private final CudaBackend be;
    private final boolean skipNonFinite;
    private final DeviceCounter step;
    private final DeviceTensor state;
    private final DeviceTensor sums;
    private final DeviceTensor table;
    private final DeviceTensor skipLog;
    private final PinnedReader reader;
    private final int[] readWords = new int[BLOCK_WORDS];
    private DeviceCounter batchCursor;
    /** Most loss terms a {@link #plan} takes (kernels/step.cu's launch scales). */
    public static final int MAX_LOSS_TERMS = 5;
    private long scaleAt;
    private int scaleTerm = -1;
    private final float[] tableHost;
    private boolean scheduled;
    private final int[] tableWords = new int[3];
    /** The state words {@link #schedule} writes (the table's first step and rows), made once: a schedule allocates nothing. */
    private final DeviceTensor tableWordsCell;
    private DeviceTensor[] loss;
    private double[] lossScales;
    private DeviceTensor[] finite = new DeviceTensor[0];
    private int stopFrom;
    private int rows;

    /**
     * A guard for one run on {@code be}. Every device buffer is allocated here, once, so a captured
     * graph's pointers stay valid whatever is planned or scheduled later; {@link #close} frees them.
     *
     * @param skipNonFinite false: the first bad step stops every later update (sticky); true: bad
     *                      steps are counted and skipped, except a bad sum at or past
     *                      {@code stopFrom} of {@link #plan}
     * @param step          the Adam step before the first check (0 for a new run)
     * @param maxTensors    the most tensors a {@link #plan} checks besides the first loss term
     * @param maxSteps      the most steps a {@link #schedule} covers and the batches the skip log
     *                      keeps (an epoch's batches)
     */
    public StepGuard(CudaBackend be, boolean skipNonFinite, long step, int maxTensors, int maxSteps) {
        if (maxTensors < 0 || maxSteps < 1) {
            throw new IllegalArgumentException("maxTensors must be >= 0 and maxSteps >= 1, got " + maxTensors + ", " + maxSteps);
        }
        this.be = be;
        this.skipNonFinite = skipNonFinite;
        java.util.List<Tensor> made = new java.util.ArrayList<>();
        try {
            made.add(be.alloc(DType.I32, Shape.of(BLOCK_WORDS, 1)));
            made.add(be.alloc(DType.F64, Shape.of(1 + maxTensors)));
            made.add(be.alloc(DType.F32, Shape.of(Math.multiplyExact(3, maxSteps))));
            made.add(be.alloc(DType.I32, Shape.of(maxSteps)));
            be.fill(made.getFirst(), 0);
            be.fill(made.getLast(), 0);
            this.reader = new PinnedReader(be, BLOCK_WORDS);
        } catch (RuntimeException e) {
            for (Tensor t : made) t.close();
            throw e;
        }
        this.state = (DeviceTensor) made.get(0);
        this.sums = (DeviceTensor) made.get(1);
        this.table = (DeviceTensor) made.get(2);
        this.skipLog = (DeviceTensor) made.get(3);
        this.tableHost = new float[3 * maxSteps];
        this.tableWordsCell = (DeviceTensor) state.rowSlice(TABLE_FIRST_LO, 3);
        this.step = new DeviceCounter(be, (DeviceTensor) state.view(STEP_LO, Shape.of(2)));
        this.step.set(step);
    }

    /** The Adam step counter on the device (bind it as the latent noise step: {@link CudaBackend#bindRngStep}). */
    public DeviceCounter step() {
        return step;
    }

    /**
     * What {@link #check()} looks at: {@code loss} (summed, then checked and accumulated with
     * {@code lossScale}; a step of {@code rows} examples), then each of {@code alsoFinite}
     * (summed and checked; from index {@code stopFrom} of that array on, a non-finite sum stops the
     * run even under the skip policy: the parameters). Capture after this; call it again for
     * another batch shape.
     */
    public void plan(Tensor loss, double lossScale, int rows, Tensor[] alsoFinite, int stopFrom) {
        plan(new Tensor[]{loss}, new double[]{lossScale}, rows, alsoFinite, stopFrom);
    }

    /**
     * As {@link #plan(Tensor, double, int, Tensor[], int)} with a loss of one to
     * {@value #MAX_LOSS_TERMS} terms, each summed, checked and accumulated with its own scale in
     * this order (a VAE's reconstruction term over its L samples, then its KL term times beta; an
     * autoencoder's reconstruction, its likelihood constant, its sparsity penalty; M2's unlabelled
     * bound, then the labelled batch's reconstruction, KL, cross-entropy and log C terms: what the
     * eager accumulation adds).
     */
    public void plan(Tensor[] lossTerms, double[] lossScales, int rows, Tensor[] alsoFinite, int stopFrom) {
        if (rows < 0) throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        if (lossTerms.length < 1 || lossTerms.length > MAX_LOSS_TERMS || lossScales.length != lossTerms.length) {
            throw new IllegalArgumentException("one to " + MAX_LOSS_TERMS + " loss terms with a scale each, got " + lossTerms.length
                    + " terms and " + lossScales.length + " scales");
        }
        if (stopFrom < 0 || stopFrom > alsoFinite.length) {
            throw new IllegalArgumentException("stopFrom must be in [0, " + alsoFinite.length + "], got " + stopFrom);
        }
        int n = lossTerms.length + alsoFinite.length;
        if (n > sums.size()) {
            throw new IllegalArgumentException("this guard checks at most " + (sums.size() - 1) + " tensors besides the loss, got "
                    + (n - 1));
        }
        DeviceTensor[] l = new DeviceTensor[lossTerms.length];
        for (int i = 0; i < l.length; i++) l[i] = be.dev(lossTerms[i], "loss");
        DeviceTensor[] f = new DeviceTensor[alsoFinite.length];
        for (int i = 0; i < f.length; i++) f[i] = be.dev(alsoFinite[i], "tensor " + i);
        this.loss = l;
        this.lossScales = lossScales.clone();
        this.finite = f;
        this.stopFrom = stopFrom + l.length;  // index into sums, where the loss terms come first
        this.rows = rows;
    }

    /**
     * From the next capture on, {@link #check()} scales loss term {@code term} by the value in
     * {@code cell} (one F64 on the device, e.g. {@link BatchScalar#cell()}: a KL warm-up weight
     * that changes per step) times {@link #plan}'s scale for that term, the product rounded once as
     * the host rounds {@code weight * factor} (a factor of 1: the cell's value itself); null: {@link #plan}'s
     * scales alone again.
     */
    public void scaleFrom(int term, Tensor cell) {
        if (cell == null) {
            scaleAt = 0;
            scaleTerm = -1;
            return;
        }
        if (term < 0 || term >= MAX_LOSS_TERMS) throw new IllegalArgumentException("term must be in [0, " + MAX_LOSS_TERMS + "), got " + term);
        DeviceTensor c = be.dev(cell, "scale");
        if (c.dtype() != DType.F64 || c.size() != 1) throw new IllegalArgumentException("the scale cell must be one F64, got " + c.dtype() + " " + c.shape());
        scaleAt = c.address();
        scaleTerm = term;
    }

    /**
     * Under the skip policy, a skipped step records 1 + the index of its first non-finite sum at
     * {@link #skipLog()}[cursor] ({@code cursor}: the batch number within the epoch; null: no log).
     * Capture after this.
     */
    public void logSkipsAt(DeviceCounter cursor) {
        if (cursor != null && cursor.cell().backend() != be) throw new IllegalArgumentException("cursor belongs to another backend");
        this.batchCursor = cursor;
    }

    /**
     * The skip log of the current epoch, read back (this waits): entry b is 0 where batch b was not
     * skipped, else 1 + the index into the planned sums (loss terms, then the other tensors) of
     * the first non-finite one.
     */
    public int[] skipLog() {
        return be.downloadInts(skipLog);
    }

    /** Zeroes the skip log (an epoch's start; enqueued). */
    public void resetSkipLog() {
        be.fill(skipLog, 0);
    }

    /** Enqueues the sums and the check of {@link #plan}: no read back. */
    public void check() {
        if (loss == null) throw new IllegalStateException("plan() first");
        long base = sums.address();
        int k = loss.length;
        for (int i = 0; i < k; i++) be.sumInto(loss[i], base + 8L * i);
        for (int i = 0; i < finite.length; i++) be.sumInto(finite[i], base + 8L * (i + k));
        be.prepare();
        be.args().clear().ptr(base).i32(k + finite.length).i32(stopFrom).i32(skipNonFinite ? 1 : 0).i32(rows)
                .i32(k).f64(lossScales[0]).f64(k > 1 ? lossScales[1] : 0).ptr(step.address()).ptr(state.address())
                .ptr(state.address() + 4L * LOSS_LO).ptr(batchCursor == null ? 0 : batchCursor.address())
                .ptr(batchCursor == null ? 0 : skipLog.address()).i32(skipLog.size()).ptr(scaleAt)
                .f64(k > 2 ? lossScales[2] : 0).f64(k > 3 ? lossScales[3] : 0).f64(k > 4 ? lossScales[4] : 0).i32(scaleTerm);
        be.launch(Kernels.STEP_GUARD, 1);
    }

    /**
     * Folds Adam's constants for steps {@code firstStep .. firstStep + lr.length - 1} (learning rate
     * {@code lr[i]} at step {@code firstStep + i}) as {@link CudaBackend#adam} does and uploads them
     * (ordered after the work enqueued so far); the table replaces the previous one. Once per epoch.
     */
    public void schedule(AdamConfig cfg, long firstStep, double[] lr) {
        if (firstStep < 1) throw new IllegalArgumentException("adam step counts from 1, got " + firstStep);
        if (3L * lr.length > table.size()) {
            throw new IllegalArgumentException("this guard schedules at most " + table.size() / 3 + " steps, got " + lr.length);
        }
        for (int i = 0; i < lr.length; i++) {
            long s = firstStep + i;
            double bc1 = 1 - Math.pow(cfg.beta1(), s);
            double bc2 = 1 - Math.pow(cfg.beta2(), s);
            tableHost[3 * i] = (float) (1 - lr[i] * cfg.weightDecay());
            tableHost[3 * i + 1] = (float) (lr[i] / bc1);
            tableHost[3 * i + 2] = (float) (1 / Math.sqrt(bc2));
        }
        be.write(table, tableHost);
        tableWords[0] = (int) firstStep;
        tableWords[1] = (int) (firstStep >>> 32);
        tableWords[2] = lr.length;
        be.write(tableWordsCell, tableWords);
        scheduled = true;
    }

    /**
     * Enqueues Adam on {@code param} with {@code grad} and the moments, applied only when the last
     * {@link #check()} passed, with the constants of {@link #schedule} for the step it took.
     */
    public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg) {
        if (!scheduled) throw new IllegalStateException("schedule() first");
        DeviceTensor p = be.f32(param, "param"), g = be.f32(grad, "grad"), mm = be.f32(m, "m"),
                vv = be.f32(v, "v");
        int n = p.size();
        if (g.size() != n || mm.size() != n || vv.size() != n) {
            throw new IllegalArgumentException("adam: param " + p.shape() + ", grad " + g.shape() + ", m " + mm.shape()
                    + ", v " + vv.shape() + " must have the same size");
        }
        if (n == 0) return;
        float b1 = (float) cfg.beta1(), b2 = (float) cfg.beta2();
        be.prepare();
        be.args().clear().ptr(p.address()).ptr(g.address()).ptr(mm.address()).ptr(vv.address()).i64(n)
                .f32(b1).f32(b2).f32(1 - b1).f32(1 - b2).f32((float) cfg.eps())
                .ptr(table.address()).ptr(step.address()).ptr(state.address());
        be.launch(Kernels.ADAM_GUARDED, Kernels.blocks(n, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.ADAM_GUARDED)));
    }

    /** Zeroes the summed loss and the examples (an epoch's start; enqueued). */
    public void resetLoss() {
        be.fill(state.rowSlice(LOSS_LO, 2), 0);
        be.fill(state.rowSlice(EXAMPLES, 1), 0);
    }

    /** Sets the Adam step (a resumed run; enqueued). */
    public void setStep(long value) {
        step.set(value);
    }

    /**
     * What the device has recorded, read after the work enqueued so far (this waits for it).
     *
     * @param step       Adam steps taken (the next update is step + 1)
     * @param lossSum    the summed loss of the applied steps since {@link #resetLoss()}
     * @param examples   their examples
     * @param skipped    steps skipped under the skip policy
     * @param stopped    a bad step stopped the run (every step since applied nothing)
     * @param badStep    the step the first bad update would have been (0 when none)
     * @param badSum     which sum was non-finite first: the loss terms from 0, then {@link #plan}'s
     *                   other tensors; -1 when none (a parameter sum is looked at before the others)
     * @param tableMiss  an update found no row in the schedule (and was not applied)
     * @param alsoSum the sum of the tensor passed to {@link #read(Tensor)}, 0 for none
     */
    public record Readout(long step, double lossSum, long examples, long skipped, boolean stopped, long badStep,
                          int badSum, boolean tableMiss, double alsoSum) {
    }

    /** {@link #read(Tensor)} with no tensor to sum (alsoSum 0). */
    public Readout read() {
        return read(null);
    }

    /**
     * What the device has recorded, with the sum of {@code alsoSum} (null: none; e.g. the
     * parameters, whose last update no check has looked at yet) and the gathers' error word
     * folded in: a sum launch and a device-to-device copy into the guard's state block, then one
     * asynchronous copy of the block into pinned memory and one event wait ({@link PinnedReader}).
     * Throws the gather's {@link IndexOutOfBoundsException} for a bad index found since the last check.
     */
    public Readout read(Tensor alsoSum) {
        if (alsoSum != null) be.sumInto(be.dev(alsoSum, "alsoSum"), state.address() + 4L * READ_SUM_LO);
        be.copyGatherError(state.address() + 4L * GATHER_ERROR);
        int[] w = readWords;
        reader.read(state.address(), w);
        be.gatherErrorRead(w[GATHER_ERROR], w[GATHER_ERROR + 1]);
        boolean stopped = w[STOPPED] != 0;
        return new Readout(u64(w, STEP_LO), Double.longBitsToDouble(u64(w, LOSS_LO)), w[EXAMPLES] & 0xffffffffL,
                w[SKIPPED] & 0xffffffffL, stopped, stopped ? u64(w, BAD_STEP_LO) : 0, stopped ? w[BAD_SUM] : -1,
                w[TABLE_MISS] != 0, alsoSum == null ? 0 : Double.longBitsToDouble(u64(w, READ_SUM_LO)));
    }

    private static long u64(int[] w, int lo) {
        return (w[lo] & 0xffffffffL) | ((long) w[lo + 1] << 32);
    }

    /** Frees the guard's device buffers, its step counter and its pinned reader. */
    @Override
    public void close() {
        step.close();
        reader.close();
        for (Tensor t : new Tensor[]{sums, table, skipLog, state}) t.close();
    }
}
