package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Autoencoder;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.Cvae;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.BATCH;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.D;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.N;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.SEED;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.assertSame;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.data;
import static dev.elbo4j.backend.cuda.GraphTrainingParityTest.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replayed step of the families besides the VAE against their eager loop on the same device
 * (as {@link GraphTrainingParityTest}): 208 steps with a short last batch every epoch and a KL
 * warm-up, a run resumed mid-epoch, a non-finite batch under both policies.
 */
class GraphFamiliesParityTest {
    private static final int CLASSES = 4;

    private static CvaeConfig cvae() {
        return new CvaeConfig(D, CLASSES, new int[]{24}, 3, new int[]{20}, Activation.RELU, Likelihood.bernoulli(), 1, 1.5);
    }

    @Test
    void cvaeReplaysTwoHundredStepsWithAWarmUpAsTheEagerLoop() {
        Dataset train = data(N, 11, -1, CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(16).batchSize(BATCH).seed(SEED).warmupEpochs(2)
                .adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();   // 208 steps
        GraphTrainingParityTest.Outcome eager = train(cvae(), tc, train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.steps());
        assertTrue(eager.losses().getLast() > eager.losses().getFirst(), "the run trains: " + eager.losses());
        assertSame(eager, train(cvae(), tc, train, true, NanPolicy.STOP, null), "CVAE, 16 epochs, warm-up 2");
    }

    @Test
    void cvaeStopsAndSkipsAsTheEagerLoop() {
        Dataset train = data(N, 4, 37, CLASSES);   // pixel 0 lit in one example: one batch per epoch overflows
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).build();
        GraphTrainingParityTest.Outcome eager = train(cvae(), tc, train, false, NanPolicy.STOP, 1e30f);
        assertTrue(eager.error() != null && eager.error().startsWith("non-finite values at step"), eager.error());
        GraphTrainingParityTest.Outcome graph = train(cvae(), tc, train, true, NanPolicy.STOP, 1e30f);
        assertEquals(eager.error(), graph.error());
        assertSame(eager, graph, "CVAE, stopped");
        GraphTrainingParityTest.Outcome eagerSkip = train(cvae(), tc, train, false, NanPolicy.SKIP, 1e30f);
        assertEquals(2, eagerSkip.skipped(), "one batch skipped per epoch: " + eagerSkip.skips());
        assertSame(eagerSkip, train(cvae(), tc, train, true, NanPolicy.SKIP, 1e30f), "CVAE, skipped");
    }

    @Test
    void cvaeResumedMidEpochEndsWhereTheEagerRunDoes(@TempDir Path dir) throws Exception {
        Dataset train = data(N, 3, -1, CLASSES);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).warmupEpochs(1).build();
        assertResumes(cvae(), Cvae.class, tc, train, dir);
    }

    private static AutoencoderConfig.Builder ae() {
        return AutoencoderConfig.builder().inputDim(D).hidden(24).latent(6).activation(Activation.RELU);
    }

    @Test
    void autoencoderReplaysTwoHundredStepsAsTheEagerLoop() {
        Dataset train = data(N, 12, -1);
        TrainConfig tc = TrainConfig.builder().epochs(16).batchSize(BATCH).seed(SEED)
                .adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();   // 208 steps
        AutoencoderConfig mc = ae().build();
        GraphTrainingParityTest.Outcome eager = train(mc, tc, train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.steps());
        assertTrue(eager.losses().getLast() > eager.losses().getFirst(), "the run trains: " + eager.losses());
        assertSame(eager, train(mc, tc, train, true, NanPolicy.STOP, null), "autoencoder, 16 epochs");
    }

    /**
     * The denoising corruption draws at the device's step; the sparse penalty and the MSE
     * likelihood's constant make three loss terms; a tied decoder.
     */
    @Test
    void denoisingSparseAndTiedAutoencodersReplayAsTheEagerLoop() {
        Dataset train = data(N, 13, -1);
        AutoencoderConfig[] models = {
                ae().corruption(Corruption.MASK, 0.25).build(),
                ae().reconstruction(AutoencoderConfig.Reconstruction.MSE).corruption(Corruption.GAUSSIAN, 0.1)
                        .sparsity(0.1, 0.5).build(),
                ae().tied(true).sparsity(0.05, 1).build(),
        };
        for (int i = 0; i < models.length; i++) {
            TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED + i)
                    .binarization(i == 1 ? Binarization.NONE : Binarization.DYNAMIC).build();
            assertSame(train(models[i], tc, train, false, NanPolicy.STOP, null),
                    train(models[i], tc, train, true, NanPolicy.STOP, null), models[i].toString());
        }
    }

    @Test
    void autoencoderStopsSkipsAndResumesAsTheEagerLoop(@TempDir Path dir) throws Exception {
        Dataset bad = data(N, 4, 37);
        // a squared error from a code of 1e29 overflows (a sparse code, a sigmoid, would not; and
        // corruption noise on pixel 0 would light it in every example)
        AutoencoderConfig mc = ae().reconstruction(AutoencoderConfig.Reconstruction.MSE).build();
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).binarization(Binarization.NONE).build();
        GraphTrainingParityTest.Outcome eager = train(mc, tc, bad, false, NanPolicy.STOP, 1e30f);
        assertTrue(eager.error() != null && eager.error().startsWith("non-finite values at step"), eager.error());
        GraphTrainingParityTest.Outcome graph = train(mc, tc, bad, true, NanPolicy.STOP, 1e30f);
        assertEquals(eager.error(), graph.error());
        assertSame(eager, graph, "autoencoder, stopped");
        GraphTrainingParityTest.Outcome eagerSkip = train(mc, tc, bad, false, NanPolicy.SKIP, 1e30f);
        assertEquals(2, eagerSkip.skipped(), "one batch skipped per epoch: " + eagerSkip.skips());
        assertSame(eagerSkip, train(mc, tc, bad, true, NanPolicy.SKIP, 1e30f), "autoencoder, skipped");
        assertResumes(mc, Autoencoder.class, tc, data(N, 3, -1), dir);
    }

    /** Plain CD-2 (PCD and the DBN: {@link GraphBoltzmannParityTest}). */
    @Test
    void rbmReplaysTwoHundredStepsAndResumesAsTheEagerLoop(@TempDir Path dir) throws Exception {
        Dataset train = data(N, 14, -1);
        RbmConfig mc = new RbmConfig(D, 20, 2, false, 10);
        TrainConfig tc = TrainConfig.builder().epochs(16).batchSize(BATCH).seed(SEED)
                .adam(new AdamConfig(3e-3, 0.9, 0.999, 1e-8, 0.001)).build();   // 208 steps
        GraphTrainingParityTest.Outcome eager = train(mc, tc, train, false, NanPolicy.STOP, null);
        assertEquals(208, eager.steps());
        assertTrue(eager.losses().getLast() > eager.losses().getFirst(), "the run trains: " + eager.losses());
        assertSame(eager, train(mc, tc, train, true, NanPolicy.STOP, null), "RBM CD-2, 16 epochs");
        assertResumes(mc, Rbm.class, TrainConfig.builder().epochs(2).batchSize(BATCH).seed(SEED).build(), train, dir);
    }

    /**
     * An infinite weight: a CD step saturates rather than overflows, so a bad parameter is what
     * makes it non-finite, which stops under both policies (skipping cannot get past it).
     */
    @Test
    void rbmStopsOnANonFiniteParameterAsTheEagerLoop() {
        Dataset train = data(N, 4, 37);
        RbmConfig mc = new RbmConfig(D, 20, 1, false, 10);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(BATCH).seed(SEED).build();
        for (NanPolicy p : NanPolicy.values()) {
            GraphTrainingParityTest.Outcome eager = train(mc, tc, train, false, p, Float.POSITIVE_INFINITY);
            assertTrue(eager.error() != null && eager.error().startsWith("non-finite values at step 1"), eager.error());
            GraphTrainingParityTest.Outcome graph = train(mc, tc, train, true, p, Float.POSITIVE_INFINITY);
            assertEquals(eager.error(), graph.error(), p.toString());
            assertSame(eager, graph, "RBM, " + p);
        }
    }

    /** Stops the replayed run at batch 5 of epoch 2, resumes it from the checkpoint, and compares with the eager run. */
    static <M extends Model> void assertResumes(ModelConfig mc, Class<M> type, TrainConfig tc, Dataset train, Path dir)
            throws Exception {
        ResumeParity.assertResumes(mc, type, tc, train, 13 + 5, dir, train(mc, tc, train, false, NanPolicy.STOP, null).end(),
                mc + ", resumed mid-epoch");
    }
}
