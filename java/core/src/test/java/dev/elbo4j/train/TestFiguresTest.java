package dev.elbo4j.train;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.M2;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.Nice;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Model#testFigures}: M2 and NICE make one pass over the test set for the objective and
 * the metrics, and give the same numbers, bit for bit, as the two-pass path
 * ({@link Model#testObjective}, then {@link Model#testMetrics}); the trainer reports them.
 */
class TestFiguresTest {
    private final Backend be = new CpuBackend();

    /** 1,200 training digits, 50 labelled; 730 test digits (two M2 evaluation batches of 500, the second partial). */
    @Test
    void m2FiguresMatchTheTwoPassPath() {
        Dataset train = Mnist.train().subset(1200), test = Mnist.test().subset(730);
        M2Config cfg = new M2Config(784, 10, new int[]{32}, new int[]{32}, 4, new int[]{32}, Activation.RELU,
                Likelihood.bernoulli(), 50, M2Config.DEFAULT_BETA);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(100).seed(3).labelled(50).build();
        try (M2 m = M2.create(be, cfg, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, test, tc)) {
            EpochResult r = t.run(new TrainListener() {
            }).getFirst();
            DeviceDataset td = t.testData();
            assertEquals(730, td.size());
            double objective = m.testObjective(td, tc.binarization(), tc.seed());
            Map<String, Double> metrics = m.testMetrics(td, tc.binarization(), tc.seed());
            Model.TestFigures f = m.testFigures(td, tc.binarization(), tc.seed());
            assertEquals(objective, f.objective(), 0.0);
            assertEquals(metrics, f.metrics());
            assertEquals(objective, r.testElbo(), 0.0, "the trainer's figure");
            assertEquals(metrics, r.testMetrics(), "the trainer's metrics");
            double acc = f.metrics().get("accuracy");
            assertTrue(acc > 0.1 && acc < 1, "accuracy " + acc);
            // The test set the trainer uploaded is the one evaluations after training reuse.
            assertSame(td, t.testData());
        }
    }

    @Test
    void niceFiguresMatchTheTwoPassPath() {
        Dataset train = Mnist.train().subset(300), test = Mnist.test().subset(620);
        NiceConfig cfg = new NiceConfig(784, 4, new int[]{24, 24}, true);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(100).seed(4).binarization(Binarization.NONE).build();
        try (Nice m = Nice.create(be, cfg, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, test, tc)) {
            EpochResult r = t.run(new TrainListener() {
            }).getFirst();
            DeviceDataset td = t.testData();
            double objective = m.testObjective(td, tc.binarization(), tc.seed());
            Map<String, Double> metrics = m.testMetrics(td, tc.binarization(), tc.seed());
            Model.TestFigures f = m.testFigures(td, tc.binarization(), tc.seed());
            assertEquals(objective, f.objective(), 0.0);
            assertEquals(metrics, f.metrics());
            assertEquals(Nice.bitsPerDim(objective, 784), f.metrics().get("bits_per_dim"), 0.0);
            assertEquals(objective, r.testElbo(), 0.0);
            assertEquals(metrics, r.testMetrics());
            assertEquals(List.of("bits_per_dim"), List.copyOf(f.metrics().keySet()));
        }
    }
}
