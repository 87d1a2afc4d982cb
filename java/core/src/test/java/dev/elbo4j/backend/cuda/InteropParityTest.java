package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.interop.DeviceBuffer;
import dev.elbo4j.interop.ElboKernels;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU suite (in this package so the GPU bundle's run selects it): {@link ElboKernels} on caller-owned buffers (here allocations of the shared
 * {@link CudaBackend}, addressed only by their raw device pointers) and the legacy default stream,
 * against the backend's own operations (the same kernels and launch configuration: the same bits)
 * and the CPU reference (the tolerances of {@code kernels/README.md}), opened through the FFM and
 * the JCuda bindings. Skipped where
 * {@link GpuAvailable} finds no GPU.
 */
class InteropParityTest {
    private static final int B = 33, Z = 20, L = 2, D = 784, R = L * B;
    private static final long STREAM = 0;  // the legacy default stream, as a caller without its own would pass

    private static float[] random(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return v;
    }

    private static DeviceBuffer raw(Tensor t) {
        DeviceTensor d = (DeviceTensor) t;
        return DeviceBuffer.of(d.address(), d.bytes());
    }

    private static float[] bits(CudaBackend gpu, Tensor t) {
        double[] d = gpu.download(t);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void latentAndLikelihoodOnCallerBuffersMatchTheBackendBitForBit() {
        runAgainstTheBackend(ElboKernels::open);
    }

    @Test
    void theSameThroughTheJCudaBinding() {
        runAgainstTheBackend(ordinal -> ElboKernels.open(
                new dev.elbo4j.backend.cuda.jcuda.JCudaBinding(false, LibrarySearch.cublas(), System.out::println), ordinal));
    }

    private static void runAgainstTheBackend(java.util.function.IntFunction<ElboKernels> opener) {
        CudaBackend gpu = GpuAvailable.backend();
        CpuBackend cpu = new CpuBackend();
        RngKey key = new RngKey(5, 3, 17);
        float[] statsHost = random(B * 2 * Z, 1, 1.5), dzHost = random(R * Z, 2, 1), outHost = random(R * D, 3, 4);
        float[] xHost = random(B * D, 4, 0.5);
        for (int i = 0; i < xHost.length; i++) xHost[i] = xHost[i] > 0 ? 1 : 0;
        try (ElboKernels k = opener.apply(gpu.ordinal())) {
            Tensor stats = gpu.upload(statsHost, Shape.of(B, 2 * Z)), dz = gpu.upload(dzHost, Shape.of(R, Z));
            Tensor out = gpu.upload(outHost, Shape.of(R, D)), x = gpu.upload(xHost, Shape.of(B, D));
            Tensor eps1 = gpu.alloc(DType.F32, R, Z), z1 = gpu.alloc(DType.F32, R, Z), kl1 = gpu.alloc(DType.F32, B),
                    lr1 = gpu.alloc(DType.F32, R), ds1 = gpu.alloc(DType.F32, B, 2 * Z), rl1 = gpu.alloc(DType.F32, R),
                    g1 = gpu.alloc(DType.F32, R, D);
            Tensor eps2 = gpu.alloc(DType.F32, R, Z), z2 = gpu.alloc(DType.F32, R, Z), kl2 = gpu.alloc(DType.F32, B),
                    lr2 = gpu.alloc(DType.F32, R), ds2 = gpu.alloc(DType.F32, B, 2 * Z), rl2 = gpu.alloc(DType.F32, R),
                    g2 = gpu.alloc(DType.F32, R, D);
            gpu.latentForward(stats, key, eps1, z1, kl1, lr1);
            gpu.latentBackward(stats, eps1, dz, 0.7, ds1);
            gpu.likelihood(Likelihood.bernoulli(), out, x, null, 0.5, rl1, g1, null);
            gpu.synchronize();  // the uploads and the backend's work are done before the interop stream reads

            k.latentForward(raw(stats), raw(eps2), raw(z2), raw(kl2), raw(lr2), B, Z, L, key, STREAM);
            k.latentBackward(raw(stats), raw(eps2), raw(dz), 0.7, raw(ds2), B, Z, L, STREAM);
            k.bernoulli(raw(out), raw(x), raw(rl2), raw(g2), B, L, D, 0.5f, STREAM);
            k.synchronize(STREAM);

            for (Tensor[] pair : new Tensor[][] {{eps1, eps2}, {z1, z2}, {kl1, kl2}, {lr1, lr2}, {ds1, ds2}, {rl1, rl2}, {g1, g2}}) {
                assertArrayEquals(bits(gpu, pair[0]), bits(gpu, pair[1]), 0f, "interop vs backend");
            }
            // And against the CPU reference: the Bernoulli row losses (2e-6 relative + 1e-6).
            Tensor cOut = cpu.upload(outHost, Shape.of(R, D)), cX = cpu.upload(xHost, Shape.of(B, D));
            Tensor cRl = cpu.alloc(DType.F32, R), cG = cpu.alloc(DType.F32, R, D);
            cpu.likelihood(Likelihood.bernoulli(), cOut, cX, null, 0.5, cRl, cG, null);
            double[] want = cpu.download(cRl), got = gpu.download(rl2);
            for (int r = 0; r < R; r++) assertEquals(want[r], got[r], 2e-6 * Math.abs(want[r]) + 1e-6, "row loss " + r);
            for (Tensor t : new Tensor[] {stats, dz, out, x, eps1, z1, kl1, lr1, ds1, rl1, g1, eps2, z2, kl2, lr2, ds2, rl2, g2}) {
                t.close();
            }
        }
    }
}
