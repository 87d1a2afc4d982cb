package dev.elbo4j.bench;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * latent.cu: {@code latentForward} (noise, reparameterisation, KL; training, so no log ratio) and
 * {@code latentBackward}, one sample per input, Z = 20 as in the reference model. {@code rows} is
 * the batch: 128 / 1024 / 8192 are the step's shapes, 1048576 fills the GPU (stats 160 MiB) for
 * the "85% of copy bandwidth" target. Bytes per op (reads + writes, bench/traffic.py):
 * forward 16 B Z + 4 B, backward 24 B Z.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LatentBenchmark {
    static final int OPS = 100;
    static final int Z = 20;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"128", "1024", "8192", "1048576"})
    public int rows;

    private Backend backend;
    private Tensor stats, eps, z, kl, dz, dStats;
    private final RngKey key = new RngKey(1, Streams.LATENT, 7);
    private final Runnable forward = this::forwardOps, backward = this::backwardOps;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device);
        stats = backend.alloc(DType.F32, rows, 2 * Z);
        eps = backend.alloc(DType.F32, rows, Z);
        z = backend.alloc(DType.F32, rows, Z);
        kl = backend.alloc(DType.F32, rows);
        dz = backend.alloc(DType.F32, rows, Z);
        dStats = backend.alloc(DType.F32, rows, 2 * Z);
        backend.fill(stats, 0.1);
        backend.fill(dz, 0.01);
        backend.latentForward(stats, key, eps, z, kl, null);
        backend.synchronize();
    }

    private void forwardOps() {
        for (int i = 0; i < OPS; i++) backend.latentForward(stats, key, eps, z, kl, null);
    }

    private void backwardOps() {
        for (int i = 0; i < OPS; i++) backend.latentBackward(stats, eps, dz, 1.0 / rows, dStats);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void forward(DeviceTimer t) {
        BenchDevice.run(backend, forward, OPS, t);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void backward(DeviceTimer t) {
        BenchDevice.run(backend, backward, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
