package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Interrupt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Checkpoint#restoreTraining} puts optimizer moments and a batch position into a trainer:
 * into another model's trainer, or one that batches or shuffles differently, that would resume a
 * different run without a word (or fail on a flat-buffer size). It must refuse, saying why.
 */
class ResumeMismatchTest {
    private final Backend be = new CpuBackend();

    @Test
    void aTrainerOfAnotherModelOrBatchingIsRefused(@TempDir Path dir) throws Exception {
        float[] v = new float[40 * 16];
        Random r = new Random(7);
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
        Dataset data = Dataset.fromFloats(v, null, 4, 4);
        VaeConfig cfg = VaeConfig.builder().inputDim(16).latent(2).hidden(8).build();
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(10).seed(3).build();
        Path ck = dir.resolve("ck.safetensors");
        try (Vae m = Vae.create(be, cfg, 3); Trainer t = new Trainer(m, data, null, tc)) {
            Interrupt.checkpointAtStep(t, 2, ck, new int[] {4, 4});
        }
        Checkpoint c = Checkpoint.load(ck);
        // Same parameter count, other architecture: the moments would fit the flat buffer.
        VaeConfig other = VaeConfig.builder().inputDim(16).latent(2).hidden(8).activation(dev.elbo4j.backend.Activation.TANH).build();
        try (Vae m = Vae.create(be, other, 3); Trainer t = new Trainer(m, data, null, c.training())) {
            assertEquals(m.parameters().count(), c.restoreModel(be).parameters().count());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.restoreTraining(t));
            assertTrue(e.getMessage().startsWith("the trainer's model (") && e.getMessage().contains("checkpoint.restoreModel"),
                    e.getMessage());
        }
        try (Vae m = c.restoreModel(be, Vae.class);
             Trainer t = new Trainer(m, data, null, c.training().toBuilder().batchSize(7).build())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.restoreTraining(t));
            assertTrue(e.getMessage().startsWith("the trainer's batch size 7, seed 3, labelled 0 are not the checkpoint's (10, 3, 0)"),
                    e.getMessage());
        }
        try (Vae m = c.restoreModel(be, Vae.class); Trainer t = new Trainer(m, data, null, c.training().withEpochs(3))) {
            c.restoreTraining(t);
            assertEquals(2, t.batchInEpoch());
            assertEquals(3, t.run(new TrainListener() { }).size());
        }
    }
}
