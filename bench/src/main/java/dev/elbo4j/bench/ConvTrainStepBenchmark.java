package dev.elbo4j.bench;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConvLayout;
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
 * One CPU training step of the conv VAE that {@code bench/peers/pytorch_conv_vae.py} times:
 * {@code --encoder conv:32x4s2p1,64x4s2p1 --decoder deconv:64x4s2p1,32x4s2p1 --hidden 256
 * --latent 20}, ReLU, Bernoulli, Adam 1e-3; a batch gathered from a resident {0,1} data set of
 * 60,000 x 784 by a permutation, forward, backward, Adam. Threads: {@code -Delbo4j.threads}
 * (bench/bench-conv-cpu.sh runs both sides on one thread).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ConvTrainStepBenchmark {
    private static final RngKey UNBINARISED = new RngKey(1, Streams.BINARIZE, 0);

    @Param({"128"})
    public int batch;

    private Backend backend;
    private Vae vae;
    private DeviceDataset data;
    private Adam adam;
    private Vae.Pass pass;
    private Tensor x;
    private int n, stepInEpoch, epoch;
    private long step;

    @Setup(Level.Trial)
    public void setUp() {
        n = 60_000;
        byte[] px = new byte[n * 784];
        float[] u = new float[px.length];
        Philox.uniforms(new RngKey(0, Streams.INIT, 99), 0, u, 0, u.length);
        for (int i = 0; i < px.length; i++) px[i] = u[i] < 0.5f ? (byte) 255 : 0;
        backend = new CpuBackend();
        ConvLayout conv = ConvLayout.of(new int[]{28, 28}, "conv:32x4s2p1,64x4s2p1", "deconv:64x4s2p1,32x4s2p1");
        vae = Vae.create(backend, VaeConfig.builder().hidden(256).latent(20).conv(conv).build(), 1);
        data = new DeviceDataset(backend, new Dataset(px, null, n, 28, 28));
        adam = new Adam(vae.parameters(), AdamConfig.of(1e-3));
        pass = vae.pass(batch, 1, true);
        x = backend.alloc(vae.dtype(), batch, 784);
        newEpoch();
    }

    private void newEpoch() {
        data.order(Philox.permutation(new RngKey(1, Streams.SHUFFLE, epoch++), n));
        stepInEpoch = 0;
    }

    @Benchmark
    public void step() {
        if ((stepInEpoch + 1) * batch > n) newEpoch();
        data.gather(stepInEpoch++ * batch, Binarization.NONE, UNBINARISED, x);
        pass.run(x, new RngKey(1, Streams.LATENT, step++));
        adam.step();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        pass.close();
        adam.close();
        data.close();
        vae.close();
        backend.close();
    }
}
