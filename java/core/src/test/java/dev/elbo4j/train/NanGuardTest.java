package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The NaN/Inf guard: faults are injected through the Java API (a NaN written into a gradient
 * before the update, or into a parameter), and both policies are checked.
 */
class NanGuardTest {
    private final Backend be = new CpuBackend();
    private static final Dataset TRAIN = Mnist.train().subset(320);
    // 5 batches of 64 per epoch, 2 epochs: 10 steps.
    private final TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(64).seed(5).build();

    private static VaeConfig small() {
        return VaeConfig.builder().encoderHidden(16).latent(3).decoderHidden(16).build();
    }

    /**
     * Writes {@code value} into element 7 of {@code name}'s gradient just before update
     * {@code atStep}, once (a skipped step keeps its number, so the next batch has it too).
     */
    private TrainListener poisonGradient(Vae vae, String name, long atStep, float value) {
        return new TrainListener() {
            boolean done;

            @Override
            public void gradientsReady(int epoch, int stepInEpoch, long step) {
                if (step == atStep && !done) {
                    done = true;
                    poison(vae.parameters().grad(name), value);
                }
            }
        };
    }

    private void poison(Tensor t, float value) {
        float[] host = new float[t.size()];
        double[] d = be.download(t);
        for (int i = 0; i < host.length; i++) host[i] = (float) d[i];
        host[7] = value;
        be.write(t, host);
    }

    @Test
    void stopNamesTheStepAndTheGradientAndLeavesTheLastGoodState() {
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            double[][] before = new double[1][];
            TrainListener poison = poisonGradient(vae, "decoder.1.weight", 7, Float.NaN);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.run(new TrainListener() {
                @Override
                public void gradientsReady(int epoch, int stepInEpoch, long step) {
                    if (step == 7) before[0] = be.download(vae.parameters().values());
                    poison.gradientsReady(epoch, stepInEpoch, step);
                }
            }));
            assertEquals(7, e.step());
            assertEquals("gradient of decoder.1.weight", e.tensor());
            assertTrue(e.getMessage().contains("step 7 (epoch 2, batch 2 of 5)"), e.getMessage());
            assertTrue(e.getMessage().contains("gradient of decoder.1.weight (1 of "), e.getMessage());
            assertEquals(6, t.optimizer().steps(), "the bad update was not applied");
            assertArrayEquals(before[0], be.download(vae.parameters().values()), "parameters are those after step 6");
        }
    }

    @Test
    void stopNamesAPoisonedParameter() {
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            poison(vae.parameters().value("encoder.0.bias"), Float.POSITIVE_INFINITY);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.run(new TrainListener() {
            }));
            assertEquals(1, e.step());
            assertEquals("parameter encoder.0.bias", e.tensor());
            assertTrue(e.getMessage().contains("first at index 7: Infinity"), e.getMessage());
        }
    }

    @Test
    void skipDropsTheBadBatchAndTrainsOn() {
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            t.onNonFinite(NanPolicy.SKIP);
            List<String> skipped = new java.util.ArrayList<>();
            TrainListener poison = poisonGradient(vae, "encoder.1.weight", 3, Float.NEGATIVE_INFINITY);
            List<EpochResult> r = t.run(new TrainListener() {
                @Override
                public void gradientsReady(int epoch, int stepInEpoch, long step) {
                    poison.gradientsReady(epoch, stepInEpoch, step);
                }

                @Override
                public void stepSkipped(int epoch, int stepInEpoch, long step, String what) {
                    skipped.add(step + " " + what);
                }
            });
            assertEquals(1, skipped.size(), skipped.toString());
            assertTrue(skipped.getFirst().startsWith("3 gradient of encoder.1.weight"), skipped.toString());
            assertEquals(1, t.skippedSteps());
            assertEquals(9, t.optimizer().steps(), "10 batches, one dropped");
            assertEquals(2, r.size());
            assertTrue(Double.isFinite(r.get(0).trainElbo()), "the dropped batch is not in the epoch's loss");
            for (double v : be.download(vae.parameters().values())) assertTrue(Double.isFinite(v));
        }
    }

    @Test
    void skipStillStopsOnAPoisonedParameter() {
        try (Vae vae = Vae.create(be, small(), tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
            t.onNonFinite(NanPolicy.SKIP);
            poison(vae.parameters().value("decoder.0.weight"), Float.NaN);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.run(new TrainListener() {
            }));
            assertEquals("parameter decoder.0.weight", e.tensor());
            assertTrue(e.getMessage().contains("skipping cannot get past"), e.getMessage());
        }
    }

    @Test
    void aHugeLearningRateIsCaughtBeforeTheParametersGoBad() {
        TrainConfig wild = TrainConfig.builder().epochs(2).batchSize(64).seed(5).learningRate(1e30).build();
        try (Vae vae = Vae.create(be, small(), wild.seed()); Trainer t = new Trainer(vae, TRAIN, null, wild)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.run(new TrainListener() {
            }));
            System.out.println("lr 1e30: " + e.getMessage());
            for (double v : be.download(vae.parameters().values())) assertTrue(Double.isFinite(v), "parameters stay finite");
            assertTrue(e.step() > 1, e.getMessage());
        }
    }

    /**
     * An F64 model's loss term can overflow as a sum with every element finite: the guard's
     * message names that term (the KL term here), not the loss as a whole.
     */
    @Test
    void aLossTermWhoseSumOverflowsIsNamed() {
        int rows = 4, d = 784;
        double[] px = new double[rows * d];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < px.length; i++) px[i] = r.nextDouble();
        try (Vae vae = Vae.create(be, small(), dev.elbo4j.tensor.DType.F64, 3); Vae.Pass pass = vae.trainStep(rows);
             Tensor x = be.upload(px, dev.elbo4j.tensor.Shape.of(rows, d))) {
            pass.run(dev.elbo4j.model.Batch.of(x), new dev.elbo4j.rng.RngKey(3, dev.elbo4j.rng.Streams.LATENT, 0));
            FiniteGuard guard = new FiniteGuard(vae);
            assertTrue(guard.stepIsFinite(pass));
            Tensor kl = pass.lossTerms().get("loss (KL term)");
            double[] v = be.download(kl);
            v[0] = v[1] = Double.MAX_VALUE;
            be.write(kl, v);
            assertFalse(guard.stepIsFinite(pass), "the mean loss is not finite");
            assertEquals("loss (KL term) (its sum overflowed; every element is finite)", guard.diagnose(pass));
        }
    }

    /** The CPU backend's fast finiteness scan agrees with the definition on every kind of float. */
    @Test
    void allFiniteFindsEveryNonFiniteValue() {
        float[] finite = {0f, -0f, 1f, -Float.MAX_VALUE, Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_NORMAL, 123.5f};
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0xffc00001)};
        for (int n : new int[]{1, 7, 64, 1001}) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = finite[i % finite.length];
            try (Tensor t = be.upload(a, dev.elbo4j.tensor.Shape.of(n))) {
                assertTrue(be.allFinite(t), "all finite, n=" + n);
                for (float b : bad) {
                    for (int at : new int[]{0, n / 2, n - 1}) {
                        a[at] = b;
                        be.write(t, a);
                        assertFalse(be.allFinite(t), b + " at " + at + " of " + n);
                        assertFalse(be.allFinite(t.view(at, dev.elbo4j.tensor.Shape.of(1))), "a view of it");
                        a[at] = finite[at % finite.length];
                    }
                }
                be.write(t, a);
                assertTrue(be.allFinite(t));
            }
        }
        try (Tensor d = be.upload(new double[]{1, Double.NaN}, dev.elbo4j.tensor.Shape.of(2))) {
            assertFalse(be.allFinite(d), "F64");
            assertTrue(be.allFinite(d.view(0, dev.elbo4j.tensor.Shape.of(1))));
        }
    }

    @Test
    void policiesParse() {
        assertEquals(NanPolicy.SKIP, NanPolicy.parse("Skip"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NanPolicy.parse("ignore"));
        assertTrue(e.getMessage().contains("'ignore'"), e.getMessage());
    }
}
