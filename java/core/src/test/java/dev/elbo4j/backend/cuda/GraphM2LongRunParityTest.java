package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.TrainConfig;
import org.junit.jupiter.api.Test;

import static dev.elbo4j.backend.cuda.GraphM2ParityTest.CLASSES;
import static dev.elbo4j.backend.cuda.GraphM2ParityTest.N;
import static dev.elbo4j.backend.cuda.GraphM2ParityTest.assertSame;
import static dev.elbo4j.backend.cuda.GraphM2ParityTest.m2;
import static dev.elbo4j.backend.cuda.GraphM2ParityTest.train;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SEED;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two hundred steps of M2 replayed against its eager loop ({@link GraphM2ParityTest}'s run); about
 * 140 s on the emulator at a load of 6 on 2 cores, so `make test-emu` runs it and CI's list does not.
 */
class GraphM2LongRunParityTest {
    /**
     * 204 steps: 12 batches of 9 an epoch, the last of 1, against 20 labelled examples in sub-batches
     * of 9, 9 and 2, so batch 11 of every epoch is short on both sides and batches 2, 5 and 8
     * take the short labelled one; a KL warm-up over 2 epochs; dynamic binarisation of both sets.
     */
    @Test
    void twoHundredStepsWithShortBatchesOnBothSidesAndAWarmUpAreTheEagerLoopsBits() {
        Dataset train = data(N, 21, -1, CLASSES), test = data(40, 22, -1, CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(17).batchSize(9).seed(SEED).warmupEpochs(2).labelled(20)
                .adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();
        GraphM2ParityTest.Outcome eager = train(m2(), tc, train, test, false, NanPolicy.STOP, null);
        assertEquals(204, eager.steps());
        assertTrue(eager.losses().getLast() > eager.losses().getFirst(), "the run trains: " + eager.losses());
        assertSame(eager, train(m2(), tc, train, test, true, NanPolicy.STOP, null), "M2, 17 epochs, warm-up 2");
    }
}
