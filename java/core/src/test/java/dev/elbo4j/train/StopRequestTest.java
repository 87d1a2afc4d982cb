package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Trainer#requestStop()}: a request from another thread while a step is computing ends the
 * run after that step, at a boundary where a checkpoint (or simply running on) continues bit for
 * bit as the run never stopped; a request before the run makes no step; one during an epoch's last
 * step lets the epoch end first.
 */
public class StopRequestTest {
    private static final Backend BE = new CpuBackend();
    private static final int[] IMAGE = {28, 28};
    private static Dataset train;
    /** 3 epochs of 10 batches, the last short. */
    private static final TrainConfig TC = TrainConfig.builder().epochs(3).batchSize(64).seed(11).build();
    /** The parameters of the run never stopped. */
    private static double[] straight;

    @BeforeAll
    static void straightRun() {
        train = Mnist.train().subset(600);
        try (Vae vae = Vae.create(BE, small(), TC.seed()); Trainer t = new Trainer(vae, train, null, TC)) {
            t.run(new TrainListener() {
            });
            straight = BE.download(vae.parameters().values());
        }
    }

    private static VaeConfig small() {
        return VaeConfig.builder().encoderHidden(32).latent(6).decoderHidden(32).samples(2).build();
    }

    /**
     * Records the listener's calls, and, while step {@code stopIn} is between its backward pass and
     * its update, has another thread request the stop (and waits for it to have done so).
     */
    private static final class StopMidStep implements TrainListener {
        private final Trainer t;
        private final long stopIn;
        final List<String> calls = new ArrayList<>();

        StopMidStep(Trainer t, long stopIn) {
            this.t = t;
            this.stopIn = stopIn;
        }

        @Override
        public void epochStart(int epoch, int steps, int done) {
            calls.add("start " + epoch + "/" + done);
        }

        @Override
        public void gradientsReady(int epoch, int stepInEpoch, long step) {
            if (step != stopIn) return;
            requestStopFromAnotherThread(t);
        }

        @Override
        public void step(int epoch, int stepInEpoch, long globalStep) {
            calls.add("step " + globalStep);
        }

        @Override
        public void epochEnd(EpochResult r) {
            calls.add("end " + r.epoch());
        }

        String last() {
            return calls.getLast();
        }
    }

    @Test
    void aStopFromAnotherThreadEndsTheRunAfterTheStepInFlight(@TempDir Path dir) throws Exception {
        Path ck = dir.resolve("ck.safetensors");
        try (Vae vae = Vae.create(BE, small(), TC.seed()); Trainer t = new Trainer(vae, train, null, TC)) {
            StopMidStep l = new StopMidStep(t, 14);
            List<EpochResult> r = t.run(l);
            assertTrue(t.stopped(), "the run says it stopped");
            assertEquals(1, r.size(), "the first epoch was the only one completed");
            assertEquals(14, t.optimizer().steps(), "the step in flight completed, and no other");
            assertEquals(1, t.epoch());
            assertEquals(4, t.batchInEpoch());
            assertEquals("step 14", l.last(), "the listener heard of the stopping step, and of nothing after");
            Checkpoint.save(ck, t, IMAGE);

            // The same trainer goes on where it stopped: the request is spent.
            r = t.run(l);
            assertFalse(t.stopped(), "the continued run finished");
            assertEquals(2, r.size(), "the rest of epoch 2, and epoch 3");
            assertEquals("start 1/4", l.calls.get(l.calls.indexOf("step 14") + 1), "epoch 2 resumed at its batch 4");
            assertArrayEquals(straight, BE.download(vae.parameters().values()), "continued on the same trainer");
        }
        Checkpoint c = Checkpoint.load(ck);
        assertEquals(14, c.state().step(), "the checkpoint holds the stopping step");
        try (Vae vae = c.restoreModel(BE, Vae.class); Trainer t = new Trainer(vae, train, null, c.training())) {
            c.restoreTraining(t);
            t.run(new TrainListener() {
            });
            assertArrayEquals(straight, BE.download(vae.parameters().values()), "resumed from the checkpoint written at the stop");
        }
    }

    @Test
    void aStopRequestedBeforeTheRunMakesNoStep() {
        try (Vae vae = Vae.create(BE, small(), TC.seed()); Trainer t = new Trainer(vae, train, null, TC)) {
            double[] before = BE.download(vae.parameters().values());
            StopMidStep l = new StopMidStep(t, -1);
            t.requestStop();
            assertEquals(List.of(), t.run(l), "no epoch");
            assertTrue(t.stopped());
            assertEquals(List.of(), l.calls, "no listener call: the run never started an epoch");
            assertEquals(0, t.optimizer().steps());
            assertArrayEquals(before, BE.download(vae.parameters().values()), "the parameters untouched");

            t.requestStop();
            assertNull(t.runEpoch(l), "runEpoch, stopped before its first batch, has no figures");
            assertTrue(t.stopped());
            assertEquals(0, t.optimizer().steps());

            assertEquals(3, t.run(l).size(), "the request was spent: the next run trains");
            assertFalse(t.stopped());
            assertArrayEquals(straight, BE.download(vae.parameters().values()));
        }
    }

    @Test
    void aStopDuringAnEpochsLastStepLetsTheEpochEnd() {
        try (Vae vae = Vae.create(BE, small(), TC.seed()); Trainer t = new Trainer(vae, train, null, TC)) {
            StopMidStep l = new StopMidStep(t, 20);
            List<EpochResult> r = t.run(l);
            assertTrue(t.stopped());
            assertEquals(2, r.size(), "the second epoch ended, the third did not start");
            assertEquals("end 2", l.last(), "the epoch's end was reported");
            assertEquals(2, t.epoch());
            assertEquals(0, t.batchInEpoch());
            assertEquals(20, t.optimizer().steps());

            l = new StopMidStep(t, 30);
            assertEquals(1, t.run(l).size());
            assertFalse(t.stopped(), "a request during the run's last step is too late: the run finished");
            assertEquals("end 3", l.last());
            assertArrayEquals(straight, BE.download(vae.parameters().values()));
        }
    }

    @Test
    void runEpochStoppedMidEpochReturnsNullAndGoesOnFromThere() {
        try (Vae vae = Vae.create(BE, small(), TC.seed()); Trainer t = new Trainer(vae, train, null, TC)) {
            StopMidStep l = new StopMidStep(t, 3);
            assertNull(t.runEpoch(l), "an epoch stopped at its batch 3 has no figures");
            assertTrue(t.stopped());
            assertEquals(3, t.batchInEpoch());
            EpochResult r = t.runEpoch(l);
            assertFalse(t.stopped());
            assertEquals(1, r.epoch(), "the same epoch, finished");
            assertEquals(10, r.steps());
            assertEquals(List.of("start 0/0", "step 1", "step 2", "step 3", "start 0/3", "step 4"), l.calls.subList(0, 6));
        }
    }

    /** Calls {@code t.requestStop()} on a thread of its own and returns once that thread has. */
    public static void requestStopFromAnotherThread(Trainer t) {
        Thread other = new Thread(t::requestStop, "stopper");
        other.start();
        try {
            other.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
