package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.Vae;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.model.VaeObjective;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.NonFiniteException;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer's replayed step (one CUDA graph per step) against its eager loop on the same
 * device: after hundreds of steps, including a short last batch every epoch, the parameters, Adam's
 * moments and step and every epoch's logged loss are the same bits; a run stopped mid-epoch and
 * resumed from its checkpoint ends where the uninterrupted run does; a non-finite batch stops
 * with the eager loop's message, or is skipped at the same batch and step.
 */
class GraphTrainingParityTest {
    static final int SIDE = 8, D = SIDE * SIDE, N = 200, BATCH = 16;  // 13 batches, the last of 8
    static final long SEED = 5;

    /** Blobs on an 8 x 8 grid; pixel 0 is lit in example {@code lit} only (-1: none). */
    static Dataset data(int n, long seed, int lit) {
        return data(n, seed, lit, 0);
    }

    /** As {@link #data(int, long, int)}, with labels (the blob's quadrant, {@code classes} = 4) when classes > 0. */
    static Dataset data(int n, long seed, int lit, int classes) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * D];
        byte[] labels = classes > 0 ? new byte[n] : null;
        for (int i = 0; i < n; i++) {
            double cx = 1 + r.nextDouble() * 6, cy = 1 + r.nextDouble() * 6;
            for (int p = 0; p < D; p++) {
                double v = 255 * Math.max(0, 1 - Math.hypot(p % SIDE - cx, p / SIDE - cy) / 3) + r.nextDouble() * 30;
                px[i * D + p] = (byte) Math.min(255, (int) v);
            }
            px[i * D] = (byte) (i == lit ? 255 : 0);
            if (labels != null) labels[i] = (byte) ((cx > 4 ? 1 : 0) + (cy > 4 ? 2 : 0));
        }
        return new Dataset(px, labels, n, SIDE, SIDE);
    }

    private static VaeConfig.Builder small() {
        return VaeConfig.builder().inputDim(D).hidden(24).latent(3);
    }

    /** What a run ends with. */
    record Outcome(float[] params, float[] m, float[] v, long steps, List<Double> losses, long skipped,
                   List<String> skips, String error) {
        /** The end a run resumed from this one's checkpoint must reach (the step state not compared). */
        ResumeParity.End end() {
            return new ResumeParity.End(params, m, v, steps, null);
        }
    }

    /**
     * Runs the trainer to its end or to the {@link NonFiniteException} it stops with: each epoch's
     * result to {@code epochs}, each skipped batch as "epoch/batch/step" to {@code skips}. Returns the
     * exception's message, or null.
     */
    static String runToEnd(Trainer t, List<String> skips, Consumer<EpochResult> epochs) {
        try {
            for (EpochResult r : t.run(new TrainListener() {
                @Override
                public void stepSkipped(int epoch, int stepInEpoch, long step, String what) {
                    skips.add(epoch + "/" + stepInEpoch + "/" + step);
                }
            })) {
                epochs.accept(r);
            }
            return null;
        } catch (NonFiniteException e) {
            return e.getMessage();
        }
    }

    static Outcome train(ModelConfig mc, TrainConfig tc, Dataset train, boolean graph, NanPolicy policy,
                                 Float poison) {
        CudaBackend be = GpuAvailable.backend();
        List<Double> losses = new ArrayList<>();
        List<String> skips = new ArrayList<>();
        try (Model vae = mc.create(be, DType.F32, tc.seed()); Trainer t = new Trainer(vae, train, null, tc)) {
            t.graph(graph).onNonFinite(policy);
            assertEquals(graph, t.replaysSteps(), "the graph path is taken exactly when asked");
            if (poison != null) {
                double[] p = be.download(vae.parameters().values());
                p[0] = poison;   // the first layer's weight between pixel 0 and hidden unit 0
                be.write(vae.parameters().values(), p);
            }
            String error = runToEnd(t, skips, r -> losses.add(r.trainElbo()));
            return new Outcome(Parity.floats(be.download(vae.parameters().values())), Parity.floats(be.download(t.optimizer().m())),
                    Parity.floats(be.download(t.optimizer().v())), t.optimizer().steps(), losses, t.skippedSteps(), skips, error);
        }
    }

    static void assertSame(Outcome eager, Outcome graph, String what) {
        assertEquals(eager.steps(), graph.steps(), what + ": Adam steps");
        assertEquals(eager.losses().size(), graph.losses().size(), what + ": epochs");
        for (int i = 0; i < eager.losses().size(); i++) {
            assertEquals(Double.doubleToLongBits(eager.losses().get(i)), Double.doubleToLongBits(graph.losses().get(i)),
                    what + ": epoch " + (i + 1) + " loss " + eager.losses().get(i) + " vs " + graph.losses().get(i));
        }
        assertBits(what + ": parameters", eager.params(), graph.params());
        assertBits(what + ": m", eager.m(), graph.m());
        assertBits(what + ": v", eager.v(), graph.v());
        assertEquals(eager.skipped(), graph.skipped(), what + ": skipped steps");
        assertEquals(eager.skips(), graph.skips(), what + ": skipped batches (epoch/batch/step)");
    }

    @Test
    void twoHundredBernoulliStepsAreTheEagerLoopsBits() {
        Dataset train = data(N, 1, -1);
        TrainConfig tc = TrainConfig.builder().epochs(16).batchSize(BATCH).seed(SEED)
                .adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();   // 208 steps
        VaeConfig mc = small().build();
        Outcome eager = train(mc, tc, train, false, NanPolicy.STOP, null);
        Outcome graph = train(mc, tc, train, true, NanPolicy.STOP, null);
        assertEquals(208, eager.steps());
        assertTrue(eager.losses().getLast() > eager.losses().getFirst(), "the run trains: " + eager.losses());
        assertSame(eager, graph, "bernoulli, dynamic binarisation");
    }

    @Test
    void otherLikelihoodsIwaeFlowsAndBinarisationsAreTheEagerLoopsBits() {
        Dataset train = data(N, 2, -1);
        VaeConfig[] models = {
                small().likelihood(Likelihood.gaussian(0.3)).build(),
                small().likelihood(Likelihood.gaussianLearned()).samples(2).build(),
                small().objective(VaeObjective.IWAE).samples(3).build(),
                small().flow("planar", 2).build(),
        };
        Binarization[] bin = {Binarization.NONE, Binarization.NONE, Binarization.FIXED, Binarization.DYNAMIC};
        for (int i = 0; i < models.length; i++) {
            TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED + i).binarization(bin[i]).build();
            assertSame(train(models[i], tc, train, false, NanPolicy.STOP, null),
                    train(models[i], tc, train, true, NanPolicy.STOP, null), models[i] + ", " + bin[i]);
        }
    }

    /** The per-step rates of a schedule reach the replayed Adam: a rate change at epoch boundaries and within epochs. */
    @Test
    void scheduledLearningRatesAreTheEagerLoopsBits() {
        Dataset train = data(N, 5, -1);
        VaeConfig mc = small().build();
        for (String spec : new String[] {"multistep:2,4:0.5", "cosine:6:0.1"}) {
            TrainConfig tc = TrainConfig.builder().epochs(6).batchSize(BATCH).seed(SEED).learningRate(3e-3)
                    .schedule(dev.elbo4j.train.LrSchedule.parse(spec)).build();
            Outcome eager = train(mc, tc, train, false, NanPolicy.STOP, null);
            Outcome graph = train(mc, tc, train, true, NanPolicy.STOP, null);
            assertSame(eager, graph, spec);
        }
    }

    @Test
    void niceReplaysTheSameBits() {
        Dataset train = data(N, 7, -1);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).binarization(Binarization.NONE).build();
        NiceConfig mc = new NiceConfig(D, 4, new int[]{16}, true);
        assertSame(train(mc, tc, train, false, NanPolicy.STOP, null), train(mc, tc, train, true, NanPolicy.STOP, null),
                "NICE, 4 couplings, logistic prior");
    }

    /**
     * A KL warm-up replays too: the weight of each batch comes from a per-batch table on the
     * device. With a planar flow and 2 samples the latent and the flow backward divide the
     * weight by different rows (B and L*B), and the short last batch by its own B.
     */
    @Test
    void warmUpEpochsReplayTheSameBits() {
        Dataset train = data(N, 6, -1);
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(BATCH).seed(SEED).warmupEpochs(1.5).build();
        VaeConfig mc = small().beta(2).build();
        assertSame(train(mc, tc, train, false, NanPolicy.STOP, null), train(mc, tc, train, true, NanPolicy.STOP, null),
                "KL warm-up over 1.5 epochs, beta 2");
        TrainConfig flowTc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED + 1).warmupEpochs(2).build();
        VaeConfig flow = small().flow("planar", 2).samples(2).build();
        assertSame(train(flow, flowTc, train, false, NanPolicy.STOP, null), train(flow, flowTc, train, true, NanPolicy.STOP, null),
                "KL warm-up over 2 epochs, planar flow, 2 samples");
    }

    /** A warm-up run skipping a non-finite batch, and one resumed in the middle of a warm-up epoch. */
    @Test
    void warmUpSkipsAndResumesAsTheEagerLoop(@TempDir Path dir) throws Exception {
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).warmupEpochs(1.5).build();
        VaeConfig mc = small().beta(2).build();
        Dataset bad = data(N, 4, 37);
        Outcome eagerSkip = train(mc, tc, bad, false, NanPolicy.SKIP, 1e30f);
        assertEquals(2, eagerSkip.skipped(), "one batch skipped per epoch: " + eagerSkip.skips());
        assertSame(eagerSkip, train(mc, tc, bad, true, NanPolicy.SKIP, 1e30f), "warm-up, skipped");
        Dataset train = data(N, 3, -1);
        ResumeParity.assertResumes(mc, Vae.class, tc, train, 13 + 4, dir, train(mc, tc, train, false, NanPolicy.STOP, null).end(),
                "resumed in warm-up");
    }

    @Test
    void aRunResumedMidEpochEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        Dataset train = data(N, 3, -1);
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(BATCH).seed(SEED).build();
        VaeConfig mc = small().build();
        ResumeParity.assertResumes(mc, Vae.class, tc, train, 13 + 5, dir, train(mc, tc, train, false, NanPolicy.STOP, null).end(),
                "resumed mid-epoch");
    }

    @Test
    void aNonFiniteBatchStopsWithTheEagerMessage() {
        Dataset train = data(N, 4, 37);   // pixel 0 lit in one example: one batch per epoch overflows
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).build();
        VaeConfig mc = small().build();
        Outcome eager = train(mc, tc, train, false, NanPolicy.STOP, 1e30f);
        Outcome graph = train(mc, tc, train, true, NanPolicy.STOP, 1e30f);
        assertTrue(eager.error() != null && eager.error().startsWith("non-finite values at step"), eager.error());
        assertEquals(eager.error(), graph.error());
        assertSame(eager, graph, "stopped");
    }

    @Test
    void aNonFiniteBatchIsSkippedAtTheSameBatchAndStep() {
        Dataset train = data(N, 4, 37);
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(BATCH).seed(SEED).build();
        VaeConfig mc = small().build();
        Outcome eager = train(mc, tc, train, false, NanPolicy.SKIP, 1e30f);
        Outcome graph = train(mc, tc, train, true, NanPolicy.SKIP, 1e30f);
        assertEquals(null, eager.error());
        assertEquals(3, eager.skipped(), "one batch skipped per epoch: " + eager.skips());
        assertSame(eager, graph, "skipped");
    }

    @Test
    void anOverflowingUpdateStopsWithTheEagerMessage() {
        Dataset train = data(N, 5, -1);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(BATCH).seed(SEED)
                .adam(new AdamConfig(1e38, 0.9, 0.999, 1e-8, 0)).build();
        VaeConfig mc = small().build();
        for (NanPolicy p : NanPolicy.values()) {
            Outcome eager = train(mc, tc, train, false, p, null);
            Outcome graph = train(mc, tc, train, true, p, null);
            assertTrue(eager.error() != null && eager.error().startsWith("non-finite values after the update"), eager.error());
            assertEquals(eager.error(), graph.error(), p.toString());
            assertEquals(eager.steps(), graph.steps());
            assertFalse(graph.params().length == 0);
        }
    }
}
