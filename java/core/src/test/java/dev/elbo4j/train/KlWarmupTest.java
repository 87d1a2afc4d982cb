package dev.elbo4j.train;

import dev.elbo4j.testing.Interrupt;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Mnist;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * KL warm-up (TrainConfig.warmupEpochs, TrainStep.klWeight): the weight acts exactly as a smaller
 * beta, the reported training objective uses the weighted KL, and a checkpointed warm-up run
 * resumes bit for bit.
 */
class KlWarmupTest {
    private final CpuBackend be = new CpuBackend();

    /** A step under KL weight w computes the loss and gradient of the same model with beta * w, bit for bit. */
    @Test
    void aWeightIsABeta() {
        double beta = 0.7, w = 0.3;
        VaeConfig cfg = VaeConfig.builder().inputDim(6).encoderHidden(5).latent(3).decoderHidden(4)
                .activation(Activation.TANH).likelihood(Likelihood.gaussianLearned()).samples(2).beta(beta).build();
        VaeConfig scaled = cfg.toBuilder().beta(w * beta).build();
        Tensor x = be.upload(Rand.uniform(2, 4 * 6, 0, 1), Shape.of(4, 6));
        RngKey key = new RngKey(5, Streams.LATENT, 3);
        try (Vae a = Vae.create(be, cfg, DType.F64, 9); Vae b = Vae.create(be, scaled, DType.F64, 9);
             Vae.Pass pa = a.pass(4, 2, true); Vae.Pass pb = b.pass(4, 2, true)) {
            pa.run(x, key);
            double[] full = be.download(a.parameters().grads());
            pa.klWeight(w);
            pa.run(x, key);
            pb.run(x, key);
            assertEquals(pb.meanLoss(), pa.meanLoss(), 0.0);
            double[] ga = be.download(a.parameters().grads());
            assertArrayEquals(be.download(b.parameters().grads()), ga, 0.0);
            assertFalse(java.util.Arrays.equals(full, ga), "the weight must change the gradient");
        }
    }

    /**
     * With one batch per epoch and a warm-up, the first step's KL weight is 0: the first epoch's
     * reported objective is the plain run's plus the mean KL of the initial model over the data,
     * computed here independently by an evaluation pass (no binarisation, so x is fixed).
     */
    @Test
    void theFirstWarmupEpochReportsTheWeightedKl() {
        Dataset train = Mnist.train().subset(256);
        VaeConfig cfg = VaeConfig.builder().encoderHidden(32).latent(6).decoderHidden(32).build();
        TrainConfig plain = TrainConfig.builder().epochs(1).batchSize(256).seed(4).binarization(Binarization.NONE).build();
        TrainConfig warm = TrainConfig.builder().epochs(1).batchSize(256).seed(4).binarization(Binarization.NONE).warmupEpochs(3).build();
        assertEquals(0, warm.klWeight(0));
        double objPlain = firstEpoch(cfg, train, plain), objWarm = firstEpoch(cfg, train, warm);
        float[] xs = new float[train.n() * train.dim()];
        for (int i = 0; i < xs.length; i++) xs[i] = (train.images()[i] & 0xff) / 255f;
        double klMean;
        try (Vae vae = Vae.create(be, cfg, plain.seed()); Vae.Pass p = vae.pass(train.n(), 1, false)) {
            p.run(be.upload(xs, Shape.of(train.n(), train.dim())), new RngKey(1, Streams.LATENT, 0));
            klMean = be.sum(p.kl()) / train.n();
        }
        System.out.printf(java.util.Locale.ROOT, "first epoch: plain %.4f, warm-up %.4f, mean KL %.4f%n", objPlain, objWarm, klMean);
        assertTrue(klMean > 0.01, "the initial model's KL should not vanish: " + klMean);
        // The reconstruction terms are the same bits in both runs (same data, noise and initial
        // parameters), so the difference is the KL term alone, up to float rounding of its terms.
        assertEquals(klMean, objWarm - objPlain, 1e-4 * klMean);
    }

    private double firstEpoch(VaeConfig cfg, Dataset train, TrainConfig tc) {
        try (Vae vae = Vae.create(be, cfg, tc.seed()); Trainer t = new Trainer(vae, train, null, tc)) {
            List<EpochResult> r = t.run(new TrainListener() {
            });
            return r.getFirst().trainElbo();
        }
    }

    /**
     * A warm-up run stopped mid-warm-up, saved and resumed from the file ends with the same
     * parameters, bit for bit, as an uninterrupted one; the checkpoint keeps warmup_epochs; and the
     * warm-up does change the run (so the comparison is not vacuous).
     */
    @Test
    void aResumedWarmupRunIsBitExact(@TempDir Path dir) throws Exception {
        Dataset train = Mnist.train().subset(600);
        VaeConfig cfg = VaeConfig.builder().encoderHidden(32).latent(6).decoderHidden(32).samples(2).build();
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(64).seed(11).warmupEpochs(2.5).build();
        int[] image = {28, 28};
        double[] straight = train(cfg, train, tc), noWarmup = train(cfg, train,
                TrainConfig.builder().epochs(3).batchSize(64).seed(11).build());
        assertFalse(java.util.Arrays.equals(straight, noWarmup), "warm-up should change the trained parameters");
        for (int stopAt : new int[]{7, 17}) {
            Path ck = dir.resolve("ck-" + stopAt + ".safetensors");
            try (Vae vae = Vae.create(be, cfg, tc.seed()); Trainer t = new Trainer(vae, train, null, tc)) {
                Interrupt.checkpointAtStep(t, stopAt, ck, image);
            }
            Checkpoint c = Checkpoint.load(ck);
            assertEquals(2.5, c.training().warmupEpochs());
            try (Vae vae = c.restoreModel(be, Vae.class); Trainer t = new Trainer(vae, train, null, c.training())) {
                c.restoreTraining(t);
                t.run(new TrainListener() {
                });
                assertArrayEquals(straight, be.download(vae.parameters().values()), "resumed after step " + stopAt);
            }
        }
    }

    private double[] train(VaeConfig cfg, Dataset train, TrainConfig tc) {
        try (Vae vae = Vae.create(be, cfg, tc.seed()); Trainer t = new Trainer(vae, train, null, tc)) {
            t.run(new TrainListener() {
            });
            return be.download(vae.parameters().values());
        }
    }
}
