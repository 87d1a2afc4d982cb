package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Autoencoder;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.toDouble;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.assertClose;
import static dev.elbo4j.backend.cuda.Parity.assertUlps;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU parity of {@code kernels/autoencoder.cu} (the CudaParityTest cases of this kernel group, kept
 * in their own class so the model families' branches do not edit one file): corruption, the
 * sparsity penalty and its gradient against {@link CpuBackend}, outputs poisoned with NaN before
 * each call. Skipped where no GPU is usable, like {@link CudaParityTest}.
 */
class AutoencoderParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    private static float[] down(Tensor t) {
        return t instanceof DeviceTensor ? gpu.downloadFloats(t) : floats(cpu.download(t));
    }

    static Stream<Arguments> corruptCases() {
        List<Arguments> a = new ArrayList<>();
        for (int r : new int[]{1, 7, 129}) for (int c : new int[]{1, 3, 784, 1025}) for (Corruption k : Corruption.values()) a.add(Arguments.of(r, c, k));
        return a.stream();
    }

    /**
     * Copy and mask: exact bits (uniforms are exact). Gaussian: within 2 ulp of the result plus
     * level x 1 ulp of the normal (the normals' own tolerance), and at most 1e-3 of the elements differ.
     */
    @ParameterizedTest
    @MethodSource("corruptCases")
    void corrupt(int rows, int cols, Corruption kind) {
        double level = kind == Corruption.NONE ? 0 : kind == Corruption.MASK ? 0.3 : 0.45;
        long seed = 100L * rows + cols;
        float[] x = floats(Rand.uniform(seed, rows * cols, 0, 1));
        RngKey key = new RngKey(seed, Streams.CORRUPT, seed * 7 + kind.ordinal());
        Tensor co = cpu.alloc(DType.F32, rows, cols);
        cpu.corrupt(kind, level, key, cpu.upload(x, Shape.of(rows, cols)), co);
        float[] want = down(co);
        String at = kind + " " + rows + "x" + cols;
        try (Tensor gx = gpu.upload(x, Shape.of(rows, cols)); Tensor go = poisoned(gpu, DType.F32, rows, cols)) {
            gpu.corrupt(kind, level, key, gx, go);
            float[] got = down(go);
            if (kind == Corruption.GAUSSIAN) {
                float[] eps = new float[want.length];
                Philox.normals(key, 0, eps, 0, eps.length);
                double[] tol = new double[want.length];
                int differ = 0;
                for (int i = 0; i < tol.length; i++) {
                    tol[i] = 2 * Math.ulp(want[i]) + level * Math.ulp(eps[i]);
                    if (want[i] != got[i]) differ++;
                }
                assertWithin(at, toDouble(want), toDouble(got), tol);
                assertTrue(differ <= 1e-3 * want.length + 1, at + ": " + differ + " elements differ");
            } else {
                assertBits(at, want, got);
            }
            gpu.corrupt(kind, level, key, gx, gx);  // in place
            assertBits(at + " in place", got, down(gx));
        }
    }

    static Stream<Arguments> codeShapes() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(7, 3), Arguments.of(128, 20), Arguments.of(129, 1025), Arguments.of(4097, 50));
    }

    @ParameterizedTest
    @MethodSource("codeShapes")
    void sparsity(int b, int z) {
        long seed = 10L * b + z;
        double rho = 0.05;
        float[] code = floats(Rand.uniform(seed, b * z, 0.001, 0.4));
        float[] prior = floats(Rand.normal(seed + 1, b * z, 0.01));
        Tensor cq = cpu.alloc(DType.F32, z), ck = cpu.alloc(DType.F32, z), cg = cpu.upload(prior, Shape.of(b, z));
        cpu.sparsityForward(cpu.upload(code, Shape.of(b, z)), rho, cq, ck);
        cpu.sparsityBackward(cq, rho, 0.3 / b, cg);
        String at = "B=" + b + " Z=" + z;
        try (Tensor gc = gpu.upload(code, Shape.of(b, z)); Tensor gq = poisoned(gpu, DType.F32, z); Tensor gk = poisoned(gpu, DType.F32, z);
             Tensor gg = gpu.upload(prior, Shape.of(b, z))) {
            gpu.sparsityForward(gc, rho, gq, gk);
            // Double sums rounded once to float: the reference adds rows in order, the kernel in row
            // chunks (kernels/columns.cuh); the double sums differ by ~1e-16 relative, which moves the
            // float by at most an ulp next to a rounding boundary. kl: up to CUDA's and Java's double log.
            assertUlps("rhoHat " + at, down(cq), down(gq), 1);
            assertClose("kl " + at, toDouble(down(ck)), toDouble(down(gk)), 2.4e-7, 1e-12);
            gpu.sparsityBackward(gq, rho, 0.3 / b, gg);
            assertUlps("dCode " + at, down(cg), down(gg), 1);
        }
    }

    // ---- the whole model ------------------------------------------------------------------------------

    static Stream<AutoencoderConfig> models() {
        AutoencoderConfig base = AutoencoderConfig.builder().hidden(64).latent(16).build();
        return Stream.of(base.toBuilder().tied(true).corruption(Corruption.MASK, 0.25).sparsity(0.05, 0.1).build(),
                base.toBuilder().reconstruction(AutoencoderConfig.Reconstruction.MSE).corruption(Corruption.GAUSSIAN, 0.2).build());
    }

    private record Run(double[] losses, Map<String, double[]> firstGrads, Map<String, float[]> params, double test) {
    }

    /** 30 Adam steps on synthetic 28 x 28 images (CudaTrainingParityTest's), batch 64, from one seed. */
    private static Run train(Backend be, AutoencoderConfig cfg) {
        int n = 512, batch = 64, steps = 30;
        long seed = 5;
        Dataset data = CudaTrainingParityTest.synthetic(n, 3), test = CudaTrainingParityTest.synthetic(100, 4);
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F32, seed); DeviceDataset dd = new DeviceDataset(be, data);
             DeviceDataset td = new DeviceDataset(be, test); Autoencoder.Pass pass = ae.pass(batch, true);
             Adam adam = new Adam(ae.parameters(), AdamConfig.of(1e-3)); Tensor x = be.alloc(DType.F32, batch, 784)) {
            double[] losses = new double[steps];
            Map<String, double[]> first = null;
            for (int s = 0; s < steps; s++) {
                dd.gather((s % (n / batch)) * batch, Binarization.DYNAMIC, new RngKey(seed, Streams.BINARIZE, s / (n / batch)), x);
                pass.run(x, new RngKey(seed, Streams.LATENT, adam.steps()));
                losses[s] = pass.meanLoss();
                if (s == 0) {
                    first = new LinkedHashMap<>();
                    for (String name : ae.parameters().names()) first.put(name, be.download(ae.parameters().grad(name)));
                }
                adam.step();
            }
            Map<String, float[]> params = new LinkedHashMap<>();
            for (String name : ae.parameters().names()) params.put(name, floats(be.download(ae.parameters().value(name))));
            return new Run(losses, first, params, ae.testObjective(td, Binarization.DYNAMIC, seed));
        }
    }

    /**
     * A training step (loss and every gradient, within 1e-4 relative), 30 steps (parameters within
     * 2e-3, as the VAE's suite), the test figure, and a second GPU run bit for bit.
     */
    @ParameterizedTest
    @MethodSource("models")
    void trainingTracksTheCpuAndRepeats(AutoencoderConfig cfg) {
        Run c = train(cpu, cfg), g = train(gpu, cfg), g2 = train(gpu, cfg);
        assertEquals(c.losses()[0], g.losses()[0], 1e-5 * Math.abs(c.losses()[0]), cfg + ": first loss");
        for (String name : c.firstGrads().keySet()) {
            double rel = Parity.relativeError(c.firstGrads().get(name), g.firstGrads().get(name));
            assertTrue(rel < 1e-4, cfg + ": " + name + " gradient, relative error " + rel);
        }
        for (String name : c.params().keySet()) {
            double rel = Parity.relativeError(toDouble(c.params().get(name)), toDouble(g.params().get(name)));
            assertTrue(rel < 2e-3, cfg + ": " + name + " after 30 steps, relative difference " + rel);
            assertBits(name + " on a second GPU run", g.params().get(name), g2.params().get(name));
        }
        assertArrayEquals(g.losses(), g2.losses(), 0, "losses on a second GPU run");
        assertEquals(c.test(), g.test(), 1e-3 * Math.abs(c.test()), cfg + ": test figure");
    }
}
