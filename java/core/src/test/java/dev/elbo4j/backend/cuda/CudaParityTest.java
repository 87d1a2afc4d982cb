package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.toDouble;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.assertClose;
import static dev.elbo4j.backend.cuda.Parity.assertMostlyEqual;
import static dev.elbo4j.backend.cuda.Parity.assertUlps;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU parity suite, one operation at a time: every {@link dev.elbo4j.backend.Backend} operation
 * of {@link CudaBackend} against {@link CpuBackend} on odd and large sizes (rows 1, 7, 129, 4097;
 * columns 1, 3, 784, 1025), fresh random inputs per size, every output poisoned with NaN before
 * the call, tolerances as stated in {@code kernels/README.md}. Skipped (with the reasons) where no
 * GPU is usable; {@code -Delbo4j.gpu.required=true} turns that into a failure.
 */
class CudaParityTest {
    static final int[] ROWS = {1, 7, 129, 4097};
    static final int[] COLS = {1, 3, 784, 1025};
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    private static float[] normal(long seed, int n, double scale) {
        return floats(Rand.normal(seed, n, scale));
    }

    private static float[] uniform(long seed, int n, double lo, double hi) {
        return floats(Rand.uniform(seed, n, lo, hi));
    }

    private static Tensor up(float[] v, int... dims) {
        return gpu.upload(v, Shape.of(dims));
    }

    private static Tensor cup(float[] v, int... dims) {
        return cpu.upload(v, Shape.of(dims));
    }

    private static float[] down(Tensor t) {
        return t instanceof DeviceTensor ? gpu.downloadFloats(t) : floats(cpu.download(t));
    }

    static Stream<Arguments> rowsByCols() {
        List<Arguments> a = new ArrayList<>();
        for (int r : ROWS) for (int c : COLS) a.add(Arguments.of(r, c));
        return a.stream();
    }

    static Stream<RngKey> keys() {
        return Stream.of(new RngKey(0, 0, 0), new RngKey(-1L, 255, (1L << 56) - 1),
                new RngKey(0x1122334455667788L, Streams.LATENT, 0x00ab_cdef_1234_5678L), new RngKey(42, Streams.BINARIZE, 7));
    }

    // ---- random streams: integer-exact words and uniforms, normals within 1 ulp -------------------------

    @ParameterizedTest
    @MethodSource("keys")
    void philoxWordsAreExact(RngKey key) {
        int blocks = 4097;
        int[] w = new int[4];
        for (long first : new long[]{0, 0xffff_fff0L, (1L << 40) + 3}) {
            Tensor out = poisoned(gpu, DType.I32, 4 * blocks);
            gpu.philoxWords(key, first, out);
            int[] want = new int[4 * blocks];
            for (int i = 0; i < blocks; i++) {
                Philox.block(key, first + i, w);
                System.arraycopy(w, 0, want, 4 * i, 4);
            }
            assertArrayEquals(want, gpu.downloadInts(out), "key " + key + ", first block " + first);
            out.close();
        }
    }

    @ParameterizedTest
    @MethodSource("keys")
    void uniformsAreExact(RngKey key) {
        for (int n : new int[]{1, 7, 129, 4097, (1 << 20) + 3}) {
            float[] want = new float[n];
            Philox.uniforms(key, 0, want, 0, n);
            try (Tensor out = poisoned(gpu, DType.F32, n + 1)) {
                gpu.uniform(key, out.view(0, n));
                assertBits("uniforms n=" + n, want, down(out.view(0, n)));
                gpu.uniform(key, out.view(1, n));  // 4-byte aligned only: the scalar path
                assertBits("uniforms n=" + n + " unaligned", want, down(out.view(1, n)));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("keys")
    void normalsAgreeWithinOneUlpAndAlmostAlwaysExactly(RngKey key) {
        long differ = 0, total = 0;
        for (int n : new int[]{1, 7, 129, 4097, (1 << 20) + 5}) {
            float[] want = new float[n];
            Philox.normals(key, 0, want, 0, n);
            try (Tensor out = poisoned(gpu, DType.F32, n + 1)) {
                gpu.normal(key, out.view(0, n));
                differ += assertMostlyEqual("normals n=" + n, want, down(out.view(0, n)), 1, 1e-5);
                gpu.normal(key, out.view(1, n));
                assertMostlyEqual("normals n=" + n + " unaligned", want, down(out.view(1, n)), 1, 1e-5);
                total += n;
            }
        }
        System.out.printf("normals %s: %d of %d differ by one ulp%n", key, differ, total);
    }

    @Test
    void aDeviceStepReplacesTheKeysStepAndGraphReplaysAdvanceIt() {
        RngKey base = new RngKey(9, Streams.SAMPLE, 0);
        int n = 1000;
        try (DeviceCounter step = gpu.counter(5); Tensor z = poisoned(gpu, DType.F32, n)) {
            gpu.bindRngStep(Streams.SAMPLE, step);
            try {
                gpu.normal(base, z);
                float[] want = new float[n];
                Philox.normals(base.withStep(5), 0, want, 0, n);
                assertMostlyEqual("step from the device", want, down(z), 1, 1e-3);
                try (CudaGraph g = gpu.capture(() -> {
                    step.add(1);
                    gpu.normal(base, z);
                })) {
                    for (long s = 6; s <= 8; s++) {
                        g.launch();
                        Philox.normals(base.withStep(s), 0, want, 0, n);
                        assertMostlyEqual("replay for step " + s, want, down(z), 1, 1e-3);
                    }
                }
                assertEquals(8, step.get());
            } finally {
                gpu.bindRngStep(Streams.SAMPLE, null);
            }
        }
    }

    // ---- latent.cu ------------------------------------------------------------------------------------

    static Stream<Arguments> latentShapes() {
        List<Arguments> a = new ArrayList<>();
        for (int b : new int[]{1, 7, 129}) for (int z : new int[]{1, 3, 20, 50}) for (int l : new int[]{1, 3}) a.add(Arguments.of(b, z, l));
        a.add(Arguments.of(4097, 20, 1));
        a.add(Arguments.of(128, 1025, 2));
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("latentShapes")
    void latentForward(int b, int zd, int l) {
        int rows = l * b;
        long seed = 1000L * b + 10L * zd + l;
        float[] stats = new float[b * 2 * zd];
        float[] mu = normal(seed, b * zd, 1), lv = normal(seed + 1, b * zd, 0.7);
        for (int i = 0; i < b; i++) {
            System.arraycopy(mu, i * zd, stats, i * 2 * zd, zd);
            System.arraycopy(lv, i * zd, stats, i * 2 * zd + zd, zd);
        }
        RngKey key = new RngKey(seed, Streams.LATENT, seed * 31);
        Tensor cs = cup(stats, b, 2 * zd), ce = cpu.alloc(DType.F32, rows, zd), cz = cpu.alloc(DType.F32, rows, zd);
        Tensor ckl = cpu.alloc(DType.F32, b), clr = cpu.alloc(DType.F32, rows);
        cpu.latentForward(cs, key, ce, cz, ckl, clr);
        try (Tensor gs = up(stats, b, 2 * zd); Tensor ge = poisoned(gpu, DType.F32, rows, zd); Tensor gz = poisoned(gpu, DType.F32, rows, zd);
             Tensor gkl = poisoned(gpu, DType.F32, b); Tensor glr = poisoned(gpu, DType.F32, rows)) {
            gpu.latentForward(gs, key, ge, gz, gkl, glr);
            String at = "B=" + b + " Z=" + zd + " L=" + l;
            float[] eps = down(ce);
            assertMostlyEqual("eps " + at, eps, down(ge), 1, 1e-3);
            float[] z = down(cz);
            double[] zTol = new double[z.length], lrTol = new double[rows], klTol = new double[b];
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < zd; k++) {
                    int src = (r % b) * 2 * zd + k, at2 = r * zd + k;
                    double sd = Math.exp(0.5 * stats[src + zd]);
                    zTol[at2] = 3e-7 * (Math.abs(stats[src]) + sd * Math.abs(eps[at2])) + Float.MIN_VALUE;
                    lrTol[r] += 2e-6 * (z[at2] * (double) z[at2] + eps[at2] * (double) eps[at2] + Math.abs(stats[src + zd]));
                    if (r < b) klTol[r] += 1e-6 * (1 + Math.abs(stats[src + zd]) + stats[src] * (double) stats[src] + Math.exp(stats[src + zd]));
                }
                lrTol[r] += 1e-30;
            }
            assertWithin("z " + at, toDouble(z), toDouble(down(gz)), zTol);
            assertWithin("logRatio " + at, toDouble(down(clr)), toDouble(down(glr)), lrTol);
            assertWithin("kl " + at, toDouble(down(ckl)), toDouble(down(gkl)), klTol);
            // kl and logRatio are optional outputs.
            gpu.latentForward(gs, key, ge, gz, null, null);
            assertMostlyEqual("eps without kl " + at, eps, down(ge), 1, 1e-3);
        }
    }

    @ParameterizedTest
    @MethodSource("latentShapes")
    void latentBackward(int b, int zd, int l) {
        int rows = l * b;
        long seed = 2000L * b + 10L * zd + l;
        float[] stats = normal(seed, b * 2 * zd, 0.8), eps = normal(seed + 1, rows * zd, 1), dz = normal(seed + 2, rows * zd, 0.1);
        Tensor cds = cpu.alloc(DType.F32, b, 2 * zd);
        cpu.latentBackward(cup(stats, b, 2 * zd), cup(eps, rows, zd), cup(dz, rows, zd), 0.37, cds);
        try (Tensor gs = up(stats, b, 2 * zd); Tensor ge = up(eps, rows, zd); Tensor gdz = up(dz, rows, zd);
             Tensor gds = poisoned(gpu, DType.F32, b, 2 * zd)) {
            gpu.latentBackward(gs, ge, gdz, 0.37, gds);
            assertClose("dStats B=" + b + " Z=" + zd + " L=" + l, toDouble(down(cds)), toDouble(down(gds)), 2.4e-7, 1e-12);
        }
    }

    // ---- iwae.cu (issue 6) ------------------------------------------------------------------------------
    // The same double operations in the same order as CpuIwae: results equal after rounding to float
    // unless CUDA's and Java's double exp/log differ by an ulp next to a rounding boundary (1 float ulp).

    static Stream<Arguments> iwaeShapes() {
        List<Arguments> a = new ArrayList<>();
        for (int b : new int[]{1, 7, 129}) for (int l : new int[]{1, 3, 5}) a.add(Arguments.of(b, l));
        a.add(Arguments.of(4097, 2));
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("iwaeShapes")
    void iwaeWeights(int b, int l) {
        int rows = l * b;
        long seed = 3000L * b + l;
        float[] rowLoss = uniform(seed, rows, 50, 250), logRatio = normal(seed + 1, rows, 4);
        Tensor cw = cpu.alloc(DType.F32, rows), cl = cpu.alloc(DType.F32, b);
        cpu.iwaeWeights(cup(rowLoss, rows), cup(logRatio, rows), cw, cl);
        try (Tensor grl = up(rowLoss, rows); Tensor glr = up(logRatio, rows); Tensor gw = poisoned(gpu, DType.F32, rows);
             Tensor gl = poisoned(gpu, DType.F32, b)) {
            gpu.iwaeWeights(grl, glr, gw, gl);
            assertUlps("weights B=" + b + " L=" + l, down(cw), down(gw), 2);
            assertClose("loss B=" + b + " L=" + l, toDouble(down(cl)), toDouble(down(gl)), 2.4e-7, 1e-12);
        }
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void iwaeScaleRows(int r, int d) {
        long seed = 4000L * r + d;
        float[] w = uniform(seed, r, 0, 1), dOut = normal(seed + 1, r * d, 2), lv = normal(seed + 2, d, 0.5);
        double scale = 1.0 / 37;
        Tensor cg = cup(dOut, r, d), cdlv = cpu.alloc(DType.F32, d);
        cpu.iwaeScaleRows(cup(w, r), scale, cg, cup(lv, d), cdlv);
        Tensor cg2 = cup(dOut, r, d);
        cpu.iwaeScaleRows(cup(w, r), scale, cg2, null, null);
        try (Tensor gw = up(w, r); Tensor gg = up(dOut, r, d); Tensor glv = up(lv, d); Tensor gdlv = poisoned(gpu, DType.F32, d);
             Tensor gg2 = up(dOut, r, d)) {
            gpu.iwaeScaleRows(gw, scale, gg, glv, gdlv);
            gpu.iwaeScaleRows(gw, scale, gg2, null, null);
            String at = "R=" + r + " D=" + d;
            assertBits("dOut " + at, down(cg), down(gg));
            assertBits("dOut without logVar " + at, down(cg2), down(gg2));
            assertClose("dLogVar " + at, toDouble(down(cdlv)), toDouble(down(gdlv)), 2.4e-7, 1e-12);
        }
    }

    @ParameterizedTest
    @MethodSource("latentShapes")
    void iwaeLatentBackward(int b, int zd, int l) {
        int rows = l * b;
        long seed = 5000L * b + 10L * zd + l;
        float[] stats = normal(seed, b * 2 * zd, 0.8), eps = normal(seed + 1, rows * zd, 1), z = normal(seed + 2, rows * zd, 1);
        float[] dz = normal(seed + 3, rows * zd, 0.1), w = uniform(seed + 4, rows, 0, 1);
        double scale = 1.0 / b;
        Tensor cds = cpu.alloc(DType.F32, b, 2 * zd);
        cpu.iwaeLatentBackward(cup(stats, b, 2 * zd), cup(eps, rows, zd), cup(z, rows, zd), cup(dz, rows, zd), cup(w, rows), scale, cds);
        try (Tensor gs = up(stats, b, 2 * zd); Tensor ge = up(eps, rows, zd); Tensor gz = up(z, rows, zd); Tensor gdz = up(dz, rows, zd);
             Tensor gw = up(w, rows); Tensor gds = poisoned(gpu, DType.F32, b, 2 * zd)) {
            gpu.iwaeLatentBackward(gs, ge, gz, gdz, gw, scale, gds);
            assertClose("iwae dStats B=" + b + " Z=" + zd + " L=" + l, toDouble(down(cds)), toDouble(down(gds)), 2.4e-7, 1e-12);
        }
    }

    // ---- likelihood.cu --------------------------------------------------------------------------------

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void bernoulli(int b, int d) {
        for (int l : b <= 129 ? new int[]{1, 2} : new int[]{1}) {
            int rows = l * b;
            long seed = 3000L * b + d + l;
            float[] out = normal(seed, rows * d, 3);
            float[] x = uniform(seed + 1, b * d, 0, 1);
            for (int i = 0; i < x.length; i += 2) x[i] = x[i] < 0.5f ? 0 : 1;  // half binary, half grey
            double gs = 1.0 / rows;
            Tensor crl = cpu.alloc(DType.F32, rows), cg = cpu.alloc(DType.F32, rows, d);
            cpu.likelihood(Likelihood.bernoulli(), cup(out, rows, d), cup(x, b, d), null, gs, crl, cg, null);
            try (Tensor go = up(out, rows, d); Tensor gx = up(x, b, d); Tensor grl = poisoned(gpu, DType.F32, rows);
                 Tensor gg = poisoned(gpu, DType.F32, rows, d)) {
                gpu.likelihood(Likelihood.bernoulli(), go, gx, null, gs, grl, gg, null);
                String at = "B=" + b + " D=" + d + " L=" + l;
                assertClose("bernoulli rowLoss " + at, toDouble(down(crl)), toDouble(down(grl)), 2e-6, 1e-6);
                assertClose("bernoulli dOut " + at, toDouble(down(cg)), toDouble(down(gg)), 2.4e-7, 4e-7 * gs);
                gpu.likelihood(Likelihood.bernoulli(), go, gx, null, gs, grl, null, null);  // evaluation: no gradient
                assertClose("bernoulli rowLoss (eval) " + at, toDouble(down(crl)), toDouble(down(grl)), 2e-6, 1e-6);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void gaussian(int b, int d) {
        for (Likelihood lik : List.of(Likelihood.gaussian(0.3), Likelihood.gaussianLearned())) {
            for (int l : b <= 129 ? new int[]{1, 2} : new int[]{1}) {
                int rows = l * b;
                long seed = 4000L * b + d + l;
                float[] out = normal(seed, rows * d, 1), x = uniform(seed + 1, b * d, 0, 1);
                float[] logVar = lik.learnsVariance() ? normal(seed + 2, d, 0.5) : null;
                double gs = 1.0 / rows;
                Tensor crl = cpu.alloc(DType.F32, rows), cg = cpu.alloc(DType.F32, rows, d);
                Tensor cdlv = lik.learnsVariance() ? cpu.alloc(DType.F32, d) : null;
                cpu.likelihood(lik, cup(out, rows, d), cup(x, b, d), logVar == null ? null : cup(logVar, d), gs, crl, cg, cdlv);
                // Tolerances from the magnitudes: each element's terms are float (a few ulp), the sums double.
                double[] rowTol = new double[rows], dlvTol = new double[d];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < d; c++) {
                        double lv = logVar == null ? lik.fixedLogVar() : logVar[c];
                        double diff = out[r * d + c] - x[(r % b) * d + c], sq = diff * diff * Math.exp(-lv);
                        rowTol[r] += 1e-6 * (Math.abs(CpuReferenceConstants.LOG_2PI + lv) + sq);
                        dlvTol[c] += 1e-6 * gs * (1 + sq);
                    }
                }
                try (Tensor go = up(out, rows, d); Tensor gx = up(x, b, d); Tensor grl = poisoned(gpu, DType.F32, rows);
                     Tensor gg = poisoned(gpu, DType.F32, rows, d);
                     Tensor glv = logVar == null ? null : up(logVar, d);
                     Tensor gdlv = logVar == null ? null : poisoned(gpu, DType.F32, d)) {
                    gpu.likelihood(lik, go, gx, glv, gs, grl, gg, gdlv);
                    String at = lik.id() + " B=" + b + " D=" + d + " L=" + l;
                    assertWithin("rowLoss " + at, toDouble(down(crl)), toDouble(down(grl)), rowTol);
                    assertClose("dOut " + at, toDouble(down(cg)), toDouble(down(gg)), 1e-6, 1e-30);
                    if (cdlv != null) assertWithin("dLogVar " + at, toDouble(down(cdlv)), toDouble(down(gdlv)), dlvTol);
                }
            }
        }
    }

    /**
     * The learned variance's column sums in shared memory: D x 8 bytes plus the kernel's 48 static
     * bytes must stay within 48 KiB, so from D = 6139 on the launch takes the global-memory path (a
     * launch that asked for more would fail on a GPU and, held to sm_90's limits, on the emulator).
     */
    @ParameterizedTest
    @ValueSource(ints = {6138, 6139, 6144, 6145})
    void gaussianAtTheSharedMemoryLimit(int d) {
        gaussian(3, d);
    }

    /** Constants the tolerances use. */
    private static final class CpuReferenceConstants {
        static final double LOG_2PI = Math.log(2 * Math.PI);
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void likelihoodMean(int r, int d) {
        float[] out = normal(5000L * r + d, r * d, 4);
        for (Likelihood lik : List.of(Likelihood.bernoulli(), Likelihood.gaussian(1))) {
            Tensor cm = cpu.alloc(DType.F32, r, d);
            cpu.likelihoodMean(lik, cup(out, r, d), cm);
            try (Tensor go = up(out, r, d); Tensor gm = poisoned(gpu, DType.F32, r, d)) {
                gpu.likelihoodMean(lik, go, gm);
                assertUlps("mean " + lik.id() + " " + r + "x" + d, down(cm), down(gm), lik.kind() == Likelihood.Kind.BERNOULLI ? 8 : 0);
            }
        }
    }

    // ---- linear.cu ------------------------------------------------------------------------------------

    static Stream<Arguments> activationsBySize() {
        List<Arguments> a = new ArrayList<>();
        for (Activation act : Activation.values()) for (int r : ROWS) for (int c : COLS) a.add(Arguments.of(act, r, c));
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("activationsBySize")
    void biasActivation(Activation act, int rows, int cols) {
        long seed = 6000L * rows + cols + act.ordinal();
        float[] y = normal(seed, rows * cols, 2), bias = normal(seed + 1, cols, 1);
        long ulps = switch (act) {
            case TANH -> 4;
            case SIGMOID -> 8;
            default -> 0;
        };
        for (boolean withBias : new boolean[]{true, false}) {
            Tensor cy = cup(y, rows, cols);
            cpu.biasActivation(cy, withBias ? cup(bias, cols) : null, act);
            try (Tensor gy = gpu.alloc(DType.F32, rows * cols + 1); Tensor gb = up(bias, cols)) {
                // aligned, then 4-byte aligned (the scalar path)
                for (int off : new int[]{0, 1}) {
                    Tensor v = gy.view(off, rows, cols);
                    gpu.write(v, y);
                    gpu.biasActivation(v, withBias ? gb : null, act);
                    assertUlps(act + " " + rows + "x" + cols + " bias=" + withBias + " offset=" + off, down(cy), down(v), ulps);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("activationsBySize")
    void biasActivationBackward(Activation act, int rows, int cols) {
        long seed = 7000L * rows + cols + act.ordinal();
        float[] pre = normal(seed, rows * cols, 2), dy = normal(seed + 1, rows * cols, 1);
        Tensor cyt = cup(pre, rows, cols);
        cpu.biasActivation(cyt, null, act);
        float[] y = down(cyt);  // outputs of the activation, as the backward sees them
        for (boolean withBias : new boolean[]{true, false}) {
            Tensor cdy = cup(dy, rows, cols), cdb = withBias ? cpu.alloc(DType.F32, cols) : null;
            cpu.biasActivationBackward(cup(y, rows, cols), cdy, act, cdb);
            try (Tensor gy = up(y, rows, cols); Tensor gdy = up(dy, rows, cols);
                 Tensor gdb = withBias ? poisoned(gpu, DType.F32, cols) : null) {
                gpu.biasActivationBackward(gy, gdy, act, gdb);
                String at = act + " " + rows + "x" + cols;
                assertBits("dy " + at, down(cdy), down(gdy));
                if (withBias) {
                    float[] g = down(cdy);
                    double[] tol = new double[cols];
                    // CpuLinear sums each column in float over blocks of 32 rows, then the blocks in
                    // double: a float sum of at most 32 terms is within 31 x 2^-24 of the sum of
                    // their magnitudes. The kernel sums in double (1e-12 covers its order).
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) tol[c] += (31 * 0x1p-24 + 1e-12) * Math.abs(g[r * cols + c]);
                    }
                    float[] want = down(cdb);
                    for (int c = 0; c < cols; c++) tol[c] += Math.ulp(want[c]);
                    assertWithin("dBias " + at, toDouble(want), toDouble(down(gdb)), tol);
                }
            }
        }
    }

    static Stream<Arguments> gemmShapes() {
        List<Arguments> a = new ArrayList<>();
        int[][] mnk = {{1, 1, 1}, {7, 3, 5}, {129, 1025, 784}, {4097, 20, 400}, {128, 784, 400}, {3, 1, 1025}};
        for (int[] s : mnk) for (boolean ta : new boolean[]{false, true}) for (boolean tb : new boolean[]{false, true}) {
            a.add(Arguments.of(s[0], s[1], s[2], ta, tb));
        }
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("gemmShapes")
    void gemm(int m, int n, int k, boolean ta, boolean tb) {
        long seed = 8000L * m + 31L * n + k + (ta ? 1 : 0) + (tb ? 2 : 0);
        float[] a = normal(seed, m * k, 1), bm = normal(seed + 1, k * n, 1), c0 = normal(seed + 2, m * n, 1);
        int[] aDims = ta ? new int[]{k, m} : new int[]{m, k}, bDims = tb ? new int[]{n, k} : new int[]{k, n};
        // |op(A)| |op(B)| in double: the scale of each element's rounding error.
        double[] absA = new double[a.length], absB = new double[bm.length];
        for (int i = 0; i < a.length; i++) absA[i] = Math.abs(a[i]);
        for (int i = 0; i < bm.length; i++) absB[i] = Math.abs(bm[i]);
        Tensor scale = cpu.alloc(DType.F64, m, n);
        cpu.gemm(ta, tb, 1, cpu.upload(absA, Shape.of(aDims)), cpu.upload(absB, Shape.of(bDims)), 0, scale);
        double[] s = cpu.download(scale);
        for (double beta : new double[]{0, -0.5}) {
            Tensor cc = cup(c0, m, n);
            cpu.gemm(ta, tb, 1.25, cup(a, aDims), cup(bm, bDims), beta, cc);
            try (Tensor ga = up(a, aDims); Tensor gb = up(bm, bDims); Tensor gc = beta == 0 ? poisoned(gpu, DType.F32, m, n) : up(c0, m, n)) {
                gpu.gemm(ta, tb, 1.25, ga, gb, beta, gc);
                double[] tol = new double[m * n];
                for (int i = 0; i < tol.length; i++) tol[i] = 1.25 * k * 0x1p-23 * s[i] + 0x1p-22 * Math.abs(c0[i]) + Float.MIN_VALUE;
                assertWithin("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta,
                        cpu.download(cc), toDouble(down(gc)), tol);
            }
        }
    }

    // ---- optim.cu -------------------------------------------------------------------------------------

    @Test
    void adamIsBitExact() {
        for (int n : new int[]{1, 7, 129, 4097, 652_824}) {
            for (double wd : new double[]{0, 0.01}) {
                AdamConfig cfg = new AdamConfig(1e-3, 0.9, 0.999, 1e-8, wd);
                float[] p = normal(n, n, 0.1);
                try (Tensor buf = gpu.alloc(DType.F32, 4 * n + 4)) {
                    for (int off : new int[]{0, 1}) {
                        Tensor gp = buf.view(off, n), gm = buf.view(off + n + 1, n), gv = buf.view(off + 2 * n + 2, n);
                        Tensor gg = gpu.alloc(DType.F32, n);
                        gpu.write(gp, p);
                        gpu.fill(gm, 0);
                        gpu.fill(gv, 0);
                        Tensor cp2 = cup(p, n), cm2 = cpu.alloc(DType.F32, n), cv2 = cpu.alloc(DType.F32, n);
                        for (int step = 1; step <= 5; step++) {
                            float[] g = normal(100L * n + step, n, step == 3 ? 1e-6 : 1);
                            if (step == 4) Arrays.fill(g, 0, Math.min(n, 3), 0f);
                            cpu.adam(cp2, cup(g, n), cm2, cv2, cfg, step);
                            gpu.write(gg, g);
                            gpu.adam(gp, gg, gm, gv, cfg, step);
                        }
                        String at = "n=" + n + " wd=" + wd + " offset=" + off;
                        assertBits("param " + at, down(cp2), down(gp));
                        assertBits("m " + at, down(cm2), down(gm));
                        assertBits("v " + at, down(cv2), down(gv));
                        gg.close();
                    }
                }
            }
        }
    }

    @Test
    void adamWithADeviceStepMatchesTheHostStep() {
        int n = 4097;
        AdamConfig cfg = AdamConfig.of(3e-4);
        float[] p = normal(11, n, 0.1);
        Tensor cp = cup(p, n), cm = cpu.alloc(DType.F32, n), cv = cpu.alloc(DType.F32, n);
        try (Tensor gp = up(p, n); Tensor gm = gpu.alloc(DType.F32, n); Tensor gv = gpu.alloc(DType.F32, n);
             Tensor gg = gpu.alloc(DType.F32, n); DeviceCounter step = gpu.counter(0)) {
            gpu.bindAdamStep(step);
            try {
                for (int s = 1; s <= 20; s++) {
                    float[] g = normal(200 + s, n, 1);
                    cpu.adam(cp, cup(g, n), cm, cv, cfg, s);
                    gpu.write(gg, g);
                    step.add(1);
                    gpu.adam(gp, gg, gm, gv, cfg, s);
                }
            } finally {
                gpu.bindAdamStep(null);
            }
            // Bias corrections folded on the device with CUDA's pow: within an ulp of the host's per step.
            assertClose("param with a device step", toDouble(down(cp)), toDouble(down(gp)), 1e-5, 1e-9);
        }
    }

    // ---- data.cu --------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Binarization.class)
    void gatherIsExact(Binarization mode) {
        int n = 300;
        for (int d : COLS) {
            byte[] pixels = new byte[n * d];
            new SplittableRandom(d).nextBytes(pixels);
            for (int i = 0; i < pixels.length; i += 7) pixels[i] = (byte) (i % 2 == 0 ? 0 : 255);
            int[] index = Philox.permutation(new RngKey(d, Streams.SHUFFLE, 0), n);
            RngKey key = new RngKey(77, mode == Binarization.FIXED ? Streams.FIXED_BINARIZE : Streams.BINARIZE, 3);
            Tensor cdata = cpu.upload(pixels, Shape.of(n, d)), cidx = cpu.upload(index, Shape.of(n));
            try (Tensor gdata = gpu.upload(pixels, Shape.of(n, d)); Tensor gidx = gpu.upload(index, Shape.of(n))) {
                for (int from : new int[]{0, 17}) {
                    int rows = Math.min(129, n - from);
                    Tensor cout = cpu.alloc(DType.F32, rows, d);
                    cpu.gather(cdata, cidx, from, mode, key, cout);
                    try (Tensor gout = poisoned(gpu, DType.F32, rows * d + 1)) {
                        for (int off : new int[]{0, 1}) {
                            Tensor v = gout.view(off, rows, d);
                            gpu.gather(gdata, gidx, from, mode, key, v);
                            assertBits("gather " + mode + " D=" + d + " from=" + from + " offset=" + off, down(cout), down(v));
                        }
                    }
                }
            }
        }
    }

    @Test
    void aBadIndexPoisonsTheRowAndThrowsAtTheNextSynchronisation() {
        int n = 10, d = 784;
        try (Tensor data = gpu.upload(new byte[n * d], Shape.of(n, d)); Tensor idx = gpu.upload(new int[]{3, n, 1}, Shape.of(3));
             Tensor out = poisoned(gpu, DType.F32, 3, d)) {
            gpu.gather(data, idx, 0, Binarization.NONE, new RngKey(1, Streams.BINARIZE, 0), out);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, gpu::synchronize);
            assertTrue(e.getMessage().contains("index " + n + " outside data set of " + n), e.getMessage());
            float[] v = down(out);
            assertTrue(Float.isNaN(v[d]) && Float.isNaN(v[2 * d - 1]), "row 1 is NaN");
            assertEquals(0f, v[0]);
            gpu.synchronize();  // cleared: no second report
        }
    }

    // ---- reduce.cu ------------------------------------------------------------------------------------

    @Test
    void sumsAndAccumulationsAreAccurateAndDeterministic() {
        for (int n : new int[]{0, 1, 7, 129, 4097, (1 << 22) + 1}) {
            float[] f = normal(n + 5, n, 3);
            double abs = 0;
            for (float v : f) abs += Math.abs(v);
            double want = cpu.sum(cup(f, Math.max(n, 0)));
            try (Tensor buf = gpu.alloc(DType.F32, n + 1); Tensor acc = gpu.alloc(DType.F64, 1)) {
                for (int off : new int[]{0, 1}) {
                    Tensor t = buf.view(off, n);
                    gpu.write(t, f);
                    double got = gpu.sum(t);
                    assertEquals(want, got, 1e-13 * abs + 1e-300, "sum n=" + n + " offset=" + off);
                    assertEquals(Double.doubleToRawLongBits(got), Double.doubleToRawLongBits(gpu.sum(t)), "same bits twice");
                    gpu.fill(acc, 1.5);
                    gpu.accumulate(t, 0.25, acc);
                    gpu.accumulate(t, -2, acc);
                    assertEquals(1.5 + 0.25 * want - 2 * want, gpu.download(acc)[0], 1e-12 * abs + 1e-12, "accumulate n=" + n);
                }
            }
            double[] d = Rand.normal(n + 6, n, 1e10);
            int[] ints = new int[n];
            byte[] bytes = new byte[n];
            for (int i = 0; i < n; i++) {
                ints[i] = (int) (d[i] / 1e3);
                bytes[i] = (byte) i;
            }
            try (Tensor td = gpu.upload(d, Shape.of(Math.max(n, 0))); Tensor ti = gpu.upload(ints, Shape.of(n));
                 Tensor tb = gpu.upload(bytes, Shape.of(n))) {
                double absD = Arrays.stream(d).map(Math::abs).sum();
                assertEquals(cpu.sum(cpu.upload(d, Shape.of(n))), gpu.sum(td), 1e-13 * absD + 1e-300, "F64 n=" + n);
                assertEquals(cpu.sum(cpu.upload(ints, Shape.of(n))), gpu.sum(ti), 0, "I32 n=" + n);
                assertEquals(cpu.sum(cpu.upload(bytes, Shape.of(n))), gpu.sum(tb), 0, "U8 n=" + n);
            }
        }
    }

    @Test
    void fillsCopiesAndRoundTrips() {
        for (int n : new int[]{1, 7, 129, 4097}) {
            try (Tensor f = gpu.alloc(DType.F32, n); Tensor d = gpu.alloc(DType.F64, n); Tensor i = gpu.alloc(DType.I32, n);
                 Tensor u = gpu.alloc(DType.U8, n)) {
                assertArrayEquals(new double[n], gpu.download(f), "alloc zero-fills");
                gpu.fill(f, -2.5);
                gpu.fill(d, Math.PI);
                gpu.fill(i, 12345);
                gpu.fill(u, 255);
                double[] fe = new double[n], de = new double[n], ie = new double[n], ue = new double[n];
                Arrays.fill(fe, -2.5);
                Arrays.fill(de, Math.PI);
                Arrays.fill(ie, 12345);
                Arrays.fill(ue, 255);
                assertArrayEquals(fe, gpu.download(f));
                assertArrayEquals(de, gpu.download(d));
                assertArrayEquals(ie, gpu.download(i));
                assertArrayEquals(ue, gpu.download(u));
                try (Tensor f2 = poisoned(gpu, DType.F32, n)) {
                    gpu.copy(f, f2);
                    assertArrayEquals(fe, gpu.download(f2));
                }
            }
        }
    }

    // ---- flow.cu: planar flow ------------------------------------------------------------------------------

    static Stream<Arguments> planarShapes() {
        // batch, Z, K, L
        return Stream.of(Arguments.of(1, 1, 1, 1), Arguments.of(7, 3, 2, 3), Arguments.of(129, 20, 10, 1),
                Arguments.of(1366, 20, 10, 3), Arguments.of(5, 50, 4, 2));
    }

    private static double[] scaleTol(double[] ref, double rel) {
        double m = 0;
        for (double v : ref) m = Math.max(m, Math.abs(v));
        double[] t = new double[ref.length];
        java.util.Arrays.fill(t, rel * Math.max(m, 1));
        return t;
    }

    /** Planar forward: zK, logDet, and kl / logRatio updated in place (read-modify-write, so not poisoned). */
    @ParameterizedTest
    @MethodSource("planarShapes")
    void planarForward(int b, int zd, int k, int l) {
        int rows = b * l;
        long seed = 7000L * b + 10L * zd + k;
        float[] z0 = normal(seed, rows * zd, 1), u = normal(seed + 1, k * zd, 0.7), w = normal(seed + 2, k * zd, 0.7);
        float[] bb = normal(seed + 3, k, 0.3), kl0 = normal(seed + 4, b, 1), lr0 = normal(seed + 5, rows, 1);
        Tensor czk = cpu.alloc(DType.F32, rows, zd), cld = cpu.alloc(DType.F32, rows), ckl = cup(kl0, b), clr = cup(lr0, rows);
        cpu.planarForward(cup(z0, rows, zd), cup(u, k, zd), cup(w, k, zd), cup(bb, k), czk, cld, ckl, clr);
        try (Tensor gz0 = up(z0, rows, zd); Tensor gu = up(u, k, zd); Tensor gw = up(w, k, zd); Tensor gb = up(bb, k);
             Tensor gzk = poisoned(gpu, DType.F32, rows, zd); Tensor gld = poisoned(gpu, DType.F32, rows);
             Tensor gkl = up(kl0, b); Tensor glr = up(lr0, rows)) {
            gpu.planarForward(gz0, gu, gw, gb, gzk, gld, gkl, glr);
            String at = "B=" + b + " Z=" + zd + " K=" + k + " L=" + l;
            double[] zk = toDouble(down(czk)), ld = toDouble(down(cld)), kl = toDouble(down(ckl)), lr = toDouble(down(clr));
            assertWithin("zK " + at, zk, toDouble(down(gzk)), scaleTol(zk, 2e-6 * k));
            assertWithin("logDet " + at, ld, toDouble(down(gld)), scaleTol(ld, 2e-6 * k));
            assertWithin("kl " + at, kl, toDouble(down(gkl)), scaleTol(kl, 1e-5 * k));
            assertWithin("logRatio " + at, lr, toDouble(down(glr)), scaleTol(lr, 1e-5 * k));
        }
    }

    /** Planar backward: dz0 and the flow parameters' gradients (row sums: row order on the CPU, the row-chunked order of columns.cuh on the device). */
    @ParameterizedTest
    @MethodSource("planarShapes")
    void planarBackward(int b, int zd, int k, int l) {
        int rows = b * l;
        long seed = 8000L * b + 10L * zd + k;
        float[] z0 = normal(seed, rows * zd, 1), u = normal(seed + 1, k * zd, 0.7), w = normal(seed + 2, k * zd, 0.7);
        float[] bb = normal(seed + 3, k, 0.3), dzk = normal(seed + 4, rows * zd, 0.1);
        Tensor cdz = cpu.alloc(DType.F32, rows, zd), cdu = cpu.alloc(DType.F32, k, zd), cdw = cpu.alloc(DType.F32, k, zd);
        Tensor cdb = cpu.alloc(DType.F32, k);
        cpu.planarBackward(cup(z0, rows, zd), cup(u, k, zd), cup(w, k, zd), cup(bb, k), cup(dzk, rows, zd), 0.01,
                cdz, cdu, cdw, cdb, cpu.alloc(DType.F32, rows, k * (2 * zd + 2)));
        try (Tensor gz0 = up(z0, rows, zd); Tensor gu = up(u, k, zd); Tensor gw = up(w, k, zd); Tensor gb = up(bb, k);
             Tensor gdzk = up(dzk, rows, zd); Tensor gdz = poisoned(gpu, DType.F32, rows, zd);
             Tensor gdu = poisoned(gpu, DType.F32, k, zd); Tensor gdw = poisoned(gpu, DType.F32, k, zd);
             Tensor gdb = poisoned(gpu, DType.F32, k); Tensor gsc = poisoned(gpu, DType.F32, rows, k * (2 * zd + 2))) {
            gpu.planarBackward(gz0, gu, gw, gb, gdzk, 0.01, gdz, gdu, gdw, gdb, gsc);
            String at = "B=" + b + " Z=" + zd + " K=" + k + " L=" + l;
            double[] dz = toDouble(down(cdz)), du = toDouble(down(cdu)), dw = toDouble(down(cdw)), db = toDouble(down(cdb));
            assertWithin("dz0 " + at, dz, toDouble(down(gdz)), scaleTol(dz, 1e-5 * k));
            assertWithin("dU " + at, du, toDouble(down(gdu)), scaleTol(du, 1e-5 * k));
            assertWithin("dW " + at, dw, toDouble(down(gdw)), scaleTol(dw, 1e-5 * k));
            assertWithin("dB " + at, db, toDouble(down(gdb)), scaleTol(db, 1e-5 * k));
        }
    }

    // ---- flow.cu: NICE ------------------------------------------------------------------------------------

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void niceSplitAndAdd(int n, int d) {
        if (d < 2) return;
        long seed = 9000L * n + d;
        float[] x = new float[n * d];
        float[] r = uniform(seed, n * d, 0, 256);
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.floor(r[i]) / 255f;
        int ca = (d + 1) / 2, cb = d / 2;
        RngKey key = new RngKey(seed, Streams.LATENT, 3);
        Tensor ca1 = cpu.alloc(DType.F32, n, ca), cb1 = cpu.alloc(DType.F32, n, cb);
        cpu.niceSplit(cup(x, n, d), key, ca1, cb1);
        try (Tensor gx = up(x, n, d); Tensor ga = poisoned(gpu, DType.F32, n, ca); Tensor gb = poisoned(gpu, DType.F32, n, cb)) {
            gpu.niceSplit(gx, key, ga, gb);
            assertBits("niceSplit a n=" + n + " D=" + d, down(ca1), down(ga));
            assertBits("niceSplit b n=" + n + " D=" + d, down(cb1), down(gb));
            float[] shift = normal(seed + 1, n * cb, 1);
            cpu.niceAdd(cb1, cup(shift, n, cb), -1);
            try (Tensor gs = up(shift, n, cb)) {
                gpu.niceAdd(gb, gs, -1);
            }
            assertBits("niceAdd n=" + n + " D=" + d, down(cb1), down(gb));
        }
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void nicePrior(int n, int c) {
        long seed = 9100L * n + c;
        float[] h = normal(seed, n * c, 2), s = normal(seed + 1, c, 0.4), lp0 = normal(seed + 2, n, 1);
        for (boolean logistic : new boolean[]{true, false}) {
            Tensor clp = cup(lp0, n), cdh = cpu.alloc(DType.F32, n, c), cds = cpu.alloc(DType.F32, c);
            cpu.nicePrior(cup(h, n, c), cup(s, c), logistic, true, 0.01, clp, cdh, cds);
            try (Tensor gh = up(h, n, c); Tensor gs = up(s, c); Tensor glp = up(lp0, n); Tensor gdh = poisoned(gpu, DType.F32, n, c);
                 Tensor gds = poisoned(gpu, DType.F32, c)) {
                gpu.nicePrior(gh, gs, logistic, true, 0.01, glp, gdh, gds);
                String at = "n=" + n + " C=" + c + (logistic ? " logistic" : " gaussian");
                double[] lp = toDouble(down(clp)), ds = toDouble(down(cds));
                assertWithin("rowLogP " + at, lp, toDouble(down(glp)), scaleTol(lp, 1e-6));
                assertClose("dh " + at, toDouble(down(cdh)), toDouble(down(gdh)), 1e-6, 1e-12);
                assertWithin("ds " + at, ds, toDouble(down(gds)), scaleTol(ds, 1e-6));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void nicePriorSample(int n, int c) {
        long seed = 9200L * n + c;
        float[] s = normal(seed, c, 0.4);
        RngKey key = new RngKey(seed, Streams.SAMPLE, 2);
        for (boolean logistic : new boolean[]{true, false}) {
            Tensor ch = cpu.alloc(DType.F32, n, c);
            cpu.nicePriorSample(key, cup(s, c), logistic, ch);
            try (Tensor gs = up(s, c); Tensor gh = poisoned(gpu, DType.F32, n, c)) {
                gpu.nicePriorSample(key, gs, logistic, gh);
                assertMostlyEqual("nicePriorSample n=" + n + " C=" + c + (logistic ? " logistic" : " gaussian"), down(ch), down(gh), 2, 1e-3);
            }
        }
    }

    // ---- determinism across the fused kernels -----------------------------------------------------------

    @Test
    void everyReductionGivesTheSameBitsTwice() {
        int b = 129, zd = 20, d = 784, rows = 2 * b;
        float[] stats = normal(1, b * 2 * zd, 1), out = normal(2, rows * d, 2), x = uniform(3, b * d, 0, 1);
        float[] lv = normal(4, d, 0.3), y = normal(5, rows * d, 1), dy = normal(6, rows * d, 1);
        RngKey key = new RngKey(5, Streams.LATENT, 9);
        List<float[]> first = null;
        for (int run = 0; run < 2; run++) {
            List<float[]> results = new ArrayList<>();
            try (Tensor gs = up(stats, b, 2 * zd); Tensor ge = gpu.alloc(DType.F32, rows, zd); Tensor gz = gpu.alloc(DType.F32, rows, zd);
                 Tensor gkl = gpu.alloc(DType.F32, b); Tensor glr = gpu.alloc(DType.F32, rows); Tensor go = up(out, rows, d);
                 Tensor gx = up(x, b, d); Tensor glv = up(lv, d); Tensor grl = gpu.alloc(DType.F32, rows);
                 Tensor gg = gpu.alloc(DType.F32, rows, d); Tensor gdlv = gpu.alloc(DType.F32, d); Tensor gy = up(y, rows, d);
                 Tensor gdy = up(dy, rows, d); Tensor gdb = gpu.alloc(DType.F32, d)) {
                gpu.latentForward(gs, key, ge, gz, gkl, glr);
                gpu.likelihood(Likelihood.gaussianLearned(), go, gx, glv, 0.01, grl, gg, gdlv);
                gpu.biasActivationBackward(gy, gdy, Activation.TANH, gdb);
                for (Tensor t : List.of(ge, gz, gkl, glr, grl, gg, gdlv, gdy, gdb)) results.add(down(t));
                results.add(new float[]{(float) gpu.sum(go), (float) (gpu.sum(go) - gpu.sum(go))});
            }
            if (first == null) {
                first = results;
            } else {
                for (int i = 0; i < first.size(); i++) assertBits("output " + i + " on a second run", first.get(i), results.get(i));
            }
        }
    }

    // ==== classify.cu: conditional and semi-supervised models (issue 6) ====

    static Stream<Arguments> classifyShapes() {
        return Stream.of(Arguments.of(1, 2), Arguments.of(7, 10), Arguments.of(129, 3), Arguments.of(4097, 10));
    }

    @ParameterizedTest
    @MethodSource("classifyShapes")
    void softmaxCrossEntropy(int b, int c) {
        long seed = 7000L * b + c;
        float[] logits = normal(seed, b * c, 4), target = uniform(seed + 1, b * c, 0, 1);
        Tensor cl = cpu.alloc(DType.F32, b), cg = cpu.alloc(DType.F32, b, c);
        cpu.softmaxCrossEntropy(cup(logits, b, c), cup(target, b, c), 0.25, cl, cg);
        try (Tensor gl = up(logits, b, c); Tensor gt = up(target, b, c); Tensor loss = poisoned(gpu, DType.F32, b);
             Tensor g = poisoned(gpu, DType.F32, b, c)) {
            gpu.softmaxCrossEntropy(gl, gt, 0.25, loss, g);
            assertClose("xent loss B=" + b + " C=" + c, toDouble(down(cl)), toDouble(down(loss)), 1e-6, 1e-6);
            assertClose("xent dLogits B=" + b + " C=" + c, toDouble(down(cg)), toDouble(down(g)), 1e-6, 1e-7);
            gpu.softmaxCrossEntropy(gl, gt, 0.25, loss, null);
            assertClose("xent loss (no gradient) B=" + b, toDouble(down(cl)), toDouble(down(loss)), 1e-6, 1e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("classifyShapes")
    void unlabelledBound(int b, int c) {
        long seed = 8000L * b + c;
        float[] logits = normal(seed, b * c, 2), rec = uniform(seed + 1, b * c, 50, 200), kl = uniform(seed + 2, b * c, 0, 30);
        Tensor cu = cpu.alloc(DType.F32, b), cw = cpu.alloc(DType.F32, b * c), cg = cpu.alloc(DType.F32, b, c);
        cpu.unlabelledBound(cup(logits, b, c), cup(rec, b * c), cup(kl, b * c), 0.7, Math.log(c), 1.0 / b, cu, cw, cg);
        try (Tensor gl = up(logits, b, c); Tensor gr = up(rec, b * c); Tensor gk = up(kl, b * c); Tensor u = poisoned(gpu, DType.F32, b);
             Tensor w = poisoned(gpu, DType.F32, b * c); Tensor g = poisoned(gpu, DType.F32, b, c)) {
            gpu.unlabelledBound(gl, gr, gk, 0.7, Math.log(c), 1.0 / b, u, w, g);
            String at = "B=" + b + " C=" + c;
            assertClose("U " + at, toDouble(down(cu)), toDouble(down(u)), 1e-6, 1e-5);
            assertClose("weights " + at, toDouble(down(cw)), toDouble(down(w)), 1e-6, 1e-9);
            assertClose("dLogits " + at, toDouble(down(cg)), toDouble(down(g)), 1e-6, 1e-6 / b);
        }
    }

    @ParameterizedTest
    @MethodSource("rowsByCols")
    void scaleRowsIsExact(int r, int n) {
        float[] x = normal(9000L * r + n, r * n, 1), w = uniform(9001L * r + n, r, 0, 1);
        Tensor cx = cup(x, r, n);
        cpu.scaleRows(cx, cup(w, r), 0.125);
        try (Tensor gx = up(x, r, n); Tensor gw = up(w, r)) {
            gpu.scaleRows(gx, gw, 0.125);
            assertBits("scaleRows R=" + r + " N=" + n, down(cx), down(gx));
        }
    }

    @ParameterizedTest
    @MethodSource("classifyShapes")
    void latentBackwardRows(int r, int zd) {
        long seed = 9500L * r + zd;
        float[] stats = normal(seed, r * 2 * zd, 0.8), eps = normal(seed + 1, r * zd, 1), dz = normal(seed + 2, r * zd, 0.1);
        float[] w = uniform(seed + 3, r, 0, 1);
        Tensor cds = cpu.alloc(DType.F32, r, 2 * zd);
        cpu.latentBackwardRows(cup(stats, r, 2 * zd), cup(eps, r, zd), cup(dz, r, zd), cup(w, r), 1.11, 3, cds);
        try (Tensor gs = up(stats, r, 2 * zd); Tensor ge = up(eps, r, zd); Tensor gdz = up(dz, r, zd); Tensor gw = up(w, r);
             Tensor gds = poisoned(gpu, DType.F32, r, 2 * zd)) {
            gpu.latentBackwardRows(gs, ge, gdz, gw, 1.11, 3, gds);
            assertClose("dStats (per-row KL) R=" + r + " Z=" + zd, toDouble(down(cds)), toDouble(down(gds)), 2.4e-7, 1e-12);
        }
    }
}
