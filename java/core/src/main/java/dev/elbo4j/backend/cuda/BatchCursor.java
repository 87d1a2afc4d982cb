package dev.elbo4j.backend.cuda;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * Which examples a replayed training step gathers: the batch number within the epoch lives in
 * device memory ({@link #cursor()}), and {@link #select} copies that batch's rows of the epoch's
 * permutation into a fixed index buffer ({@link #indices()}), from which
 * {@link CudaBackend#gather} reads from row 0. So the gather's launch arguments are the same every
 * step and the step can be captured once; the host sets the cursor and uploads the permutation
 * once per epoch. A batch past the permutation selects -1, which the gather reports as an index
 * error at the next read (an epoch's gathers are checked once, when the host next reads).
 */
public final class BatchCursor implements AutoCloseable {
    private final CudaBackend be;
    private final int batch;
    private final DeviceCounter cursor;
    private final boolean ownsCursor;
    private final long wrap;
    private final DeviceTensor indices;

    /**
     * A cursor of its own, at batch 0, with an index buffer of {@code batch} entries; {@link #close} frees
     * both.
     *
     * @param batch the full batch size (a short last batch selects fewer rows of the same stride)
     */
    public BatchCursor(CudaBackend be, int batch) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        this.be = be;
        this.batch = batch;
        this.cursor = be.counter(0);
        this.ownsCursor = true;
        this.wrap = 0;
        try {
            this.indices = (DeviceTensor) be.alloc(DType.I32, Shape.of(batch));
        } catch (RuntimeException e) {
            cursor.close();
            throw e;
        }
    }

    /**
     * A cursor over a second data set that cycles at another cursor's batch number: batch
     * {@code batchNumber mod wrap} of its permutation (M2's labelled sub-batch b mod L, with L the
     * labelled set's batches, the last of which may be short). It reads {@code batchNumber} and
     * never advances it; closing this cursor leaves it open.
     *
     * @param batch the full batch size of the second set
     * @param wrap  the second set's batches per cycle (>= 1)
     */
    public BatchCursor(CudaBackend be, int batch, DeviceCounter batchNumber, long wrap) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        if (wrap < 1) throw new IllegalArgumentException("wrap must be >= 1, got " + wrap);
        if (batchNumber.cell().backend() != be) throw new IllegalArgumentException("the batch number belongs to another backend");
        this.be = be;
        this.batch = batch;
        this.cursor = batchNumber;
        this.ownsCursor = false;
        this.wrap = wrap;
        this.indices = (DeviceTensor) be.alloc(DType.I32, Shape.of(batch));
    }

    /**
     * The batch number within the epoch (set it at an epoch's start; add 1 at each step's end); for
     * a cursor made on another's batch number, that one.
     */
    public DeviceCounter cursor() {
        return cursor;
    }

    /** The selected rows: the first {@code rows} entries are valid after {@link #select}. */
    public Tensor indices() {
        return indices;
    }

    /** The first {@code rows} selected rows (a short batch's index). */
    public Tensor indices(int rows) {
        return indices.view(0, Shape.of(rows));
    }

    /** Enqueues indices[i] = perm[c * batch + i] for i &lt; rows, with c the cursor (mod wrap for a cycling one). */
    public void select(Tensor perm, int rows) {
        DeviceTensor p = be.dev(perm, "permutation");
        if (p.dtype() != DType.I32) throw new IllegalArgumentException("the permutation must be I32, got " + p.dtype());
        if (rows < 1 || rows > batch) throw new IllegalArgumentException("rows must be in [1, " + batch + "], got " + rows);
        be.prepare();
        be.args().clear().ptr(p.address()).i64(p.size()).ptr(indices.address()).i32(rows).i32(batch).ptr(cursor.address()).i64(wrap);
        be.launch(Kernels.BATCH_INDEX, Kernels.blocks(rows, Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.BATCH_INDEX)));
    }

    /** Frees the index buffer and, for a cursor of its own, the cursor; a borrowed batch number stays open. */
    @Override
    public void close() {
        if (ownsCursor) cursor.close();
        indices.close();
    }
}
