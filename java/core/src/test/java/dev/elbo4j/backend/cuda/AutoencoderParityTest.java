package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Corruption;
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
import java.util.List;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.assertClose;
import static dev.elbo4j.backend.cuda.Parity.assertUlps;
import static dev.elbo4j.backend.cuda.Parity.assertWithin;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
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

    private static double[] toDouble(float[] f) {
        return CudaParityTest.toDouble(f);
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
            // Double sums in row order on both sides, rounded once: equal up to CUDA's and Java's double log.
            assertUlps("rhoHat " + at, down(cq), down(gq), 0);
            assertClose("kl " + at, toDouble(down(ck)), toDouble(down(gk)), 2.4e-7, 1e-12);
            gpu.sparsityBackward(gq, rho, 0.3 / b, gg);
            assertUlps("dCode " + at, down(cg), down(gg), 1);
        }
    }
}
