package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Binarization;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A gather captured once and replayed for every batch of an epoch ({@link BatchCursor}: the batch
 * number and the binarisation epoch come from device counters, the permutation is uploaded once
 * per epoch) against the eager {@link CudaBackend#gather} with the batch's offset: the same bits
 * for every full batch and for the short last batch (its own graph), over two epochs of dynamic
 * binarisation. An index outside the data set is reported at the next read after the replays.
 */
class BatchCursorParityTest {
    private static final int N = 1000, D = 28 * 28, BATCH = 128;
    private static final long SEED = 5;

    @Test
    void replayedGathersMatchEagerOnesBatchByBatch() {
        CudaBackend be = GpuAvailable.backend();
        byte[] px = new byte[N * D];
        new SplittableRandom(3).nextBytes(px);
        int steps = (N + BATCH - 1) / BATCH, last = N - (steps - 1) * BATCH;
        assertTrue(last < BATCH, "the epoch ends with a short batch");
        try (Tensor data = be.upload(px, Shape.of(N, D)); Tensor perm = be.alloc(DType.I32, N);
             Tensor full = be.alloc(DType.F32, BATCH, D); Tensor eager = be.alloc(DType.F32, BATCH, D);
             BatchCursor cursor = new BatchCursor(be, BATCH); DeviceCounter epoch = be.counter(0)) {
            Tensor shortOut = full.rowSlice(0, last);
            be.bindRngStep(Streams.BINARIZE, epoch);
            CudaGraph fullStep, shortStep;
            try {
                fullStep = be.capture(() -> {
                    cursor.select(perm, BATCH);
                    be.gather(data, cursor.indices(), 0, Binarization.DYNAMIC, new RngKey(SEED, Streams.BINARIZE, 0), full);
                    cursor.cursor().add(1);
                });
                shortStep = be.capture(() -> {
                    cursor.select(perm, last);
                    be.gather(data, cursor.indices(last), 0, Binarization.DYNAMIC,
                            new RngKey(SEED, Streams.BINARIZE, 0), shortOut);
                    cursor.cursor().add(1);
                });
            } finally {
                be.bindRngStep(Streams.BINARIZE, null);
            }
            try (fullStep; shortStep) {
                for (int e = 0; e < 2; e++) {
                    be.write(perm, Philox.permutation(new RngKey(SEED, Streams.SHUFFLE, e), N));
                    epoch.set(e);
                    cursor.cursor().set(0);
                    RngKey key = new RngKey(SEED, Streams.BINARIZE, e);
                    for (int b = 0; b < steps; b++) {
                        boolean isShort = b == steps - 1;
                        int rows = isShort ? last : BATCH;
                        (isShort ? shortStep : fullStep).launch();
                        be.gather(data, perm, b * BATCH, Binarization.DYNAMIC, key, eager.rowSlice(0, rows));
                        assertBits("epoch " + e + " batch " + b, be.downloadFloats(eager.rowSlice(0, rows)),
                                be.downloadFloats(full.rowSlice(0, rows)));
                    }
                    assertEquals(steps, cursor.cursor().get());
                }
                // A permutation entry outside the data set: the replays fill NaN; the next read throws.
                int[] bad = Philox.permutation(new RngKey(SEED, Streams.SHUFFLE, 9), N);
                bad[3] = N + 7;
                be.write(perm, bad);
                cursor.cursor().set(0);
                for (int b = 0; b < 3; b++) fullStep.launch();
                IndexOutOfBoundsException ex = assertThrows(IndexOutOfBoundsException.class, () -> be.downloadFloats(full));
                assertTrue(ex.getMessage().contains("index " + (N + 7)), ex.getMessage());
            }
        }
    }

    /**
     * {@link BatchScalar}: a replayed select copies the entry at the device cursor, exactly, and a
     * cursor past the uploaded table gives its last entry; entries past an upload keep their values.
     */
    @Test
    void aReplayedSelectCopiesTheCursorsEntryAndClampsPastTheEnd() {
        CudaBackend be = GpuAvailable.backend();
        double[] values = {0.0, 0.125, Math.nextUp(1.0 / 3), -0.0, 1e-300, Double.MAX_VALUE};
        try (BatchScalar s = new BatchScalar(be, values.length); DeviceCounter c = be.counter(0)) {
            s.upload(values);
            try (CudaGraph g = be.capture(() -> {
                s.select(c);
                c.add(1);
            })) {
                for (int i = 0; i < values.length + 3; i++) {
                    g.launch();
                    double want = values[Math.min(i, values.length - 1)];
                    assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(be.download(s.cell())[0]),
                            "cursor " + i);
                }
                s.upload(new double[] {7.5, 8.5});   // the first two entries only: the rest stay
                c.set(1);
                g.launch();
                assertEquals(8.5, be.download(s.cell())[0]);
                c.set(values.length + 40);
                g.launch();
                assertEquals(Double.MAX_VALUE, be.download(s.cell())[0]);
            }
        }
    }
}
