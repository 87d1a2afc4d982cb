package dev.elbo4j.backend.cuda;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.StopRequestTest;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.BATCH;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.N;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SEED;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.data;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.train;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Trainer#requestStop()} on the replayed step (one CUDA graph launch per step): a request
 * from another thread after a step's launch ends the run once that step has completed on the
 * device, with the host's step count and position the device's; the run continued on the same
 * trainer, and one resumed from a checkpoint written at the stop, end with the eager loop's bits.
 */
class GraphStopParityTest {
    /** 13 batches an epoch (the last of 8), 3 epochs. */
    private static final TrainConfig TC = TrainConfig.builder().epochs(3).batchSize(BATCH).seed(SEED).build();

    /** After the launch of global step {@code at}, another thread requests the stop (and has, when this returns). */
    private static TrainListener stopAfterLaunchOf(Trainer t, long at) {
        return new TrainListener() {
            @Override
            public void step(int epoch, int stepInEpoch, long globalStep) {
                if (globalStep != at) return;
                StopRequestTest.requestStopFromAnotherThread(t);
            }
        };
    }

    private static void assertEnd(GraphTrainingParityTest.Outcome expected, CudaBackend be, Vae m, Trainer t, String what) {
        assertBits(what + ": parameters", expected.params(), Parity.floats(be.download(m.parameters().values())));
        assertBits(what + ": m", expected.m(), Parity.floats(be.download(t.optimizer().m())));
        assertBits(what + ": v", expected.v(), Parity.floats(be.download(t.optimizer().v())));
        assertEquals(expected.steps(), t.optimizer().steps(), what + ": Adam steps");
    }

    @Test
    void aStopMidEpochEndsAfterTheLaunchedStepAndGoesOnToTheEagerBits(@TempDir Path dir) throws Exception {
        Dataset train = data(N, 3, -1);
        VaeConfig mc = VaeConfig.builder().inputDim(GraphTrainingParityTest.D).hidden(24).latent(3).build();
        GraphTrainingParityTest.Outcome eager = train(mc, TC, train, false, NanPolicy.STOP, null);
        CudaBackend be = GpuAvailable.backend();
        Path ck = dir.resolve("ck.safetensors");
        try (Vae m = Vae.create(be, mc, TC.seed()); Trainer t = new Trainer(m, train, null, TC)) {
            assertTrue(t.replaysSteps(), "the run replays its steps");
            List<EpochResult> r = t.run(stopAfterLaunchOf(t, 13 + 5));
            assertTrue(t.stopped());
            assertEquals(1, r.size());
            assertEquals(13 + 5, t.optimizer().steps(), "the launched step completed, and no other");
            assertEquals(1, t.epoch());
            assertEquals(5, t.batchInEpoch());
            Checkpoint.save(ck, t, new int[]{train.rows(), train.cols()});
            assertEquals(2, t.run(new TrainListener() {
            }).size(), "the rest of epoch 2, and epoch 3");
            assertFalse(t.stopped());
            assertEnd(eager, be, m, t, "continued on the same trainer");
        }
        Checkpoint c = Checkpoint.load(ck);
        assertEquals(13 + 5, c.state().step(), "the checkpoint holds the stopping step");
        try (Vae m = c.restoreModel(be, Vae.class); Trainer t = new Trainer(m, train, null, c.training())) {
            c.restoreTraining(t);
            assertTrue(t.replaysSteps());
            t.run(new TrainListener() {
            });
            assertEnd(eager, be, m, t, "resumed from the checkpoint written at the stop");
        }
    }

    @Test
    void aStopInAnEpochsLastStepEndsTheEpochFirst() {
        Dataset train = data(N, 3, -1);
        VaeConfig mc = VaeConfig.builder().inputDim(GraphTrainingParityTest.D).hidden(24).latent(3).build();
        GraphTrainingParityTest.Outcome eager = train(mc, TC, train, false, NanPolicy.STOP, null);
        CudaBackend be = GpuAvailable.backend();
        try (Vae m = Vae.create(be, mc, TC.seed()); Trainer t = new Trainer(m, train, null, TC)) {
            List<EpochResult> r = t.run(stopAfterLaunchOf(t, 13));
            assertTrue(t.stopped());
            assertEquals(1, r.size(), "the first epoch ended");
            assertEquals(13, r.getFirst().steps());
            assertEquals(eager.losses().getFirst(), r.getFirst().trainElbo(), "the epoch's loss, read at its end");
            assertEquals(1, t.epoch());
            assertEquals(0, t.batchInEpoch());
            assertEquals(2, t.run(new TrainListener() {
            }).size());
            assertEnd(eager, be, m, t, "continued after the stop at the epoch's end");
        }
    }
}
