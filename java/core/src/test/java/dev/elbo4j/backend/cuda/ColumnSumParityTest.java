package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;

/**
 * The row-chunked column sums ({@code kernels/columns.cuh}) give one fixed result, whatever order
 * the blocks (and the threads of a block) run in: the bias gradient's bits equal a Java model of
 * the documented summation order (per lane over its rows, the 8 lanes in order, the chunks by a
 * second pass in the same pattern). Run once per schedule (the emulator's {@code ELBO4J_EMU_REVERSE=1}
 * runs blocks and threads in decreasing order): equal to the model both ways means the same bits
 * both ways. Odd sizes: 1, 3 and 1,025 columns (a partial column tile), 1 to 8,193 rows (one chunk,
 * several, a short last chunk).
 */
class ColumnSumParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    static Stream<Arguments> sizes() {
        List<Arguments> a = new ArrayList<>();
        for (int rows : new int[]{1, 3, 129, 1025, 8193}) {
            for (int cols : new int[]{1, 3, 1025}) {
                a.add(Arguments.of(Activation.RELU, rows, cols));
                if (rows * (long) cols < 200_000) a.add(Arguments.of(Activation.IDENTITY, rows, cols));
            }
        }
        a.add(Arguments.of(Activation.TANH, 8193, 3));
        a.add(Arguments.of(Activation.SIGMOID, 4097, 33));
        return a.stream();
    }

    /** The kernel's order: lane y of a 32 x 8 tile adds rows y, y + 8, ... of its chunk; then lanes 0..7. */
    static float[] modelColumnSums(float[] g, int rows, int cols) {
        int chunkRows = Kernels.columnChunkRows(rows), chunks = Kernels.columnChunks(rows);
        double[] partial = new double[chunks * cols];
        for (int k = 0; k < chunks; k++) {
            int r0 = k * chunkRows, r1 = Math.min(rows, r0 + chunkRows);
            for (int c = 0; c < cols; c++) {
                double t = 0;
                for (int lane = 0; lane < Kernels.COLS_TILE_Y; lane++) {
                    double s = 0;
                    for (int r = r0 + lane; r < r1; r += Kernels.COLS_TILE_Y) s += g[r * cols + c];
                    t += s;
                }
                partial[k * cols + c] = t;
            }
        }
        return modelSecondPass(partial, chunks, cols);
    }

    /**
     * columns.cuh's second pass over chunk partials ({@code partial[k * cols + c]}): one chunk is
     * rounded as it is; else lane y adds chunks y, y + 8, ..., then the 8 lanes in order.
     */
    static float[] modelSecondPass(double[] partial, int chunks, int cols) {
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            if (chunks == 1) {
                out[c] = (float) partial[c];
                continue;
            }
            double t = 0;
            for (int lane = 0; lane < Kernels.COLS_TILE_Y; lane++) {
                double s = 0;
                for (int k = lane; k < chunks; k += Kernels.COLS_TILE_Y) s += partial[k * cols + c];
                t += s;
            }
            out[c] = (float) t;
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void biasGradientHasTheDocumentedOrdersBits(Activation act, int rows, int cols) {
        long seed = 9100L * rows + cols + act.ordinal();
        float[] pre = floats(Rand.normal(seed, rows * cols, 2)), dy = floats(Rand.normal(seed + 1, rows * cols, 1));
        Tensor cy = cpu.upload(pre, Shape.of(rows, cols));
        cpu.biasActivation(cy, null, act);
        float[] y = floats(cpu.download(cy));
        Tensor cdy = cpu.upload(dy, Shape.of(rows, cols));
        cpu.biasActivationBackward(cy, cdy, act, null);
        float[] g = floats(cpu.download(cdy));  // the pre-activation gradient (exact on the GPU: CudaParityTest)
        try (Tensor gy = gpu.upload(y, Shape.of(rows, cols)); Tensor gdy = gpu.upload(dy, Shape.of(rows, cols));
             Tensor gdb = poisoned(gpu, DType.F32, cols)) {
            gpu.biasActivationBackward(gy, gdy, act, gdb);
            String at = act + " " + rows + "x" + cols + " (" + Kernels.columnChunks(rows) + " chunks)";
            assertBits("dy " + at, g, gpu.downloadFloats(gdy));
            assertBits("dBias " + at, modelColumnSums(g, rows, cols), gpu.downloadFloats(gdb));
        }
    }

    /**
     * A captured graph keeps the column-partial scratch it was captured with: a later, larger sum
     * grows the scratch, and the graph replayed after it must still read and write live memory and
     * give the same bits (the old scratch was freed on growth, under the graph's feet).
     */
    @org.junit.jupiter.api.Test
    void aGraphReplaysAfterTheScratchGrew() {
        int rows = 1025, cols = 1025, bigRows = 8193; // partials of 73 KB, then more than 64 KB more
        float[] pre = floats(Rand.normal(77, rows * cols, 2)), dy = floats(Rand.normal(78, rows * cols, 1));
        Tensor cy = cpu.upload(pre, Shape.of(rows, cols));
        cpu.biasActivation(cy, null, Activation.RELU);
        float[] y = floats(cpu.download(cy));
        try (Tensor gy = gpu.upload(y, Shape.of(rows, cols)); Tensor src = gpu.upload(dy, Shape.of(rows, cols));
             Tensor gdy = poisoned(gpu, DType.F32, rows, cols); Tensor gdb = poisoned(gpu, DType.F32, cols);
             Tensor by = gpu.upload(new float[bigRows * cols], Shape.of(bigRows, cols));
             Tensor bdy = gpu.upload(new float[bigRows * cols], Shape.of(bigRows, cols));
             Tensor bdb = poisoned(gpu, DType.F32, cols)) {
            Runnable step = () -> {
                gpu.copy(src, gdy);
                gpu.biasActivationBackward(gy, gdy, Activation.RELU, gdb);
            };
            step.run(); // the scratch exists before the capture
            float[] expected = gpu.downloadFloats(gdb);
            try (CudaGraph g = gpu.capture(step)) {
                gpu.biasActivationBackward(by, bdy, Activation.RELU, bdb); // more chunks: the scratch grows
                gpu.fill(gdb, Float.NaN);
                g.launch();
                assertBits("dBias replayed after the scratch grew", expected, gpu.downloadFloats(gdb));
            }
        }
    }
}
