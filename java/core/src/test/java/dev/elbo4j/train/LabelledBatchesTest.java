package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Batch;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.TrainStep;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The trainer's label plumbing, checked with a probe model that records every batch: each image
 * must arrive with its own one-hot label (conditional models), and the labelled half of a
 * semi-supervised batch must come from a balanced, seed-determined subset.
 */
class LabelledBatchesTest {
    private final Backend be = new CpuBackend();

    /** N examples of 3 x 3 pixels; pixel 0 holds the example's index, so a batch row names its example. */
    private static Dataset indexed(int n, int classes) {
        byte[] im = new byte[n * 9], lab = new byte[n];
        for (int i = 0; i < n; i++) {
            im[i * 9] = (byte) i;
            im[i * 9 + 1] = (byte) 255;
            lab[i] = (byte) ((i * 7 + 3) % classes);
        }
        return new Dataset(im, lab, n, 3, 3);
    }

    /** The example a gathered row came from (binarisation off: pixel 0 is index / 255). */
    private static int exampleOf(double[] x, int row) {
        return (int) Math.round(x[row * 9] * 255);
    }

    private static int labelOf(double[] y, int row, int classes) {
        int hot = -1;
        for (int c = 0; c < classes; c++) {
            if (y[row * classes + c] == 1) {
                assertEquals(-1, hot, "row " + row + " has two ones");
                hot = c;
            } else {
                assertEquals(0, y[row * classes + c], "one-hot rows hold only 0 and 1");
            }
        }
        assertTrue(hot >= 0, "row " + row + " has no one");
        return hot;
    }

    @Test
    void conditionalBatchesCarryTheirOwnLabels() {
        Dataset data = indexed(50, 4);
        Probe.Config cfg = new Probe.Config(LabelUse.ALL, 4);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(8).binarization(Binarization.NONE).seed(5).build();
        try (Probe m = new Probe(be, cfg); Trainer t = new Trainer(m, data, null, tc)) {
            t.run(new TrainListener() {
            });
            assertEquals(2 * 7, m.batches.size(), "7 batches per epoch (the last of 2)");
            Set<Integer> seenFirstEpoch = new HashSet<>();
            for (int k = 0; k < m.batches.size(); k++) {
                double[][] b = m.batches.get(k);
                assertNull(b[2], "a conditional model gets no labelled subset");
                for (int r = 0; r < b[0].length / 9; r++) {
                    int ex = exampleOf(b[0], r);
                    assertEquals(data.label(ex), labelOf(b[1], r, 4), "example " + ex + " arrived with another label");
                    if (k < 7) assertTrue(seenFirstEpoch.add(ex), "example " + ex + " twice in one epoch");
                }
            }
            assertEquals(50, seenFirstEpoch.size(), "an epoch visits every example once");
        }
    }

    @Test
    void semiSupervisedBatchesDrawFromABalancedLabelledSubset() {
        Dataset data = indexed(200, 5);
        Probe.Config cfg = new Probe.Config(LabelUse.SOME, 5);
        TrainConfig tc = new TrainConfig(1, 32, dev.elbo4j.backend.AdamConfig.of(1e-3), Binarization.NONE, 9, 0, 12);
        try (Probe m = new Probe(be, cfg); Trainer t = new Trainer(m, data, null, tc)) {
            t.run(new TrainListener() {
            });
            Set<Integer> labelled = new HashSet<>();
            for (double[][] b : m.batches) {
                assertNull(b[1], "unlabelled inputs come without labels");
                assertNotNull(b[2]);
                assertEquals(12, b[2].length / 9, "the labelled batch is min(batch, labelled) = 12 rows");
                for (int r = 0; r < 12; r++) {
                    int ex = exampleOf(b[2], r);
                    assertEquals(data.label(ex), labelOf(b[3], r, 5));
                    labelled.add(ex);
                }
            }
            assertEquals(12, labelled.size(), "the same 12 examples every step");
            int[] perClass = new int[5];
            for (int ex : labelled) perClass[data.label(ex)]++;
            for (int c = 0; c < 5; c++) assertTrue(perClass[c] == 2 || perClass[c] == 3, "balanced: " + java.util.Arrays.toString(perClass));
            // The pick is a function of the seed alone.
            Dataset again = Trainer.pickLabelled(data, 5, tc);
            Set<Integer> picked = new HashSet<>();
            for (int i = 0; i < again.n(); i++) picked.add(again.pixel(i, 0));
            assertEquals(labelled, picked);
        }
    }

    @Test
    void labelledCountsTheDataCannotMeetAreRejected() {
        Dataset data = indexed(20, 4); // 5 of each class
        TrainConfig tooMany = new TrainConfig(1, 8, dev.elbo4j.backend.AdamConfig.of(1e-3), Binarization.NONE, 1, 0, 24);
        IllegalArgumentException few = assertThrows(IllegalArgumentException.class, () -> Trainer.pickLabelled(data, 4, tooMany));
        assertEquals("class 0 has 5 training examples, fewer than the 6 that 24 labelled examples balanced over 4 classes "
                + "take from it", few.getMessage());
        TrainConfig some = new TrainConfig(1, 8, dev.elbo4j.backend.AdamConfig.of(1e-3), Binarization.NONE, 1, 0, 12);
        few = assertThrows(IllegalArgumentException.class, () -> Trainer.pickLabelled(data, 6, some));
        assertEquals("class 4 has 0 training examples, fewer than the 2 that 12 labelled examples balanced over 6 classes "
                + "take from it (does the data have 6 classes?)", few.getMessage(), "a model told of more classes than the data has");
        TrainConfig none = new TrainConfig(1, 8, dev.elbo4j.backend.AdamConfig.of(1e-3), Binarization.NONE, 1, 0, 0);
        try (Probe m = new Probe(be, new Probe.Config(LabelUse.SOME, 4))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(m, data, null, none));
            assertTrue(e.getMessage().contains("labelled"), e.getMessage());
        }
        Dataset unlabelled = new Dataset(new byte[9 * 4], null, 4, 3, 3);
        try (Probe m = new Probe(be, new Probe.Config(LabelUse.ALL, 4))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m, unlabelled, null, TrainConfig.builder().build()));
            assertTrue(e.getMessage().contains("labels"), e.getMessage());
        }
    }

    @Test
    void labelsBeyondTheModelsClassesAreRejected() {
        Dataset data = indexed(20, 6);
        try (Probe m = new Probe(be, new Probe.Config(LabelUse.ALL, 4))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m, data, null, TrainConfig.builder().build()));
            assertTrue(e.getMessage().contains("4 classes"), e.getMessage());
        }
    }

    @Test
    void gatherLabelsFollowsTheOrder() {
        Dataset data = indexed(10, 3);
        try (DeviceDataset dd = new DeviceDataset(be, data, 3); Tensor y = be.alloc(DType.F32, 4, 3)) {
            dd.order(new int[]{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
            dd.gatherLabels(2, y);
            double[] h = be.download(y);
            for (int r = 0; r < 4; r++) assertEquals(data.label(7 - r), labelOf(h, r, 3));
        }
    }

    @Test
    void warmUpWeightRisesLinearly() {
        TrainConfig tc = TrainConfig.builder().warmupEpochs(4).build();
        assertEquals(0, tc.klWeight(0));
        assertEquals(0.25, tc.klWeight(1), 1e-15);
        assertEquals(0.5625, tc.klWeight(2.25), 1e-15);
        assertEquals(1, tc.klWeight(4));
        assertEquals(1, tc.klWeight(9));
        assertEquals(1, TrainConfig.builder().build().klWeight(0), "no warm-up: full weight from the start");
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().warmupEpochs(-1).build());
    }

    /** A model that records its batches and has a zero gradient. */
    static final class Probe implements Model {
        record Config(LabelUse labelUse, int classes) implements ModelConfig {
            public String type() {
                return "probe";
            }

            public int inputDim() {
                return 9;
            }

            public Parameters.Builder parameterLayout() {
                Parameters.Builder b = new Parameters.Builder();
                b.add("w", Shape.of(1), Parameters.Init.constant(0));
                return b;
            }

            public Model create(Backend backend, DType dtype, long seed) {
                return new Probe(backend, this);
            }

            public Map<String, Object> toJson() {
                return Map.of();
            }
        }

        final List<double[][]> batches = new ArrayList<>();
        private final Backend be;
        private final Config cfg;
        private final Parameters params;

        Probe(Backend be, Config cfg) {
            this.be = be;
            this.cfg = cfg;
            this.params = cfg.parameterLayout().build(be, DType.F32, 1);
        }

        public ModelConfig config() {
            return cfg;
        }

        public Backend backend() {
            return be;
        }

        public DType dtype() {
            return DType.F32;
        }

        public Parameters parameters() {
            return params;
        }

        public TrainStep trainStep(int maxBatch) {
            return new TrainStep() {
                public void run(Batch b, RngKey key) {
                    batches.add(new double[][]{be.download(b.x()), b.y() == null ? null : be.download(b.y()),
                            b.xLabelled() == null ? null : be.download(b.xLabelled()),
                            b.yLabelled() == null ? null : be.download(b.yLabelled())});
                    be.fill(params.grads(), 0);
                }

                public double meanLoss() {
                    return 0;
                }

                public void accumulateLoss(Tensor acc) {
                }

                public Map<String, Tensor> lossTerms() {
                    return Map.of();
                }

                public void close() {
                }
            };
        }

        public double testObjective(DeviceDataset data, Binarization b, long seed) {
            return 0;
        }

        public void close() {
            params.close();
        }
    }
}
