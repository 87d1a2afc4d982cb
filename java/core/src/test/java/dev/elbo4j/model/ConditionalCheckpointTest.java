package dev.elbo4j.model;

import dev.elbo4j.testing.Interrupt;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Mnist;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CVAE and M2 checkpoints: the architecture round-trips through the file (ModelConfigs), and a run
 * stopped mid-epoch and resumed from its checkpoint ends with the same parameters, bit for bit,
 * as an uninterrupted one (the labelled batches of M2 included).
 */
class ConditionalCheckpointTest {
    private final Backend be = new CpuBackend();

    private static ModelConfig config(String type) {
        return switch (type) {
            case "cvae" -> new CvaeConfig(784, 10, new int[]{24}, 4, new int[]{20}, Activation.TANH, Likelihood.gaussian(0.3), 2, 0.8);
            case "m2" -> new M2Config(784, 10, new int[]{16}, new int[]{24}, 4, new int[]{20}, Activation.RELU, Likelihood.bernoulli(), 7, 2);
            default -> throw new IllegalArgumentException(type);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"cvae", "m2"})
    void resumeIsBitExactAndTheConfigRoundTrips(String type, @TempDir Path dir) throws Exception {
        Dataset train = Mnist.train().subset(400);
        ModelConfig cfg = config(type);
        // 7 batches per epoch (the last short); M2: 30 labelled examples in batches of 64 -> one labelled batch.
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(64).seed(4).labelled(cfg.labelUse() == LabelUse.SOME ? 30 : 0).build();
        int[] image = {28, 28};
        double[] straight;
        try (Model m = cfg.create(be, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, null, tc)) {
            t.run(new TrainListener() {
            });
            straight = be.download(m.parameters().values());
        }
        Path ck = dir.resolve("ck.safetensors");
        try (Model m = cfg.create(be, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, null, tc)) {
            Interrupt.checkpointAtStep(t, 10, ck, image);
        }
        Checkpoint c = Checkpoint.load(ck);
        assertEquals(cfg, c.model());
        assertEquals(cfg.toJson().keySet(), c.model().toJson().keySet());
        try (Model m = c.restoreModel(be); Trainer t = new Trainer(m, train, null, c.training())) {
            c.restoreTraining(t);
            t.run(new TrainListener() {
            });
            assertArrayEquals(straight, be.download(m.parameters().values()), type + " resumed after step 10");
        }
    }
}
