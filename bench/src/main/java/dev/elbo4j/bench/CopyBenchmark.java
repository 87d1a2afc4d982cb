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
 * The bandwidth limit: a large device-to-device copy through {@link Backend#copy}
 * (cuMemcpyDtoDAsync on CUDA, System.arraycopy on the CPU) of {@code mib} MiB. Bytes per op:
 * 2 x size (read + write). Its GB/s is the "measured copy bandwidth" the kernels and the roofline
 * in docs/PERFORMANCE.md are held against. 1024 MiB is far beyond any L2; on the CPU use -p mib=64.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CopyBenchmark {
    static final int OPS = 10;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"1024"})
    public int mib;

    private Backend backend;
    private Tensor src, dst;
    private final Runnable body = this::ops;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device);
        int floats = Math.multiplyExact(mib, 1 << 18);
        src = backend.alloc(DType.F32, floats);
        dst = backend.alloc(DType.F32, floats);
        backend.fill(src, 1);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) backend.copy(src, dst);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void copy(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
