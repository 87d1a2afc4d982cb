package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Metadata that no run could have written is refused as corrupt, naming the file. */
class CheckpointMetadataTest {
    @TempDir
    Path tmp;
    private Path good;

    @BeforeEach
    void write() throws Exception {
        Backend be = new CpuBackend();
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(64).seed(5).build();
        good = tmp.resolve("good.safetensors");
        try (Vae vae = Vae.create(be, VaeConfig.builder().encoderHidden(16).latent(3).decoderHidden(16).build(), 5);
             Trainer t = new Trainer(vae, Mnist.train().subset(128), null, tc)) {
            Checkpoint.save(good, t, new int[]{28, 28});
        }
    }

    /** The checkpoint with metadata {@code section}'s {@code key} replaced by {@code value}. */
    private Path with(String section, String key, Object value) throws Exception {
        SafeTensors.File f = SafeTensors.read(good);
        Map<String, Object> m = new java.util.LinkedHashMap<>(Json.parseObject(f.metadata(section)));
        m.put(key, value);
        f.putMetadata(section, Json.write(m));
        Path p = tmp.resolve(section + "-" + key + ".safetensors");
        SafeTensors.write(p, f);
        return p;
    }

    /** An epoch near 2^31 was accepted and printed as a negative epoch ("resuming at epoch -2147483647"). */
    @Test
    void aPositionBeyondTheRunIsCorrupt() throws Exception {
        Path p = with("state", "epoch", Integer.MAX_VALUE);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Checkpoint.load(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("position epoch 2147483647, batch 0 lies beyond the run's 3 epochs; the file is corrupt"),
                e.getMessage());
        Path q = with("state", "batch_in_epoch", 5);
        assertThrows(DataFormatException.class, () -> Checkpoint.load(q), "step 0 cannot have 5 batches behind it");
    }

    /** Sizes beyond an array escaped as an IllegalArgumentException without the file's name. */
    @Test
    void anImpossibleModelNamesTheFile() throws Exception {
        Path p = with("model", "encoder_hidden", List.of(2_000_000_000));
        DataFormatException e = assertThrows(DataFormatException.class, () -> Checkpoint.load(p));
        assertTrue(e.getMessage().startsWith(p + ": metadata 'model' describes an impossible model: "), e.getMessage());
    }
}
