package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.M2;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SEED;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.data;
import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * M2's replayed step against its eager loop on the same device (as {@link GraphTrainingParityTest}):
 * each step takes unlabelled batch b and labelled sub-batch b mod L, so a step is one of up to four
 * shapes (full or short unlabelled batch x full or short labelled one), each its own graph; the
 * labelled rows come from a second cursor that cycles at the first's batch number, and the KL
 * warm-up weight reaches the unlabelled bound, both latent backward passes and the guard's KL term
 * from device memory. Parameters, Adam's moments and step, every epoch's training loss, test ELBO
 * and accuracy the same bits. The 204-step run is {@link GraphM2LongRunParityTest} (too slow on the
 * emulator for CI's list).
 */
class GraphM2ParityTest {
    static final int CLASSES = 4, N = 100;

    static M2Config m2() {
        return new M2Config(GraphTrainingParityTest.D, CLASSES, new int[]{8}, new int[]{12}, 3, new int[]{10}, Activation.RELU,
                Likelihood.bernoulli(), 7, 2);
    }

    /** What a run ends with, with the test figures of every epoch. */
    record Outcome(float[] params, float[] m, float[] v, long steps, List<Double> losses, List<Double> testElbos,
                   List<Map<String, Double>> metrics, long skipped, List<String> skips, String error) {
    }

    /**
     * Trains M2 eagerly or replayed; with {@code poison}, first sets the encoder's first weight
     * (pixel 0 to hidden unit 0) to it, so a batch with pixel 0 lit goes non-finite.
     */
    static Outcome train(M2Config mc, TrainConfig tc, Dataset train, Dataset test, boolean graph, NanPolicy policy, Float poison) {
        CudaBackend be = GpuAvailable.backend();
        List<Double> losses = new ArrayList<>(), tests = new ArrayList<>();
        List<Map<String, Double>> metrics = new ArrayList<>();
        List<String> skips = new ArrayList<>();
        try (M2 m = M2.create(be, mc, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, test, tc)) {
            t.graph(graph).onNonFinite(policy);
            assertEquals(graph, t.replaysSteps(), "the graph path is taken exactly when asked");
            if (poison != null) {
                double[] p = be.download(m.parameters().values());
                p[encoderOffset(m.parameters())] = poison;
                be.write(m.parameters().values(), p);
            }
            String error = GraphTrainingParityTest.runToEnd(t, skips, r -> {
                losses.add(r.trainElbo());
                tests.add(r.testElbo());
                metrics.add(r.testMetrics());
            });
            return new Outcome(Parity.floats(be.download(m.parameters().values())), Parity.floats(be.download(t.optimizer().m())),
                    Parity.floats(be.download(t.optimizer().v())), t.optimizer().steps(), losses, tests, metrics, t.skippedSteps(),
                    skips, error);
        }
    }

    private static int encoderOffset(Parameters ps) {
        for (Parameters.Spec s : ps.specs()) if (s.name().startsWith("encoder.")) return s.offset();
        throw new AssertionError("no encoder parameters in " + ps.specs());
    }

    static void assertSame(Outcome eager, Outcome graph, String what) {
        assertEquals(eager.steps(), graph.steps(), what + ": Adam steps");
        assertEquals(eager.losses().size(), graph.losses().size(), what + ": epochs");
        for (int i = 0; i < eager.losses().size(); i++) {
            assertEquals(Double.doubleToLongBits(eager.losses().get(i)), Double.doubleToLongBits(graph.losses().get(i)),
                    what + ": epoch " + (i + 1) + " loss " + eager.losses().get(i) + " vs " + graph.losses().get(i));
            assertEquals(Double.doubleToLongBits(eager.testElbos().get(i)), Double.doubleToLongBits(graph.testElbos().get(i)),
                    what + ": epoch " + (i + 1) + " test ELBO");
            assertEquals(eager.metrics().get(i), graph.metrics().get(i), what + ": epoch " + (i + 1) + " accuracy");
        }
        assertBits(what + ": parameters", eager.params(), graph.params());
        assertBits(what + ": m", eager.m(), graph.m());
        assertBits(what + ": v", eager.v(), graph.v());
        assertEquals(eager.skipped(), graph.skipped(), what + ": skipped steps");
        assertEquals(eager.skips(), graph.skips(), what + ": skipped batches (epoch/batch/step)");
        assertEquals(eager.error(), graph.error(), what + ": error");
    }

    /**
     * The fourth shape, a short unlabelled batch with a full labelled one (13 batches of 8, the last
     * of 4; 20 labelled in 8, 8, 4: batch 12 takes sub-batch 0), fixed binarisation, no warm-up.
     */
    @Test
    void aShortUnlabelledBatchWithAFullLabelledOneIsTheEagerLoopsBits() {
        Dataset train = data(N, 23, -1, CLASSES), test = data(40, 24, -1, CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(8).seed(SEED + 1).labelled(20)
                .binarization(Binarization.FIXED).build();
        assertSame(train(m2(), tc, train, test, false, NanPolicy.STOP, null),
                train(m2(), tc, train, test, true, NanPolicy.STOP, null), "M2, fixed binarisation");
    }

    @Test
    void aNonFiniteBatchStopsAndSkipsAsTheEagerLoop() {
        Dataset train = data(N, 4, 37, CLASSES);   // pixel 0 lit in one example
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(8).seed(SEED).labelled(20).warmupEpochs(1).build();
        Outcome eager = train(m2(), tc, train, null, false, NanPolicy.STOP, 1e30f);
        assertTrue(eager.error() != null && eager.error().startsWith("non-finite values at step"), eager.error());
        assertSame(eager, train(m2(), tc, train, null, true, NanPolicy.STOP, 1e30f), "M2, stopped");
        Outcome eagerSkip = train(m2(), tc, train, null, false, NanPolicy.SKIP, 1e30f);
        assertTrue(eagerSkip.skipped() >= 2, "a batch skipped per epoch at least: " + eagerSkip.skips());
        assertTrue(eagerSkip.steps() > 0 && eagerSkip.error() == null, "the run goes on: " + eagerSkip.error());
        assertSame(eagerSkip, train(m2(), tc, train, null, true, NanPolicy.SKIP, 1e30f), "M2, skipped");
    }

    /**
     * Stopped after step 18 (batch 5 of epoch 2, in a warm-up: the next labelled sub-batch is the
     * short one, 5 mod 3 = 2), checkpointed, resumed replayed: the uninterrupted eager run's bits.
     */
    @Test
    void resumedMidEpochEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        Dataset train = data(N, 3, -1, CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(8).seed(SEED).labelled(20).warmupEpochs(2).build();
        Outcome eager = train(m2(), tc, train, null, false, NanPolicy.STOP, null);
        ResumeParity.assertResumes(m2(), M2.class, tc, train, 13 + 5, dir,
                new ResumeParity.End(eager.params(), eager.m(), eager.v(), eager.steps(), null), "M2 resumed mid-epoch");
    }
}
