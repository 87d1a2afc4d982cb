package dev.elbo4j.bench;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
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
 * optim.cu: one Adam update over a flat buffer of {@code n} parameters. 652824 is the reference
 * model (every weight and bias of 784-400-40 / 20-400-784); 67108864 (256 MiB per array) fills
 * the GPU. Bytes per op (bench/traffic.py): read param, grad, m, v; write param, m, v: 28 n.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class OptimBenchmark {
    static final int OPS = 100;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"652824", "67108864"})
    public int n;

    private Backend backend;
    private Tensor p, g, m, v;
    private final AdamConfig cfg = AdamConfig.of(1e-3);
    private long step;
    private final Runnable body = this::ops;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device);
        p = backend.alloc(DType.F32, n);
        g = backend.alloc(DType.F32, n);
        m = backend.alloc(DType.F32, n);
        v = backend.alloc(DType.F32, n);
        backend.fill(p, 0.01);
        backend.fill(g, 1e-3);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) backend.adam(p, g, m, v, cfg, ++step);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void adam(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
