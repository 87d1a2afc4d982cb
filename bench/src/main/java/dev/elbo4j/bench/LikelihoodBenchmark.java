package dev.elbo4j.bench;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
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
 * likelihood.cu: the Bernoulli negative log-likelihood and its gradient in one pass (training:
 * dOut written), D = 784, one sample per input. {@code rows} 128 / 1024 / 8192 are the step's
 * shapes; 131072 fills the GPU (each array 392 MiB). Bytes per op (bench/traffic.py): read out and
 * x, write dOut and rowLoss: 12 R D + 4 R.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LikelihoodBenchmark {
    static final int OPS = 100;
    static final int D = 784;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"128", "1024", "8192", "131072"})
    public int rows;

    private Backend backend;
    private Tensor out, x, rowLoss, dOut;
    private final Likelihood lik = Likelihood.bernoulli();
    private final Runnable body = this::ops;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device);
        out = backend.alloc(DType.F32, rows, D);
        x = backend.alloc(DType.F32, rows, D);
        rowLoss = backend.alloc(DType.F32, rows);
        dOut = backend.alloc(DType.F32, rows, D);
        backend.fill(out, 0.25);
        backend.fill(x, 1);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) backend.likelihood(lik, out, x, null, 1.0 / rows, rowLoss, dOut, null);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void bernoulli(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
