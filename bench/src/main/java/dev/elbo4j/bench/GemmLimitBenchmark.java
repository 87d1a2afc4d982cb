package dev.elbo4j.bench;

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
 * The compute limit: one large square product C = A B through {@link Backend#gemm}, n x n x n
 * (8192: 1.1 TFLOP, three 256 MiB matrices), FP32 or TF32. Its GFLOP/s is the "measured GEMM
 * rate" of the roofline in docs/PERFORMANCE.md. On the CPU use a smaller n (-p n=1024).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GemmLimitBenchmark {
    static final int OPS = 4;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"fp32", "tf32"})
    public String precision;

    @Param({"8192"})
    public int n;

    private Backend backend;
    private Tensor a, b, c;
    private final Runnable body = this::ops;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device, precision);
        a = backend.alloc(DType.F32, n, n);
        b = backend.alloc(DType.F32, n, n);
        c = backend.alloc(DType.F32, n, n);
        backend.fill(a, 0.01);
        backend.fill(b, 0.02);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) backend.gemm(false, false, 1, a, b, 0, c);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void gemm(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
