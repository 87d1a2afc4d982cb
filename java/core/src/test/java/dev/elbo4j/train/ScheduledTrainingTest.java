package dev.elbo4j.train;

import dev.elbo4j.testing.Interrupt;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The trainer takes each step at the schedule's rate, and a checkpoint carries the schedule. */
class ScheduledTrainingTest {
    private final Backend be = new CpuBackend();
    private static final int[] IMAGE = {28, 28};

    private static VaeConfig small() {
        return VaeConfig.builder().encoderHidden(32).latent(6).decoderHidden(32).build();
    }

    private static TrainConfig config(int epochs, double lr, LrSchedule s) {
        return TrainConfig.builder().epochs(epochs).batchSize(64).seed(5).adam(new AdamConfig(lr, 0.9, 0.999, 1e-4, 0))
                .schedule(s).build();
    }

    private double[] train(Trainer t) {
        t.run(new TrainListener() {
        });
        return be.download(t.model().parameters().values());
    }

    /**
     * A run with multistep:1:0.5 at base rate 2e-3 takes epoch 2 at 1e-3: the same parameters, bit
     * for bit, as an epoch at a constant 2e-3 continued by an epoch at a constant 1e-3.
     */
    @Test
    void eachStepTakesTheScheduledRate(@TempDir Path dir) throws Exception {
        Dataset train = Mnist.train().subset(400);
        double[] scheduled;
        try (Vae vae = Vae.create(be, small(), 5); Trainer t = new Trainer(vae, train, null, config(2, 2e-3, LrSchedule.parse("multistep:1:0.5")))) {
            scheduled = train(t);
        }
        Path ck = dir.resolve("one.safetensors");
        double[] constantOnly;
        try (Vae vae = Vae.create(be, small(), 5); Trainer t = new Trainer(vae, train, null, config(2, 2e-3, LrSchedule.CONSTANT))) {
            constantOnly = train(t);
        }
        try (Vae vae = Vae.create(be, small(), 5); Trainer t = new Trainer(vae, train, null, config(1, 2e-3, LrSchedule.CONSTANT))) {
            train(t);
            Checkpoint.save(ck, t, IMAGE);
        }
        Checkpoint c = Checkpoint.load(ck);
        double[] stitched;
        try (Vae vae = c.restoreModel(be, Vae.class); Trainer t = new Trainer(vae, train, null, config(2, 1e-3, LrSchedule.CONSTANT))) {
            c.restoreTraining(t);
            stitched = train(t);
        }
        assertArrayEquals(stitched, scheduled);
        assertFalse(java.util.Arrays.equals(constantOnly, scheduled), "the schedule must change the second epoch");
    }

    /**
     * Stopped mid-schedule (mid-epoch, just before and after a milestone, and in a cosine's
     * per-step fall), saved and resumed from the file alone: the same parameters, bit for bit, as
     * an uninterrupted run. A checkpoint that lost the schedule would resume at the base rate.
     */
    @Test
    void resumeMidScheduleIsBitExact(@TempDir Path dir) throws Exception {
        Dataset train = Mnist.train().subset(600); // 10 batches of 64 per epoch, the last short
        for (LrSchedule s : new LrSchedule[]{LrSchedule.parse("multistep:1,2:0.3"), LrSchedule.parse("cosine:3:0.05")}) {
            TrainConfig tc = config(3, 3e-3, s);
            double[] straight;
            try (Vae vae = Vae.create(be, small(), 5); Trainer t = new Trainer(vae, train, null, tc)) {
                straight = train(t);
            }
            for (int stopAt : new int[]{9, 10, 14}) {
                Path ck = dir.resolve("ck-" + stopAt + ".safetensors");
                try (Vae vae = Vae.create(be, small(), 5); Trainer t = new Trainer(vae, train, null, tc)) {
                    Interrupt.checkpointAtStep(t, stopAt, ck, IMAGE);
                }
                Checkpoint c = Checkpoint.load(ck);
                assertEquals(s, c.training().schedule(), "the checkpoint's schedule");
                assertEquals(1e-4, c.training().adam().eps());
                try (Vae vae = c.restoreModel(be, Vae.class); Trainer t = new Trainer(vae, train, null, c.training())) {
                    c.restoreTraining(t);
                    assertArrayEquals(straight, train(t), s.spec() + ", resumed after step " + stopAt);
                }
            }
        }
    }
}
