package dev.elbo4j.bench;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
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
 * data.cu: gather {@code rows} examples of a resident U8 data set (max(60000, rows) x 784) by a
 * shuffled index into F32, scaled, with binarisation {@code none} (what the step benchmark does:
 * the data is already {0,1}) or {@code dynamic} (a Philox draw per pixel, as {@code elbo4j train}
 * does by default). 128 / 1024 / 8192 are the step's batches; 262144 fills the GPU. Bytes per op
 * (bench/traffic.py): read the index and the rows' pixels, write the F32 batch: 5 R D + 4 R.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DataBenchmark {
    static final int OPS = 100;
    static final int D = 784;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"128", "1024", "8192", "262144"})
    public int rows;

    @Param({"none", "dynamic"})
    public String binarize;

    private Backend backend;
    private Tensor data, index, out;
    private Binarization mode;
    private final RngKey key = new RngKey(1, Streams.BINARIZE, 3);
    private final Runnable body = this::ops;

    @Setup(Level.Trial)
    public void setUp() {
        mode = switch (binarize) {
            case "none" -> Binarization.NONE;
            case "dynamic" -> Binarization.DYNAMIC;
            default -> throw new IllegalArgumentException("binarize must be none or dynamic, got " + binarize);
        };
        backend = BenchDevice.open(device);
        int n = Math.max(60_000, rows);
        byte[] px = new byte[n * D];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 2654435761L >>> 24);
        data = backend.upload(px, Shape.of(n, D));
        index = backend.upload(Philox.permutation(new RngKey(1, Streams.SHUFFLE, 0), n), Shape.of(n));
        out = backend.alloc(DType.F32, rows, D);
        backend.synchronize();
    }

    private void ops() {
        for (int i = 0; i < OPS; i++) backend.gather(data, index, 0, mode, key, out);
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void gather(DeviceTimer t) {
        BenchDevice.run(backend, body, OPS, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) backend.close();
    }
}
