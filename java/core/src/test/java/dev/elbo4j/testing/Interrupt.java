package dev.elbo4j.testing;

import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** A run interrupted mid-training, as a resume test needs it: checkpointed at a step boundary, then stopped. */
public final class Interrupt {
    private Interrupt() {
    }

    private static final class Stop extends RuntimeException {
    }

    /**
     * Runs {@code t} until global step {@code step} has finished, saves the checkpoint {@code ck}
     * there (images of {@code image}) and stops the run; fails if the run ends before that step.
     */
    public static void checkpointAtStep(Trainer t, long step, Path ck, int[] image) {
        assertThrows(Stop.class, () -> t.run(new TrainListener() {
            @Override
            public void step(int epoch, int stepInEpoch, long globalStep) {
                if (globalStep == step) {
                    try {
                        Checkpoint.save(ck, t, image);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    throw new Stop();
                }
            }
        }));
    }
}
