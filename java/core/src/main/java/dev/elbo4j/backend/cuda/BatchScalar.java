package dev.elbo4j.backend.cuda;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A double that changes from batch to batch of an epoch, chosen on the device: the host uploads
 * the epoch's values once ({@link #upload}) and {@link #select} copies the entry at a device
 * cursor (the batch number, {@link BatchCursor#cursor()}) into one fixed cell ({@link #cell()}),
 * which kernels read instead of a launch argument. So a replayed step sees a per-step value (the
 * KL warm-up weight) that its captured arguments could not carry.
 */
public final class BatchScalar implements AutoCloseable {
    private final CudaBackend be;
    private final DeviceTensor table;
    private final DeviceTensor cell;

    /**
     * Allocates the table and the cell on {@code be}, zero-filled; {@link #close} frees them.
     *
     * @param maxBatches the most entries an {@link #upload} holds (an epoch's batches)
     */
    public BatchScalar(CudaBackend be, int maxBatches) {
        if (maxBatches < 1) throw new IllegalArgumentException("maxBatches must be >= 1, got " + maxBatches);
        this.be = be;
        this.table = (DeviceTensor) be.alloc(DType.F64, Shape.of(maxBatches));
        try {
            this.cell = (DeviceTensor) be.alloc(DType.F64, Shape.of(1));
            be.fill(table, 0);
            be.fill(cell, 0);
        } catch (RuntimeException e) {
            table.close();
            throw e;
        }
    }

    /** The cell {@link #select} writes (one F64). */
    public Tensor cell() {
        return cell;
    }

    /**
     * Uploads the values of batches 0 .. values.length - 1 (ordered after the work enqueued so far);
     * entries past them keep their old values, and a cursor past the table selects its last entry.
     */
    public void upload(double[] values) {
        if (values.length < 1 || values.length > table.size()) {
            throw new IllegalArgumentException("1.." + table.size() + " values, got " + values.length);
        }
        be.write(values.length == table.size() ? table : table.view(0, Shape.of(values.length)), values);
    }

    /** Enqueues cell = table[*cursor]. */
    public void select(DeviceCounter cursor) {
        if (cursor.cell().backend() != be) throw new IllegalArgumentException("cursor belongs to another backend");
        be.prepare();
        be.args().clear().ptr(table.address()).i32(table.size()).ptr(cursor.address()).ptr(cell.address());
        be.launch(Kernels.SELECT_F64, 1);
    }

    /** Frees the table and the cell. */
    @Override
    public void close() {
        table.close();
        cell.close();
    }
}
