package dev.elbo4j.bench;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cuda.CudaBackend;
import dev.elbo4j.backend.cuda.BatchCursor;
import dev.elbo4j.backend.cuda.CudaGraph;
import dev.elbo4j.backend.cuda.StepGuard;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * One training step of the reference VAE (784-400-20 / 20-400-784, ReLU, Bernoulli, Adam 1e-3),
 * exactly the work {@code ../shared/peers/pytorch_vae.py} times: gather a batch from a resident
 * {0,1} data set of 60,000 x 784 by a permutation redrawn every epoch, forward, backward, Adam.
 * The result is time per step; samples/s = batch / that.
 *
 * <ul>
 *   <li>{@code device}: cpu or cuda (cuda fails in setup, with the reasons, where no GPU is usable).</li>
 *   <li>{@code precision}: fp32, or tf32 (CUDA only: cuBLAS TF32 tensor-core GEMMs,
 *       {@link CudaBackend#setTf32}; the peer's {@code --precision tf32}).</li>
 *   <li>{@code mode}: eager (every kernel launched from Java each step, as {@code Trainer} does), or
 *       graph (CUDA only: the whole step captured once as a CUDA graph and replayed with one
 *       {@code cuGraphLaunch}: the batch's rows selected at a device cursor and gathered
 *       ({@link BatchCursor}), forward, backward, the finite check and the guarded Adam with its
 *       per-epoch constant table ({@link StepGuard}); the noise and Adam steps come from the guard's
 *       device counter. The host's work per step is the launch; per epoch, the permutation, the
 *       cursor and the table. The peer's {@code graph} mode copies the batch and draws the noise
 *       outside its graph.)</li>
 *   <li>{@code dense}: hand (the dense layers' bias and activation in elbo4j's own kernels), or lt
 *       (CUDA only: cuBLASLt's fused epilogues, {@link CudaBackend#setCublasLt}).</li>
 * </ul>
 *
 * <p>The epochs' permutations are drawn once in setup and cycled (16 of them), so the step pays the
 * permutation's upload (the peer's {@code randperm} on the device) but not a host-side Philox
 * shuffle of 60,000 indices, and allocates nothing itself per epoch: {@code -prof gc}'s
 * {@code gc.alloc.rate.norm} is then the library's own host allocation per step (plus the
 * {@link RngKey} record the eager step creates, 32 bytes unless escape analysis removes it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TrainStepBenchmark {
    static final int EPOCH_ORDERS = 16;
    /** The gather's key: unused without binarisation, but the CUDA backend takes one (null fails there). */
    private static final RngKey UNBINARISED = new RngKey(1, Streams.BINARIZE, 0);

    @Param({"128", "1024", "8192"})
    public int batch;

    @Param({"cpu", "cuda"})
    public String device;

    @Param({"fp32", "tf32"})
    public String precision;

    @Param({"eager", "graph"})
    public String mode;

    @Param({"hand", "lt"})
    public String dense;

    private Backend backend;
    private Vae vae;
    private DeviceDataset data;
    private Adam adam;
    private Vae.Pass pass;
    private Tensor x;
    private int n;
    private int stepInEpoch;
    private int epoch;
    private long step;
    private int[][] orders;
    private StepGuard guard;
    private BatchCursor cursor;
    private double[] epochLr;
    private CudaGraph graph;
    private final Runnable eagerStep = this::eagerStep, graphStep = this::graphStep;

    @Setup(Level.Trial)
    public void setUp() {
        if (!mode.equals("eager") && !mode.equals("graph")) {
            throw new IllegalArgumentException("mode must be eager or graph, got " + mode);
        }
        n = 60_000;
        byte[] px = new byte[n * 784];
        float[] u = new float[px.length];
        Philox.uniforms(new RngKey(0, Streams.INIT, 99), 0, u, 0, u.length);
        for (int i = 0; i < px.length; i++) px[i] = u[i] < 0.5f ? (byte) 255 : 0;
        orders = new int[EPOCH_ORDERS][];
        for (int e = 0; e < EPOCH_ORDERS; e++) orders[e] = Philox.permutation(new RngKey(1, Streams.SHUFFLE, e), n);
        if (!dense.equals("hand") && !dense.equals("lt")) throw new IllegalArgumentException("dense must be hand or lt, got " + dense);
        backend = BenchDevice.open(device, precision);
        if (dense.equals("lt")) BenchDevice.cuda(backend, "dense=lt").setCublasLt(true);
        vae = Vae.create(backend, VaeConfig.builder().build(), 1);
        data = new DeviceDataset(backend, new Dataset(px, null, n, 28, 28));
        adam = new Adam(vae.parameters(), AdamConfig.of(1e-3));
        pass = vae.pass(batch, 1, true);
        x = backend.alloc(vae.dtype(), batch, 784);
        newEpoch();
        if (mode.equals("graph")) capture(BenchDevice.cuda(backend, "mode=graph"));
        backend.synchronize();
    }

    /**
     * Binds the noise step to the guard's device counter, runs the pass once eagerly (scratch
     * buffers get allocated now), captures the whole step.
     */
    private void capture(CudaBackend gpu) {
        int steps = n / batch;
        guard = new StepGuard(gpu, false, 0, 2, steps);
        cursor = new BatchCursor(gpu, batch);
        epochLr = new double[steps];
        java.util.Arrays.fill(epochLr, adam.config().lr());
        gpu.bindRngStep(Streams.LATENT, guard.step());
        RngKey key = new RngKey(1, Streams.LATENT, 0);   // the step comes from the counter
        data.gather(0, Binarization.NONE, UNBINARISED, x);
        pass.run(x, key);
        gpu.synchronize();
        guard.plan(pass.rowLoss(), 1, batch, new Tensor[]{vae.parameters().grads(), vae.parameters().values()}, 1);
        guard.schedule(adam.config(), 1, epochLr);
        graph = gpu.capture(() -> {
            cursor.select(data.orderOnDevice(), batch);
            data.gatherRows(cursor.indices(), Binarization.NONE, UNBINARISED, x);
            pass.run(x, key);
            guard.check();                               // advances the step when the batch is finite
            guard.adam(vae.parameters().values(), vae.parameters().grads(), adam.m(), adam.v(), adam.config());
            cursor.cursor().add(1);
        });
        step = 0;
        stepInEpoch = 0;
        newEpoch();
    }

    private void newEpoch() {
        data.order(orders[epoch++ % EPOCH_ORDERS]);
        stepInEpoch = 0;
        if (guard != null) {                              // graph mode: the epoch's device-side inputs
            cursor.cursor().set(0);
            guard.schedule(adam.config(), step + 1, epochLr);
        }
    }

    private void eagerStep() {
        if ((stepInEpoch + 1) * batch > n) newEpoch();
        data.gather(stepInEpoch++ * batch, Binarization.NONE, UNBINARISED, x);
        pass.run(x, new RngKey(1, Streams.LATENT, step++));
        adam.step();
    }

    private void graphStep() {
        if ((stepInEpoch + 1) * batch > n) newEpoch();
        stepInEpoch++;
        step++;                                          // every step is finite here (the guard would say)
        graph.launch();
    }

    @Benchmark
    public void step(DeviceTimer t) {
        BenchDevice.run(backend, graph == null ? eagerStep : graphStep, 1, t);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (graph != null) graph.close();
        if (cursor != null) cursor.close();
        if (guard != null) guard.close();
        if (x != null) x.close();
        if (pass != null) pass.close();
        if (adam != null) adam.close();
        if (data != null) data.close();
        if (vae != null) vae.close();
        if (backend != null) backend.close();
    }
}
