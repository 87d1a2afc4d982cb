package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.model.VaeObjective;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A model's own training checks ({@link ModelConfig#checkTraining}) hold for every caller of the
 * library, not only the command line: the trainer refuses what the model cannot be trained with.
 */
class TrainingChecksTest {
    private final Backend be = new CpuBackend();
    private static final NiceConfig NICE = new NiceConfig(784, 1, new int[]{8}, true);
    private static final VaeConfig IWAE = VaeConfig.builder().encoderHidden(8).latent(2).decoderHidden(8).samples(2)
            .objective(VaeObjective.IWAE).build();
    private static final VaeConfig ELBO = VaeConfig.builder().encoderHidden(8).latent(2).decoderHidden(8).build();

    private static Dataset data() {
        return Mnist.train().subset(20);
    }

    private void trainer(ModelConfig cfg, TrainConfig tc) {
        try (Model m = cfg.create(be, DType.F32, 1); Trainer t = new Trainer(m, data(), null, tc)) {
            assertSame(m, t.model());
        }
    }

    private void refused(ModelConfig cfg, TrainConfig tc, String message) {
        try (Model m = cfg.create(be, DType.F32, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(m, data(), null, tc).close());
            assertEquals(message, e.getMessage());
        }
    }

    @Test
    void niceIsNotTrainedOnBinarisedPixels() {
        refused(NICE, TrainConfig.builder().binarization(Binarization.DYNAMIC).build(),
                "--model nice models the 256 grey levels: it needs --binarize none, got dynamic");
        refused(NICE, TrainConfig.builder().binarization(Binarization.FIXED).build(),
                "--model nice models the 256 grey levels: it needs --binarize none, got fixed");
        trainer(NICE, TrainConfig.builder().binarization(Binarization.NONE).build());
    }

    @Test
    void iwaeTakesNoKlWarmup() {
        refused(IWAE, TrainConfig.builder().warmupEpochs(2).build(),
                "--warmup does not apply to --objective iwae (the bound has no separate KL term)");
        trainer(IWAE, TrainConfig.builder().build());
        trainer(ELBO, TrainConfig.builder().warmupEpochs(2).build());
    }

    @Test
    void otherModelsAcceptEverySettingButAWarmupWithoutKlTerm() {
        ModelConfig rbm = new dev.elbo4j.model.RbmConfig(784, 8, 1, true, 5);
        for (Binarization b : Binarization.values()) rbm.checkTraining(b, 0);
        ELBO.checkTraining(Binarization.NONE, 3);
        // A warm-up weights a KL term; a model without one refuses it rather than ignoring it.
        refused(rbm, TrainConfig.builder().warmupEpochs(3).build(), "--warmup: a 'rbm' model has no KL term to warm up");
    }
}
