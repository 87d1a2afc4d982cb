package dev.elbo4j.train;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An update that overflows although the loss and gradients are finite (a learning rate or weight
 * decay too large for float32, a non-finite optimizer moment) is caught at its own step with a
 * true message, and no checkpoint is ever written with a non-finite tensor.
 */
class UpdateOverflowTest {
    private final Backend be = new CpuBackend();
    private static final Dataset TRAIN = Mnist.train().subset(320);

    @TempDir
    Path tmp;

    private static VaeConfig small() {
        return VaeConfig.builder().encoderHidden(16).latent(3).decoderHidden(16).build();
    }

    private static TrainConfig config(double lr, double weightDecay) {
        return TrainConfig.builder().epochs(2).batchSize(64).seed(5)
                .adam(new AdamConfig(lr, 0.9, 0.999, 1e-8, weightDecay)).build();
    }

    /** Runs until the trainer stops; returns the exception. */
    private NonFiniteException overflow(TrainConfig tc) {
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            return assertThrows(NonFiniteException.class, () -> t.run(new TrainListener() {
            }));
        }
    }

    /**
     * lr 1e39 (finite as a double, beyond float32): the first update makes every parameter
     * infinite or NaN. The old guard, which looked only at the loss and the gradients, noticed it
     * at step 2 and said "the parameters are those after step 1", which were the broken ones.
     */
    @Test
    void aHugeLearningRateStopsAtTheStepWhoseUpdateOverflowed() {
        NonFiniteException e = overflow(config(1e39, 0));
        assertEquals(1, e.step(), e.getMessage());
        assertTrue(e.getMessage().startsWith("non-finite values after the update of step 1 (epoch 1, batch 1 of 5): parameter "),
                e.getMessage());
        assertTrue(e.getMessage().contains("the update itself overflowed"), e.getMessage());
        assertFalse(e.getMessage().contains("the parameters are those after step 1"), e.getMessage());
    }

    @Test
    void aHugeWeightDecayStopsTheSameWay() {
        NonFiniteException e = overflow(config(1e-3, 1e45));
        assertEquals(1, e.step(), e.getMessage());
        assertTrue(e.getMessage().contains("weight decay 1.0E45"), e.getMessage());
    }

    /**
     * A NaN in Adam's second moment (a hostile or damaged checkpoint): the checkpoint write after
     * the next step refuses, and the file on disk keeps the last good checkpoint byte for byte.
     */
    @Test
    void aCheckpointWithANonFiniteMomentIsNeverWritten() throws Exception {
        TrainConfig tc = config(1e-3, 0);
        Path file = tmp.resolve("checkpoint.safetensors");
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            Checkpoint.save(file, t, new int[]{28, 28});
            byte[] good = Files.readAllBytes(file);
            int n = vae.parameters().size();
            float[] v = new float[n];
            v[3] = Float.NaN;
            t.optimizer().restore(new float[n], v, 0);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> Checkpoint.save(file, t, new int[]{28, 28}));
            assertTrue(e.getMessage().startsWith("refusing to write " + file + " after step 0: optimizer state optim.v (1 of "),
                    e.getMessage());
            assertArrayEquals(good, Files.readAllBytes(file), "the last good checkpoint is untouched");
            try (var s = Files.list(tmp)) {
                assertEquals(1, s.count(), "no temporary file left");
            }
        }
    }

    /** A parameter that went bad (whatever the path that computed it) is refused the same way. */
    @Test
    void aCheckpointWithANonFiniteParameterIsNeverWritten() {
        TrainConfig tc = config(1e-3, 0);
        Path file = tmp.resolve("c.safetensors");
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            float[] p = new float[vae.parameters().size()];
            p[p.length - 1] = Float.NEGATIVE_INFINITY;
            be.write(vae.parameters().values(), p);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> Checkpoint.save(file, t, new int[]{28, 28}));
            assertTrue(e.getMessage().contains(": parameter decoder.1.bias (1 of 784 values non-finite"), e.getMessage());
            assertFalse(Files.exists(file));
        }
    }

    /** Checkpoint.requireFinite names the first bad tensor of a file: what eval, sample and --resume refuse. */
    @Test
    void requireFiniteNamesTheTensor() throws Exception {
        TrainConfig tc = config(1e-3, 0);
        Path file = tmp.resolve("ok.safetensors");
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            Checkpoint.save(file, t, new int[]{28, 28});
        }
        SafeTensors.File f = SafeTensors.read(file);
        float[] w = f.getFloats("encoder.0.bias");
        w[2] = Float.NaN;
        f.putFloats("encoder.0.bias", new int[]{w.length}, w);
        Path bad = tmp.resolve("bad.safetensors");
        SafeTensors.write(bad, f);
        Checkpoint c = Checkpoint.load(bad);
        DataFormatException e = assertThrows(DataFormatException.class, () -> c.requireFinite(false));
        assertTrue(e.getMessage().startsWith(bad + ": parameter encoder.0.bias (1 of 16 values non-finite, first at index 2: NaN)"),
                e.getMessage());
        Checkpoint.load(file).requireFinite(true);
    }

    /** A batch near 2^31: the steps per epoch were computed in int and overflowed to 0 (no training at all). */
    @Test
    void aHugeBatchSizeIsOneStepPerEpoch() {
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(Integer.MAX_VALUE).seed(5).binarization(Binarization.DYNAMIC).build();
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            assertEquals(1, t.stepsPerEpoch());
            t.run(new TrainListener() {
            });
            assertEquals(2, t.optimizer().steps());
        }
    }
}
