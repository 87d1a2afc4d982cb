package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A gather with several indices outside the data set reports the one {@code CpuData.gather} throws
 * for, the first bad row of the batch, whatever order the blocks run in (data.cu: an atomicMin over
 * row and index; it was a compare-and-swap, so the first block to run won). The bad rows sit in
 * different blocks and grid-stride rounds (a block's second round runs before the next block on the
 * emulator), so each schedule of {@code ELBO4J_EMU_REVERSE} meets them in another order; one of
 * the cases is an index of -1, the value the error word used to mean "clean".
 */
class GatherErrorParityTest {
    private static final int EXAMPLES = 50, ROWS = 4200;
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (int d : new int[]{4, 3}) { // the uchar4 path and the per-pixel path
            a.add(Arguments.of(d, new int[]{300, 4100}, false));
            a.add(Arguments.of(d, new int[]{3, 300}, false));
            a.add(Arguments.of(d, new int[]{4199, 2047, 1025, 17}, false));
            a.add(Arguments.of(d, new int[]{5, 4000}, true));
        }
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void theFirstBadRowIsReported(int d, int[] badRows, boolean minusOne) {
        int[] index = new int[ROWS];
        for (int r = 0; r < ROWS; r++) index[r] = r % EXAMPLES;
        for (int i = 0; i < badRows.length; i++) {
            index[badRows[i]] = minusOne && i == 0 ? -1 : EXAMPLES + 1000 + badRows[i];
        }
        RngKey key = new RngKey(3, Streams.BINARIZE, 0);
        IndexOutOfBoundsException reference = assertThrows(IndexOutOfBoundsException.class, () ->
                cpu.gather(cpu.upload(new byte[EXAMPLES * d], Shape.of(EXAMPLES, d)), cpu.upload(index, Shape.of(ROWS)), 0,
                        Binarization.DYNAMIC, key, cpu.alloc(DType.F32, ROWS, d)));
        int first = Arrays.stream(badRows).min().orElseThrow();
        String expected = "index " + index[first] + " outside data set of " + EXAMPLES;
        assertTrue(reference.getMessage().contains(expected), reference.getMessage());
        try (Tensor data = gpu.upload(new byte[EXAMPLES * d], Shape.of(EXAMPLES, d));
             Tensor idx = gpu.upload(index, Shape.of(ROWS)); Tensor out = poisoned(gpu, DType.F32, ROWS, d)) {
            gpu.gather(data, idx, 0, Binarization.DYNAMIC, key, out);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, gpu::synchronize);
            assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("row " + first + ","),
                    "D=" + d + " bad rows " + Arrays.toString(badRows) + ": expected '" + expected + "' (row " + first
                            + "), got: " + e.getMessage());
            float[] v = gpu.downloadFloats(out);
            for (int r : badRows) assertTrue(Float.isNaN(v[r * d]) && Float.isNaN(v[r * d + d - 1]), "row " + r + " is NaN");
            gpu.synchronize(); // cleared: no second report
        }
    }
}
