package dev.elbo4j.bench;

import dev.elbo4j.backend.Activation;
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
 * linear.cu's elementwise kernels around the products: {@code biasActivation} (y = relu(y + b) in
 * place) and {@code biasActivationBackward} (dy *= relu'(y), dBias = column sums), on a rows x
 * cols activation: 400 is fc1 / fc3's output, 784 fc4's. Bytes per op (bench/traffic.py):
 * forward 8 R C + 4 C, backward 12 R C + 4 C.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BiasActivationBenchmark {
    static final int OPS = 100;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"128", "1024", "8192"})
    public int rows;

    @Param({"400", "784"})
    public int cols;

    private Backend backend;
    private Tensor y, dy, bias, dBias;
    private final Runnable forward = this::forwardOps, backward = this::backwardOps;

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device);
        y = backend.alloc(DType.F32, rows, cols);
        dy = backend.alloc(DType.F32, rows, cols);
        bias = backend.alloc(DType.F32, cols);
        dBias = backend.alloc(DType.F32, cols);
        backend.fill(y, 0.5);
        backend.fill(dy, 0.01);
        backend.synchronize();
    }

    private void forwardOps() {
        for (int i = 0; i < OPS; i++) backend.biasActivation(y, bias, Activation.RELU);
    }

    private void backwardOps() {
        for (int i = 0; i < OPS; i++) backend.biasActivationBackward(y, dy, Activation.RELU, dBias);
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
