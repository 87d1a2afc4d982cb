package dev.elbo4j.backend.cuda;

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
import static dev.elbo4j.backend.cuda.Parity.assertMostlyEqual;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU parity of {@code kernels/rbm.cu} (the cases of {@link CudaParityTest} for the rbm.cu group,
 * kept in their own class so the branches of issue 7 merge cleanly): the Gibbs half-sweep's logits
 * exact (the same double arithmetic, rounded once), probabilities within 1 ulp (CUDA's double
 * {@code exp} against Java's), draws equal except where the uniform lies within 1 ulp of the
 * probability; the free energy within 1e-6 of the sum of its terms' magnitudes. Skips without a GPU.
 */
class CudaRbmParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    static Stream<Arguments> sizes() {
        List<Arguments> a = new ArrayList<>();
        for (int r : new int[]{1, 7, 129}) for (int c : new int[]{1, 3, 784, 1025}) a.add(Arguments.of(r, c));
        return a.stream();
    }

    private static float[] f(double[] d) {
        return floats(d);
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void gibbsHalfSweep(int rows, int cols) {
        float[] pre = f(Rand.normal(100L * rows + cols, rows * cols, 3)), bias = f(Rand.normal(cols, cols, 1)),
                base = f(Rand.normal(cols + 1, cols, 1));
        RngKey key = new RngKey(7, Streams.LATENT, rows);
        for (double beta : new double[]{1, 0.3, 0}) {
            Tensor ca = cpu.upload(pre, Shape.of(rows, cols)), cp = cpu.alloc(DType.F32, rows, cols), cs = cpu.alloc(DType.F32, rows, cols);
            cpu.rbmGibbsHalf(ca, cpu.upload(bias, Shape.of(cols)), beta, beta == 1 ? null : cpu.upload(base, Shape.of(cols)), key, cp, cs);
            try (Tensor ga = gpu.upload(pre, Shape.of(rows, cols)); Tensor gb = gpu.upload(bias, Shape.of(cols));
                 Tensor gbase = gpu.upload(base, Shape.of(cols)); Tensor gp = poisoned(gpu, DType.F32, rows, cols);
                 Tensor gs = poisoned(gpu, DType.F32, rows, cols)) {
                gpu.rbmGibbsHalf(ga, gb, beta, beta == 1 ? null : gbase, key, gp, gs);
                String what = "gibbs " + rows + "x" + cols + " beta " + beta;
                assertBits(what + " logits", f(cpu.download(ca)), gpu.downloadFloats(ga));
                float[] p = f(cpu.download(cp));
                assertMostlyEqual(what + " probs", p, gpu.downloadFloats(gp), 1, 1e-3);
                float[] s = f(cpu.download(cs)), g = gpu.downloadFloats(gs);
                int[] w = new int[4];
                for (int j = 0; j < s.length; j++) {
                    if (s[j] == g[j]) continue;
                    Philox.block(key, j / 4, w);
                    float u = Philox.uniform(w[j % 4]);
                    assertTrue(Math.abs(u - p[j]) <= Math.ulp(p[j]), what + ": draw " + j + " differs away from the boundary");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void freeEnergy(int rows, int vis) {
        int hid = 37;
        float[] v = f(Rand.uniform(rows + vis, rows * vis, 0, 1)), h = f(Rand.normal(rows * 3L + vis, rows * hid, 4));
        float[] b = f(Rand.normal(vis + 5, vis, 1)), c = f(Rand.normal(hid, hid, 1)), base = f(Rand.normal(vis + 9, vis, 1));
        for (double beta : new double[]{1, 0.45}) {
            Tensor out = cpu.alloc(DType.F32, rows);
            cpu.rbmFreeEnergy(cpu.upload(v, Shape.of(rows, vis)), cpu.upload(h, Shape.of(rows, hid)), cpu.upload(b, Shape.of(vis)),
                    cpu.upload(c, Shape.of(hid)), beta, beta == 1 ? null : cpu.upload(base, Shape.of(vis)), out);
            try (Tensor gv = gpu.upload(v, Shape.of(rows, vis)); Tensor gh = gpu.upload(h, Shape.of(rows, hid));
                 Tensor gb = gpu.upload(b, Shape.of(vis)); Tensor gc = gpu.upload(c, Shape.of(hid));
                 Tensor gbase = gpu.upload(base, Shape.of(vis)); Tensor go = poisoned(gpu, DType.F32, rows)) {
                gpu.rbmFreeEnergy(gv, gh, gb, gc, beta, beta == 1 ? null : gbase, go);
                float[] e = f(cpu.download(out)), a = gpu.downloadFloats(go);
                for (int r = 0; r < rows; r++) {
                    double mag = 0;
                    for (int i = 0; i < vis; i++) mag += Math.abs(b[i] * v[r * vis + i]) + Math.abs(base[i] * v[r * vis + i]);
                    for (int j = 0; j < hid; j++) mag += Math.abs(h[r * hid + j]) + Math.abs(c[j]) + 1;
                    assertEquals(e[r], a[r], 1e-6 * mag + Math.ulp(e[r]), "free energy row " + r + " beta " + beta);
                }
            }
        }
    }
}
