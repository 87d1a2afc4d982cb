package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The checkpoint's model "type" dispatch and the training keys added after the first format. */
class CheckpointTypesTest {
    private final Backend be = new CpuBackend();

    private static VaeConfig small() {
        return VaeConfig.builder().encoderHidden(16).latent(3).decoderHidden(16).build();
    }

    @Test
    void anUnknownModelTypeIsNamedWithTheKnownOnes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.safetensors");
        try (Vae vae = Vae.create(be, small(), 1)) {
            Checkpoint.saveModel(f, vae, new int[]{28, 28});
        }
        SafeTensors.File file = SafeTensors.read(f);
        Map<String, Object> model = Json.parseObject(file.metadata("model"));
        model.put("type", "gan");
        file.putMetadata("model", Json.write(model));
        Path g = dir.resolve("g.safetensors");
        SafeTensors.write(g, file);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Checkpoint.load(g));
        assertTrue(e.getMessage().contains("unknown model type 'gan'") && e.getMessage().contains("vae"), e.getMessage());
    }

    @Test
    void restoringAsTheWrongFamilySaysWhatTheFileHolds(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.safetensors");
        try (Vae vae = Vae.create(be, small(), 1)) {
            Checkpoint.saveModel(f, vae, new int[]{28, 28});
        }
        Checkpoint c = Checkpoint.load(f);
        assertEquals("vae", c.model().type());
        interface Other extends dev.elbo4j.model.Model {
        }
        WrongModelException e = assertThrows(WrongModelException.class, () -> c.restoreModel(be, Other.class));
        assertTrue(e.getMessage().contains("'vae'"), e.getMessage());
        assertEquals("vae", e.held());
        e = assertThrows(WrongModelException.class, () -> c.restoreModel(be, Other.class, "which has no other side"));
        assertEquals("the checkpoint holds a 'vae' model, which has no other side", e.getMessage());
    }

    /** Files written before warm-up and labelled counts existed read as "none". */
    @Test
    void trainingStateWithoutWarmupKeysReadsAsNone(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("c.safetensors");
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(50).warmupEpochs(2.5).seed(4).build();
        try (Vae vae = Vae.create(be, small(), 4); Trainer t = new Trainer(vae, Mnist.train().subset(100), null, tc)) {
            Checkpoint.save(f, t, new int[]{28, 28});
        }
        assertEquals(2.5, Checkpoint.load(f).training().warmupEpochs());
        SafeTensors.File file = SafeTensors.read(f);
        Map<String, Object> training = Json.parseObject(file.metadata("training"));
        training.remove("warmup_epochs");
        training.remove("labelled");
        file.putMetadata("training", Json.write(training));
        Path old = dir.resolve("old.safetensors");
        SafeTensors.write(old, file);
        TrainConfig back = Checkpoint.load(old).training();
        assertEquals(0, back.warmupEpochs());
        assertEquals(0, back.labelled());
        assertEquals(tc.seed(), back.seed());
    }
}
