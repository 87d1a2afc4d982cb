package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.model.VaeObjective;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training with the IWAE objective (k = 5) on MNIST digits raises the importance-sampled test log p(x). */
class IwaeTrainingTest {
    private final Backend be = new CpuBackend();

    @Test
    void iwaeTrainingRaisesTheTestLogLikelihood() {
        Dataset train = Mnist.train().subset(2000), test = Mnist.test().subset(300);
        VaeConfig cfg = VaeConfig.builder().encoderHidden(200).latent(20).decoderHidden(200).samples(5)
                .objective(VaeObjective.IWAE).build();
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(100).seed(3).build();
        try (Vae vae = Vae.create(be, cfg, tc.seed()); DeviceDataset td = new DeviceDataset(be, test)) {
            double before = Evaluator.mean(new Evaluator(vae, td, tc.binarization(), tc.seed()).logLikelihood(20, n -> {
            }));
            List<EpochResult> r;
            try (Trainer t = new Trainer(vae, train, test, tc)) {
                r = t.run(new TrainListener() {
                });
            }
            double after = Evaluator.mean(new Evaluator(vae, td, tc.binarization(), tc.seed()).logLikelihood(20, n -> {
            }));
            System.out.printf(java.util.Locale.ROOT, "IWAE k=5: test log p(x) (k=20) before %.2f, after 2 epochs %.2f; "
                    + "train bound %.2f, test bound (k=5) %.2f%n", before, after, r.getLast().trainElbo(), r.getLast().testElbo());
            assertTrue(before < -500, "an untrained model should be near -543 nats, got " + before);
            assertTrue(after > before + 250, "2 epochs on 2,000 digits should gain 250 nats, got " + before + " -> " + after);
            assertTrue(r.get(1).trainElbo() > r.get(0).trainElbo(), "the training bound should improve across epochs");
            // The test objective of an iwae model is the k = L bound, which log p(x) with k = 20 exceeds on average.
            assertTrue(after > r.getLast().testElbo() - 1, "k=20 estimate " + after + " vs k=5 bound " + r.getLast().testElbo());
            assertEquals(2, r.size());
        }
    }
}
