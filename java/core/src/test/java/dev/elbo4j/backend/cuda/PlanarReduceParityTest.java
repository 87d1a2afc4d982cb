package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;

/**
 * The planar flow's parameter gradients sum the backward kernel's R x K(2Z+2) scratch over rows as a
 * row-chunked column sum (columns.cuh) whose chunks one block per step adds in order: dB, a column
 * sum rounded once, has the bits of a Java model of that order whatever the block order (run under
 * both schedules of {@code ELBO4J_EMU_REVERSE}); dU and dW (the chain rule on those sums) and dz0
 * stay within CudaParityTest's tolerances of CpuFlow. Rows 1, 3, 1,025 and 8,193 (one chunk,
 * several, a short last one); K(2Z+2) = 4, 8, 16 and 1,032 columns (a partial 32-column tile).
 */
class PlanarReduceParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    /** Column sums of the rows x cols scratch in the device's order: per chunk, lanes y = 0..7 over rows y, y + 8, ...; chunks in order. */
    static double[] modelSums(float[] scratch, int rows, int cols) {
        int chunkRows = Kernels.columnChunkRows(rows), chunks = Kernels.columnChunks(rows);
        double[] total = new double[cols];
        for (int c = 0; c < cols; c++) {
            double s = 0;
            for (int k = 0; k < chunks; k++) {
                int r0 = k * chunkRows, r1 = Math.min(rows, r0 + chunkRows);
                double t = 0;
                for (int lane = 0; lane < Kernels.COLS_TILE_Y; lane++) {
                    double l = 0;
                    for (int r = r0 + lane; r < r1; r += Kernels.COLS_TILE_Y) l += scratch[r * cols + c];
                    t += l;
                }
                s += t;
            }
            total[c] = s;
        }
        return total;
    }

    private static double[] scaleTol(double[] ref, double rel) {
        double m = 1;
        for (double v : ref) m = Math.max(m, Math.abs(v));
        double[] t = new double[ref.length];
        java.util.Arrays.fill(t, rel * m);
        return t;
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 1, 2", "8193, 1, 2", "1025, 3, 2", "8193, 3, 2", "1025, 42, 12", "3, 42, 12"})
    void parameterGradientsHaveTheDocumentedOrdersBits(int rows, int zd, int k) {
        long seed = 7300L * rows + 10L * zd + k;
        int blk = 2 * zd + 2, cols = k * blk;
        float[] z0 = floats(Rand.normal(seed, rows * zd, 1)), u = floats(Rand.normal(seed + 1, k * zd, 0.7));
        float[] w = floats(Rand.normal(seed + 2, k * zd, 0.7)), b = floats(Rand.normal(seed + 3, k, 0.3));
        float[] dzk = floats(Rand.normal(seed + 4, rows * zd, 0.1));
        Tensor cdz = cpu.alloc(DType.F32, rows, zd), cdu = cpu.alloc(DType.F32, k, zd), cdw = cpu.alloc(DType.F32, k, zd);
        Tensor cdb = cpu.alloc(DType.F32, k);
        cpu.planarBackward(cpu.upload(z0, Shape.of(rows, zd)), cpu.upload(u, Shape.of(k, zd)), cpu.upload(w, Shape.of(k, zd)),
                cpu.upload(b, Shape.of(k)), cpu.upload(dzk, Shape.of(rows, zd)), 0.01, cdz, cdu, cdw, cdb,
                cpu.alloc(DType.F32, rows, cols));
        try (Tensor gz0 = gpu.upload(z0, Shape.of(rows, zd)); Tensor gu = gpu.upload(u, Shape.of(k, zd));
             Tensor gw = gpu.upload(w, Shape.of(k, zd)); Tensor gb = gpu.upload(b, Shape.of(k));
             Tensor gdzk = gpu.upload(dzk, Shape.of(rows, zd)); Tensor gdz = poisoned(gpu, DType.F32, rows, zd);
             Tensor gdu = poisoned(gpu, DType.F32, k, zd); Tensor gdw = poisoned(gpu, DType.F32, k, zd);
             Tensor gdb = poisoned(gpu, DType.F32, k); Tensor gsc = poisoned(gpu, DType.F32, rows, cols)) {
            gpu.planarBackward(gz0, gu, gw, gb, gdzk, 0.01, gdz, gdu, gdw, gdb, gsc);
            String at = rows + " rows, Z=" + zd + " K=" + k + " (" + Kernels.columnChunks(rows) + " chunks)";
            double[] sums = modelSums(gpu.downloadFloats(gsc), rows, cols);
            float[] db = new float[k];
            for (int s = 0; s < k; s++) db[s] = (float) sums[s * blk + 2 * zd];
            assertBits("dB " + at, db, gpu.downloadFloats(gdb));
            double[] dz = doubles(floats(cpu.download(cdz))), du = doubles(floats(cpu.download(cdu)));
            double[] dw = doubles(floats(cpu.download(cdw))), dbc = doubles(floats(cpu.download(cdb)));
            assertWithin("dz0 " + at, dz, doubles(gpu.downloadFloats(gdz)), scaleTol(dz, 1e-5 * k));
            assertWithin("dU " + at, du, doubles(gpu.downloadFloats(gdu)), scaleTol(du, 1e-5 * k));
            assertWithin("dW " + at, dw, doubles(gpu.downloadFloats(gdw)), scaleTol(dw, 1e-5 * k));
            assertWithin("dB vs CpuFlow " + at, dbc, doubles(gpu.downloadFloats(gdb)), scaleTol(dbc, 1e-5 * k));
        }
    }
}
