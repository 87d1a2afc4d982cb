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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * linear.cu's matrix products through {@link Backend#gemm} (cuBLAS SGEMM on CUDA, OpenBLAS or the
 * Java GEMM on the CPU), with the shapes of one training step of the reference model at
 * {@code batch} rows. {@code gemm} names one product (layer.pass: {@code fwd} y = x W^T,
 * {@code dW} = dy^T x, {@code dX} = dy W) or {@code step}: all 11 of a step in the order the step
 * runs them (fc1.dX is never computed: the input needs no gradient). One op is one product, or
 * one step's 11 for {@code step}. FLOPs and bytes per op: bench/traffic.py (2 m n k; A, B read
 * and C written once).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GemmBenchmark {
    static final int OPS = 20;
    /** The step's products in order. */
    static final String[] STEP = {"fc1.fwd", "fc2.fwd", "fc3.fwd", "fc4.fwd", "fc4.dW", "fc4.dX", "fc3.dW", "fc3.dX",
            "fc2.dW", "fc2.dX", "fc1.dW"};

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"fp32", "tf32"})
    public String precision;

    @Param({"128", "1024", "8192"})
    public int batch;

    @Param({"step", "fc1.fwd", "fc2.fwd", "fc3.fwd", "fc4.fwd", "fc4.dW", "fc4.dX", "fc3.dW", "fc3.dX", "fc2.dW",
            "fc2.dX", "fc1.dW"})
    public String gemm;

    private record Product(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
    }

    private Backend backend;
    private Product[] products;
    private final List<Tensor> owned = new ArrayList<>();
    private final Runnable body = this::ops;

    /** in, out of each layer of 784-400-40 / 20-400-784. */
    static int[] layer(String name) {
        return switch (name) {
            case "fc1" -> new int[] {784, 400};
            case "fc2" -> new int[] {400, 40};
            case "fc3" -> new int[] {20, 400};
            case "fc4" -> new int[] {400, 784};
            default -> throw new IllegalArgumentException("unknown layer " + name);
        };
    }

    private Tensor alloc(int rows, int cols) {
        Tensor t = backend.alloc(DType.F32, rows, cols);
        backend.fill(t, 0.01);
        owned.add(t);
        return t;
    }

    private Product product(String name) {
        String[] parts = name.split("\\.");
        if (parts.length != 2) throw new IllegalArgumentException("gemm must be step or layer.pass, got " + name);
        int[] io = layer(parts[0]);
        int in = io[0], out = io[1];
        return switch (parts[1]) {
            case "fwd" -> new Product(false, true, alloc(batch, in), alloc(out, in), alloc(batch, out));
            case "dW" -> new Product(true, false, alloc(batch, out), alloc(batch, in), alloc(out, in));
            case "dX" -> new Product(false, false, alloc(batch, out), alloc(out, in), alloc(batch, in));
            default -> throw new IllegalArgumentException("pass must be fwd, dW or dX, got " + name);
        };
    }

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchDevice.open(device, precision);
        String[] names = gemm.equals("step") ? STEP : new String[] {gemm};
        products = new Product[names.length];
        for (int i = 0; i < names.length; i++) products[i] = product(names[i]);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) {
            for (Product p : products) backend.gemm(p.transA, p.transB, 1, p.a, p.b, 0, p.c);
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void gemm(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : owned) t.close();
        owned.clear();
        if (backend != null) backend.close();
    }
}
