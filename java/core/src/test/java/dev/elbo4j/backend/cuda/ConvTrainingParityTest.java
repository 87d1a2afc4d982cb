package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
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
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.elbo4j.backend.cuda.Parity.toDouble;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.relativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A conv VAE (28 x 28 grey images, encoder conv:8x4s2p1,16x4s2p1, dense 64, latent 8, decoder
 * deconv:16x4s2p1,8x4s2p1, ReLU, Bernoulli, Adam 1e-3, batch 32) trained on both backends from the
 * same seed on the synthetic discs of {@link CudaTrainingParityTest}: the first step's loss and
 * every parameter's gradient, then {@value #STEPS} steps (losses and parameters) against the CPU with
 * the chaos control of that test, and a second GPU run bit for bit. Every conv op of conv.cu runs in
 * both directions here (im2col/col2im, both permutations, the channel bias + ReLU and its gradient).
 */
class ConvTrainingParityTest {
    private static final int N = 256, SIDE = 28, D = SIDE * SIDE, BATCH = 32, STEPS = 16;
    private static final long SEED = 11;
    private static final double CHAOS = 10;
    private static CpuBackend cpu;
    private static Dataset train;

    @BeforeAll
    static void setUp() {
        cpu = new CpuBackend();
        train = CudaTrainingParityTest.synthetic(N, 3);
    }

    static VaeConfig config() {
        ConvLayout conv = ConvLayout.of(new int[]{SIDE, SIDE}, "conv:8x4s2p1,16x4s2p1", "deconv:16x4s2p1,8x4s2p1");
        return VaeConfig.builder().inputDim(D).encoderHidden(64).latent(8).decoderHidden(64).activation(Activation.RELU)
                .conv(conv).build();
    }

    private record Run(double[] losses, Map<String, float[]> params, Map<String, double[]> firstGrads) {
    }

    /** With {@code nudge}, the first element of the last parameter starts one ulp up (the chaos control). */
    private static Run train(Backend be, int steps, boolean nudge) {
        VaeConfig cfg = config();
        try (Vae vae = Vae.create(be, cfg, SEED); DeviceDataset data = new DeviceDataset(be, train);
             Vae.Pass pass = vae.pass(BATCH, cfg.samples(), true); Adam adam = new Adam(vae.parameters(), AdamConfig.of(1e-3));
             Tensor x = be.alloc(DType.F32, BATCH, D)) {
            List<String> names = new ArrayList<>(vae.parameters().names());
            if (nudge) {
                Tensor b = vae.parameters().value(names.get(names.size() - 1));
                float[] f = floats(be.download(b));
                f[0] = Math.nextUp(f[0]);
                be.write(b, f);
            }
            int perEpoch = N / BATCH;
            double[] losses = new double[steps];
            Map<String, double[]> firstGrads = null;
            for (int s = 0; s < steps; s++) {
                int epoch = s / perEpoch;
                if (s % perEpoch == 0) data.order(dev.elbo4j.rng.Philox.permutation(new RngKey(SEED, Streams.SHUFFLE, epoch), N));
                data.gather((s % perEpoch) * BATCH, Binarization.DYNAMIC, new RngKey(SEED, Streams.BINARIZE, epoch), x);
                pass.run(x, new RngKey(SEED, Streams.LATENT, adam.steps()));
                losses[s] = pass.meanLoss();
                if (s == 0) {
                    firstGrads = new LinkedHashMap<>();
                    for (String name : names) firstGrads.put(name, be.download(vae.parameters().grad(name)));
                }
                adam.step();
            }
            Map<String, float[]> params = new LinkedHashMap<>();
            for (String name : names) params.put(name, floats(be.download(vae.parameters().value(name))));
            return new Run(losses, params, firstGrads);
        }
    }

    @Test
    void oneStepAndAFewStepsTrackTheCpuAndRepeatBitForBit() {
        CudaBackend gpu = GpuAvailable.backend();
        Run c = train(cpu, STEPS, false), control = train(cpu, STEPS, true), g1 = train(gpu, STEPS, false);
        Run g2 = train(gpu, STEPS, false);
        assertEquals(c.losses()[0], g1.losses()[0], 1e-5 * Math.abs(c.losses()[0]), "loss of the first step");
        List<String> report = new ArrayList<>();
        for (String name : c.firstGrads().keySet()) {
            double rel = relativeError(c.firstGrads().get(name), g1.firstGrads().get(name));
            report.add(String.format("%s %.2e", name, rel));
            assertTrue(rel < 1e-4, name + " gradient of the first step: relative error " + rel);
        }
        System.out.println("conv VAE, one step: loss cpu " + c.losses()[0] + " gpu " + g1.losses()[0] + "; gradients " + report);
        report.clear();
        for (String name : c.params().keySet()) {
            double rel = relativeError(toDouble(c.params().get(name)), toDouble(g1.params().get(name)));
            double chaos = relativeError(toDouble(c.params().get(name)), toDouble(control.params().get(name)));
            report.add(String.format("%s %.2e (control %.2e)", name, rel, chaos));
            assertTrue(rel < Math.max(2e-4, CHAOS * chaos), name + " after " + STEPS + " steps: relative difference " + rel
                    + ", a CPU run one ulp away differs by " + chaos);
            assertBits(name + " on a second GPU run", g1.params().get(name), g2.params().get(name));
        }
        double worstLoss = 0;
        for (int s = 0; s < STEPS; s++) worstLoss = Math.max(worstLoss, Math.abs(c.losses()[s] - g1.losses()[s]) / Math.abs(c.losses()[s]));
        assertTrue(worstLoss < 1e-4, "per-step loss differs by up to " + worstLoss + " (relative)");
        assertArrayEquals(g1.losses(), g2.losses(), 0, "losses on a second GPU run");
        assertTrue(g1.losses()[STEPS - 1] < g1.losses()[0], "the GPU run learns: " + g1.losses()[0] + " -> " + g1.losses()[STEPS - 1]);
        System.out.println("conv VAE, " + STEPS + " steps: final loss cpu " + c.losses()[STEPS - 1] + " gpu " + g1.losses()[STEPS - 1]
                + ", worst per-step loss difference " + worstLoss + "; parameters " + report);
    }
}
