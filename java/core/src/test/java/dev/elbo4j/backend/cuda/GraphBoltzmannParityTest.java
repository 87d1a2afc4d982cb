package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Dbn;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.Fvbm;
import dev.elbo4j.model.FvbmConfig;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.BATCH;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.D;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.N;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SEED;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SIDE;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.assertSame;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.data;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replayed step of the Boltzmann machines whose launches change on the host's side against
 * their eager loop on the same device (as {@link GraphTrainingParityTest}): the RBM trained by
 * PCD (its first step starts the chains, eagerly; every later one replays) and the DBN (a graph
 * per stage, switched at the stage's first step; by CD and by PCD, whose chains start at each
 * stage's first step). Parameters, Adam's moments and step, every epoch's loss and the persistent
 * chains end the same bits; a short last batch every epoch, a resume mid-epoch (for the DBN before
 * a stage boundary it then crosses), a non-finite batch under both policies. And the FVBM, whose
 * exact step (all 2^d states enumerated on the device) is one launch sequence: the same, on a strip.
 */
class GraphBoltzmannParityTest {
    private static final AdamConfig ADAM = new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001);

    /** What a run ends with, and the trainer's step state (the chains) at its end. */
    record Run(GraphTrainingParityTest.Outcome outcome, Map<String, float[]> state, boolean replayed) {
    }

    /**
     * As {@link GraphTrainingParityTest#train}, with the step state; {@code poison}: the first
     * two weights of layer 0 (visible unit 0 to hidden units 0 and 1), so that one example with
     * pixel 0 lit drives a reconstruction logit past the float range (a non-finite loss, finite
     * gradients and parameters: a skippable step).
     */
    static Run train(ModelConfig mc, TrainConfig tc, Dataset train, boolean graph, NanPolicy policy, Float poison) {
        return train(mc, tc, train, graph, policy, poison, 0);
    }

    /** As above, starting at batch {@code startBatch} of epoch 2 when it is > 0 (a fresh model, no chains yet). */
    static Run train(ModelConfig mc, TrainConfig tc, Dataset train, boolean graph, NanPolicy policy, Float poison, int startBatch) {
        CudaBackend be = GpuAvailable.backend();
        List<Double> losses = new ArrayList<>();
        List<String> skips = new ArrayList<>();
        try (Model m = mc.create(be, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, null, tc)) {
            t.graph(graph).onNonFinite(policy);
            boolean replayed = t.replaysSteps();
            if (startBatch > 0) t.restorePosition(1, startBatch);
            if (poison != null) {
                double[] p = be.download(m.parameters().values());
                p[0] = poison;
                p[1] = poison;
                be.write(m.parameters().values(), p);
            }
            String error = GraphTrainingParityTest.runToEnd(t, skips, r -> losses.add(r.trainElbo()));
            GraphTrainingParityTest.Outcome o = new GraphTrainingParityTest.Outcome(
                    Parity.floats(be.download(m.parameters().values())), Parity.floats(be.download(t.optimizer().m())),
                    Parity.floats(be.download(t.optimizer().v())), t.optimizer().steps(), losses, t.skippedSteps(), skips, error);
            return new Run(o, ResumeParity.stepState(be, t), replayed);
        }
    }

    private static void assertSameRun(Run eager, Run graph, String what) {
        assertTrue(!eager.replayed() && graph.replayed(), what + ": the graph run replays, the other is eager");
        assertSame(eager.outcome(), graph.outcome(), what);
        ResumeParity.assertSameState(eager.state(), graph.state(), what);
    }

    private static TrainConfig epochs(int epochs) {
        return TrainConfig.builder().epochs(epochs).batchSize(BATCH).seed(SEED).adam(ADAM).build();
    }

    @Test
    void pcdRbmReplaysTwoHundredStepsAsTheEagerLoop() {
        Dataset train = data(N, 21, -1);
        RbmConfig mc = new RbmConfig(D, 20, 1, true, 10);
        TrainConfig tc = epochs(16);   // 208 steps, 13 per epoch, the last of 8 rows
        Run eager = train(mc, tc, train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.outcome().steps());
        assertTrue(eager.outcome().losses().getLast() > eager.outcome().losses().getFirst(), "the run trains: " + eager.outcome().losses());
        assertEquals(java.util.Set.of(Rbm.CHAINS), eager.state().keySet());
        assertSameRun(eager, train(mc, tc, train, true, NanPolicy.STOP, null), "RBM PCD-1, 16 epochs");
    }

    /**
     * A run that starts mid-epoch with no chains (a checkpoint without them): they start from the
     * batch the first step meets, which that step (run eagerly) gathers at the cursor; a graph's
     * capture would start them from its warm-up's batch instead. The weights are scaled up 50
     * times first, so the first hidden sample depends on where the chains start (from the
     * initial +-0.02 it is almost only the noise's).
     */
    @Test
    void pcdChainsStartFromTheFirstBatchOfARunStartedMidEpoch() {
        Dataset train = data(N, 24, -1);
        RbmConfig mc = new RbmConfig(D, 20, 1, true, 10);
        List<float[]> ends = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            CudaBackend be = GpuAvailable.backend();
            try (Model m = mc.create(be, DType.F32, SEED); Trainer t = new Trainer(m, train, null, epochs(2))) {
                t.graph(graph);
                assertEquals(graph, t.replaysSteps());
                double[] p = be.download(m.parameters().values());
                for (int i = 0; i < D * 20; i++) p[i] *= 50;   // the weight comes first
                be.write(m.parameters().values(), p);
                t.restorePosition(1, 5);
                t.run(new TrainListener() {
                });
                assertEquals(8, t.optimizer().steps());
                ends.add(Parity.floats(be.download(m.parameters().values())));
                ends.add(Parity.floats(be.download(t.stepState().get(Rbm.CHAINS))));
            }
        }
        assertBits("parameters", ends.get(0), ends.get(2));
        assertBits("chains", ends.get(1), ends.get(3));
    }

    /**
     * PCD-1: three stages of 70 steps (boundaries in the middle of epochs 6 and 11), each starting
     * its layer's chains; CD-2: three stages of 15 steps over 3 epochs.
     */
    @Test
    void dbnReplaysTwoHundredStepsAcrossItsStagesAsTheEagerLoop() {
        Dataset train = data(N, 22, -1);
        DbnConfig pcd = new DbnConfig(D, new int[]{20, 12, 8}, 1, true, 70, 10);
        Run eager = train(pcd, epochs(16), train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.outcome().steps());
        assertEquals(3, eager.state().size(), "every layer's chains started: " + eager.state().keySet());
        assertSameRun(eager, train(pcd, epochs(16), train, true, NanPolicy.STOP, null), "DBN PCD-1, 16 epochs");
        DbnConfig cd = new DbnConfig(D, new int[]{20, 12, 8}, 2, false, 15, 10);
        assertSameRun(train(cd, epochs(3), train, false, NanPolicy.STOP, null), train(cd, epochs(3), train, true, NanPolicy.STOP, null),
                "DBN CD-2, 3 epochs");
    }

    @Test
    void pcdRbmResumedMidEpochEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        assertResumes(new RbmConfig(D, 20, 1, true, 10), Rbm.class, epochs(2), 13 + 5, dir);
    }

    /** Stages of 20 steps: checkpointed at step 18, the resumed run starts layer 1 (and its chains) at step 21. */
    @Test
    void pcdDbnResumedBeforeAStageBoundaryEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        assertResumes(new DbnConfig(D, new int[]{20, 12}, 1, true, 20, 10), Dbn.class, epochs(3), 13 + 5, dir);
    }

    /** A resume after the stage boundary (layer 1's chains come from the checkpoint), plain CD. */
    @Test
    void dbnResumedAfterAStageBoundaryEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        assertResumes(new DbnConfig(D, new int[]{20, 12}, 1, true, 10, 10), Dbn.class, epochs(2), 13 + 5, dir);
        assertResumes(new DbnConfig(D, new int[]{20, 12}, 1, false, 10, 10), Dbn.class, epochs(2), 13 + 5, dir);
    }

    private static <M extends Model> void assertResumes(ModelConfig mc, Class<M> type, TrainConfig tc, long at, Path dir)
            throws Exception {
        assertResumes(mc, type, tc, at, dir, data(N, 23, -1));
    }

    private static <M extends Model> void assertResumes(ModelConfig mc, Class<M> type, TrainConfig tc, long at, Path dir,
                                                        Dataset train) throws Exception {
        Run eager = train(mc, tc, train, false, NanPolicy.STOP, null);
        GraphTrainingParityTest.Outcome o = eager.outcome();
        ResumeParity.assertResumes(mc, type, tc, train, at, dir, new ResumeParity.End(o.params(), o.m(), o.v(), o.steps(), eager.state()),
                mc + ", resumed at step " + at);
    }

    /**
     * Pixel 0 lit in one example: one batch per epoch has a non-finite reconstruction loss. Stop:
     * the eager message and parameters (the chains after a stop are not compared: the eager loop
     * leaves them advanced by the bad step, the replayed one by the steps in flight after it, and
     * no checkpoint is written from a stopped run). Skip: the same batches, steps and state.
     */
    @Test
    void pcdRbmStopsAndSkipsAsTheEagerLoop() {
        Dataset bad = data(N, 4, 37);
        RbmConfig mc = new RbmConfig(D, 20, 1, true, 10);
        assertStopsAndSkips(mc, epochs(3), bad, 3);
    }

    /**
     * The same for a DBN by PCD with stages of 20 steps: only layer 0 sees pixel 0, so only the
     * first stage skips, and the skipped batch of epoch 1 moves the stage boundary one batch later
     * than the host would count without reading the device.
     */
    @Test
    void pcdDbnStopsAndSkipsAsTheEagerLoop() {
        Dataset bad = data(N, 4, 37);
        DbnConfig mc = new DbnConfig(D, new int[]{20, 12}, 1, true, 20, 10);
        assertStopsAndSkips(mc, epochs(3), bad, 2);
    }

    private static void assertStopsAndSkips(ModelConfig mc, TrainConfig tc, Dataset bad, int skips) {
        Run eager = train(mc, tc, bad, false, NanPolicy.STOP, 2e38f);
        assertTrue(eager.outcome().error() != null && eager.outcome().error().startsWith("non-finite values at step"),
                eager.outcome().error());
        Run graph = train(mc, tc, bad, true, NanPolicy.STOP, 2e38f);
        assertEquals(eager.outcome().error(), graph.outcome().error());
        assertSame(eager.outcome(), graph.outcome(), mc + ", stopped");
        Run eagerSkip = train(mc, tc, bad, false, NanPolicy.SKIP, 2e38f);
        assertNull(eagerSkip.outcome().error());
        assertEquals(skips, eagerSkip.outcome().skipped(), "skipped batches: " + eagerSkip.outcome().skips());
        assertSameRun(eagerSkip, train(mc, tc, bad, true, NanPolicy.SKIP, 2e38f), mc + ", skipped");
    }

    /**
     * The FVBM's pixels: a strip of 5 from the middle of the blobs, d = 5 (32 states, 15 pairs of
     * moments; the kernels' own parity at larger, odd sizes is {@link CudaFvbmParityTest}'s). The
     * emulator runs the moments' blocks one thread at a time, so d stays small here.
     */
    private static final int STRIP = 5;

    /** Pixels (3, 2..6) of each image of {@code d}, as 1 x STRIP images. */
    private static Dataset strip(Dataset d) {
        byte[] px = new byte[d.n() * STRIP];
        for (int i = 0; i < d.n(); i++) {
            for (int x = 0; x < STRIP; x++) px[i * STRIP + x] = d.images()[i * D + 3 * SIDE + x + 2];
        }
        return new Dataset(px, null, d.n(), 1, STRIP);
    }

    @Test
    void fvbmReplaysTwoHundredStepsAsTheEagerLoop() {
        Dataset train = strip(data(N, 25, -1));
        FvbmConfig mc = new FvbmConfig(STRIP);
        Run eager = train(mc, epochs(16), train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.outcome().steps());
        assertTrue(eager.outcome().losses().getLast() > eager.outcome().losses().getFirst(), "the run trains: " + eager.outcome().losses());
        assertSameRun(eager, train(mc, epochs(16), train, true, NanPolicy.STOP, null), "FVBM, 16 epochs");
    }

    @Test
    void fvbmResumedMidEpochEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        assertResumes(new FvbmConfig(STRIP), Fvbm.class, epochs(2), 13 + 5, dir, strip(data(N, 23, -1)));
    }
}
