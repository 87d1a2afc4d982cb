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
 * The planar flow's kernels on the device against CpuFlow, at odd sizes: latent dimensions 1, 3, 33
 * (a group of 1, 1 and 16 lanes per row, Kernels.planarGroup) and 42, rows 1, 3, 1,025 and 8,193,
 * flows of 1 and several steps. Run under both schedules of {@code ELBO4J_EMU_REVERSE}.
 *
 * <p>Forward (zK, logDet, logRatio and the per-input KL over L samples) and backward (dz0, dU, dW,
 * dB) stay within CudaParityTest's tolerances of CpuFlow: the kernels' dot products add a row's
 * elements lane by lane and then in a butterfly, not in index order. What must not move a bit is
 * where a row is computed: the same rows shifted by one (another lane group, warp and block) give
 * the same bits of every per-row output, the scratch included. The parameter gradients sum the
 * backward kernel's R x K(2Z+2) scratch over rows as a row-chunked column sum (columns.cuh) whose
 * chunks one block per step adds in order: dB, a column sum rounded once, has the bits of a Java
 * model of that order whatever the block order. K(2Z+2) = 4 to 1,032 columns (a partial 32-column
 * tile).
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
    @CsvSource({"1, 1, 1", "3, 1, 2", "8193, 1, 2", "1025, 3, 2", "8193, 3, 2", "1025, 42, 12", "3, 42, 12",
            "1, 3, 4", "3, 3, 1", "1025, 1, 5", "1, 33, 3", "3, 33, 1", "1025, 33, 4", "8193, 33, 2"})
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

    private static float[] rowsFrom(float[] m, int first, int cols) {
        return java.util.Arrays.copyOfRange(m, first * cols, m.length);
    }

    /** Rows 1, 3, 1,025 and 8,193 as L x B (L = 1, 3, 5, 3), latent dimensions 1, 3, 33, flows of 1 to 5 steps. */
    @ParameterizedTest
    @CsvSource({"1, 1, 1, 1", "3, 1, 4, 3", "1025, 1, 3, 5", "8193, 1, 2, 3",
            "1, 3, 3, 1", "3, 3, 1, 1", "1025, 3, 5, 5", "8193, 3, 2, 3",
            "1, 33, 4, 1", "3, 33, 2, 3", "1025, 33, 1, 5", "8193, 33, 3, 3"})
    void forwardMatchesCpuFlow(int rows, int zd, int k, int samples) {
        int b = rows / samples;
        long seed = 7400L * rows + 10L * zd + k;
        float[] z0 = floats(Rand.normal(seed, rows * zd, 1)), u = floats(Rand.normal(seed + 1, k * zd, 0.7));
        float[] w = floats(Rand.normal(seed + 2, k * zd, 0.7)), bb = floats(Rand.normal(seed + 3, k, 0.3));
        float[] kl0 = floats(Rand.normal(seed + 4, b, 1)), lr0 = floats(Rand.normal(seed + 5, rows, 1));
        Tensor czk = cpu.alloc(DType.F32, rows, zd), cld = cpu.alloc(DType.F32, rows);
        Tensor ckl = cpu.upload(kl0, Shape.of(b)), clr = cpu.upload(lr0, Shape.of(rows));
        cpu.planarForward(cpu.upload(z0, Shape.of(rows, zd)), cpu.upload(u, Shape.of(k, zd)), cpu.upload(w, Shape.of(k, zd)),
                cpu.upload(bb, Shape.of(k)), czk, cld, ckl, clr);
        try (Tensor gz0 = gpu.upload(z0, Shape.of(rows, zd)); Tensor gu = gpu.upload(u, Shape.of(k, zd));
             Tensor gw = gpu.upload(w, Shape.of(k, zd)); Tensor gb = gpu.upload(bb, Shape.of(k));
             Tensor gzk = poisoned(gpu, DType.F32, rows, zd); Tensor gld = poisoned(gpu, DType.F32, rows);
             Tensor gkl = gpu.upload(kl0, Shape.of(b)); Tensor glr = gpu.upload(lr0, Shape.of(rows))) {
            gpu.planarForward(gz0, gu, gw, gb, gzk, gld, gkl, glr);
            String at = rows + " rows (L=" + samples + "), Z=" + zd + " K=" + k;
            double[] zk = doubles(floats(cpu.download(czk))), ld = doubles(floats(cpu.download(cld)));
            double[] kl = doubles(floats(cpu.download(ckl))), lr = doubles(floats(cpu.download(clr)));
            assertWithin("zK " + at, zk, doubles(gpu.downloadFloats(gzk)), scaleTol(zk, 2e-6 * k));
            assertWithin("logDet " + at, ld, doubles(gpu.downloadFloats(gld)), scaleTol(ld, 2e-6 * k));
            assertWithin("kl " + at, kl, doubles(gpu.downloadFloats(gkl)), scaleTol(kl, 1e-5 * k));
            assertWithin("logRatio " + at, lr, doubles(gpu.downloadFloats(glr)), scaleTol(lr, 1e-5 * k));
        }
    }

    /**
     * Each row's outputs are a function of the row alone: rows 1..R-1 computed on their own (each one
     * lane group earlier, so in another lane group, warp and, past the first block, block) have the
     * bits they had among all R rows, forward (zK, logDet, logRatio) and backward (dz0 and the row's
     * scratch).
     */
    @ParameterizedTest
    @CsvSource({"3, 1, 4", "3, 33, 2", "1025, 3, 3", "1025, 33, 2", "8193, 1, 2", "8193, 3, 5", "8193, 33, 1", "1025, 42, 3"})
    void rowBitsDoNotDependOnWhereTheRowRuns(int rows, int zd, int k) {
        long seed = 7500L * rows + 10L * zd + k;
        int cols = k * (2 * zd + 2), rest = rows - 1;
        float[] z0 = floats(Rand.normal(seed, rows * zd, 1)), u = floats(Rand.normal(seed + 1, k * zd, 0.7));
        float[] w = floats(Rand.normal(seed + 2, k * zd, 0.7)), bb = floats(Rand.normal(seed + 3, k, 0.3));
        float[] lr0 = floats(Rand.normal(seed + 4, rows, 1)), dzk = floats(Rand.normal(seed + 5, rows * zd, 0.1));
        float[][] all = run(z0, u, w, bb, lr0, dzk, rows, zd, k);
        float[][] shifted = run(rowsFrom(z0, 1, zd), u, w, bb, rowsFrom(lr0, 1, 1), rowsFrom(dzk, 1, zd), rest, zd, k);
        String at = rows + " rows, Z=" + zd + " K=" + k + ", rows 1.. alone";
        String[] what = {"zK", "logDet", "logRatio", "dz0", "scratch"};
        int[] width = {zd, 1, 1, zd, cols};
        for (int i = 0; i < what.length; i++) {
            assertBits(what[i] + " " + at, rowsFrom(all[i], 1, width[i]), shifted[i]);
        }
    }

    private static float[][] run(float[] z0, float[] u, float[] w, float[] bb, float[] lr0, float[] dzk, int rows, int zd, int k) {
        int cols = k * (2 * zd + 2);
        try (Tensor gz0 = gpu.upload(z0, Shape.of(rows, zd)); Tensor gu = gpu.upload(u, Shape.of(k, zd));
             Tensor gw = gpu.upload(w, Shape.of(k, zd)); Tensor gb = gpu.upload(bb, Shape.of(k));
             Tensor gzk = poisoned(gpu, DType.F32, rows, zd); Tensor gld = poisoned(gpu, DType.F32, rows);
             Tensor glr = gpu.upload(lr0, Shape.of(rows)); Tensor gdzk = gpu.upload(dzk, Shape.of(rows, zd));
             Tensor gdz = poisoned(gpu, DType.F32, rows, zd); Tensor gdu = poisoned(gpu, DType.F32, k, zd);
             Tensor gdw = poisoned(gpu, DType.F32, k, zd); Tensor gdb = poisoned(gpu, DType.F32, k);
             Tensor gsc = poisoned(gpu, DType.F32, rows, cols)) {
            gpu.planarForward(gz0, gu, gw, gb, gzk, gld, null, glr);
            gpu.planarBackward(gz0, gu, gw, gb, gdzk, 0.01, gdz, gdu, gdw, gdb, gsc);
            return new float[][] {gpu.downloadFloats(gzk), gpu.downloadFloats(gld), gpu.downloadFloats(glr),
                    gpu.downloadFloats(gdz), gpu.downloadFloats(gsc)};
        }
    }
}
