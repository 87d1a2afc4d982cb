package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Json;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Mnist;
import dev.elbo4j.testing.Rand;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Tied weights, the architecture metadata and checkpoints, and training on MNIST digits. */
class AutoencoderTest {
    private final CpuBackend be = new CpuBackend();

    private static AutoencoderConfig small(boolean tied) {
        return AutoencoderConfig.builder().inputDim(10).hidden(7, 5).latent(3).activation(Activation.TANH).tied(tied).build();
    }

    @Test
    void tiedModelsHaveNoDecoderWeights() {
        AutoencoderConfig cfg = small(true);
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F64, 1); Autoencoder untied = Autoencoder.create(be, small(false), DType.F64, 1)) {
            List<String> names = ae.parameters().names();
            assertEquals(List.of("encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias", "encoder.2.weight",
                    "encoder.2.bias", "decoder.0.bias", "decoder.1.bias", "decoder.2.bias"), names);
            // 10-7-5-3: untied has the decoder's 3*5 + 5*7 + 7*10 weights on top.
            assertEquals(untied.parameters().count() - (15 + 35 + 70), ae.parameters().count());
            assertArrayEquals(new int[]{5}, ae.parameters().value("decoder.0.bias").shape().dims());
            assertArrayEquals(new int[]{10}, ae.parameters().value("decoder.2.bias").shape().dims());
        }
    }

    /**
     * The tied model's gradient of a shared weight equals the untied model's gradient of the encoder
     * weight plus the transpose of the mirrored decoder weight's, when the untied decoder holds the
     * transposed encoder weights: the sum of both uses.
     */
    @Test
    void tiedGradientIsTheSumOfBothUses() {
        AutoencoderConfig tiedCfg = small(true).toBuilder().corruption(Corruption.MASK, 0.2).sparsity(0.2, 0.3).build();
        AutoencoderConfig untiedCfg = tiedCfg.toBuilder().tied(false).build();
        int b = 6;
        Tensor x = be.upload(Rand.uniform(5, b * 10, 0, 1), Shape.of(b, 10));
        RngKey key = new RngKey(3, Streams.LATENT, 2);
        try (Autoencoder tied = Autoencoder.create(be, tiedCfg, DType.F64, 9); Autoencoder untied = Autoencoder.create(be, untiedCfg, DType.F64, 4);
             Autoencoder.Pass pt = tied.pass(b, true); Autoencoder.Pass pu = untied.pass(b, true)) {
            for (int i = 0; i < 3; i++) {
                copy(tied, "encoder." + i + ".weight", untied, "encoder." + i + ".weight", false);
                copy(tied, "encoder." + i + ".bias", untied, "encoder." + i + ".bias", false);
                copy(tied, "decoder." + i + ".bias", untied, "decoder." + i + ".bias", false);
                copy(tied, "encoder." + (2 - i) + ".weight", untied, "decoder." + i + ".weight", true);
            }
            pt.run(x, key);
            pu.run(x, key);
            assertEquals(pu.meanLoss(), pt.meanLoss(), 1e-12, "the same function");
            for (int i = 0; i < 3; i++) {
                String enc = "encoder." + i + ".weight", dec = "decoder." + (2 - i) + ".weight";
                int[] dims = tied.parameters().value(enc).shape().dims();
                double[] gt = be.download(tied.parameters().grad(enc));
                double[] ge = be.download(untied.parameters().grad(enc)), gd = be.download(untied.parameters().grad(dec));
                double[] gdT = transpose(gd, dims[1], dims[0]);
                for (int k = 0; k < gt.length; k++) {
                    assertEquals(ge[k] + gdT[k], gt[k], 1e-12, enc + "[" + k + "]");
                }
                assertArrayEquals(be.download(untied.parameters().grad("decoder." + i + ".bias")),
                        be.download(tied.parameters().grad("decoder." + i + ".bias")), 1e-12, "decoder bias " + i);
            }
        }
    }

    /** Doubles rounded to floats. */
    private static final class Parity32 {
        static float[] floats(double[] d) {
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
    }

    private void copy(Autoencoder from, String a, Autoencoder to, String b, boolean transpose) {
        double[] v = be.download(from.parameters().value(a));
        if (transpose) {
            int[] d = from.parameters().value(a).shape().dims();
            v = transpose(v, d[0], d[1]);
        }
        be.write(to.parameters().value(b), v);
    }

    /** m (rows x cols, row-major) transposed. */
    private static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        return t;
    }

    @Test
    void configJsonRoundTripsEveryField() {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(784).hidden(300, 100).latent(12).activation(Activation.SIGMOID)
                .reconstruction(AutoencoderConfig.Reconstruction.MSE).tied(true).corruption(Corruption.GAUSSIAN, 0.15)
                .sparsity(0.08, 0.25).build();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", cfg.type());
        m.putAll(cfg.toJson());
        @SuppressWarnings("unchecked")
        Map<String, Object> back = (Map<String, Object>) Json.parse(Json.write(m));
        assertEquals(cfg, ModelConfigs.fromJson(back));
        assertTrue(ModelConfigs.TYPES.contains("ae"));
        assertEquals("-loss", cfg.objectiveName());
        back.remove("sparsity_weight");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfigs.fromJson(back));
        assertTrue(e.getMessage().contains("sparsity_weight"), e.getMessage());
    }

    @Test
    void checkpointRoundTripKeepsTheArchitectureAndTheSharedWeights(@TempDir Path dir) throws Exception {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(12).hidden(8).latent(4).tied(true)
                .corruption(Corruption.MASK, 0.3).sparsity(0.1, 0.2).reconstruction(AutoencoderConfig.Reconstruction.MSE).build();
        Path file = dir.resolve("ae.safetensors");
        Tensor x = be.upload(Rand.toFloat(Rand.uniform(1, 3 * 12, 0, 1)), Shape.of(3, 12));
        float[] before;
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F32, 5)) {
            before = ae.reconstruct(x, null);
            Checkpoint.saveModel(file, ae, new int[]{3, 4});
        }
        Checkpoint c = Checkpoint.load(file);
        assertEquals(cfg, c.model());
        assertFalse(c.file().names().contains("decoder.0.weight"), "a tied checkpoint stores no decoder weight");
        try (Autoencoder back = c.restoreModel(be, Autoencoder.class)) {
            assertArrayEquals(before, back.reconstruct(x, null), "same reconstructions after the round trip");
        }
    }

    /**
     * Training on 2,000 digits lowers the test loss (minus the objective) clearly: two epochs of the
     * plain model, one of a tied denoising model. Measured (seed 3): plain -544.09 -> -270.72 -> -217.29;
     * tied with mask 0.25: -543.20 -> -324.76.
     */
    @Test
    void trainingLowersTheTestLoss() {
        Dataset train = Mnist.train().subset(2000), test = Mnist.test().subset(500);
        AutoencoderConfig plain = AutoencoderConfig.builder().hidden(128).latent(16).build();
        AutoencoderConfig denoising = plain.toBuilder().corruption(Corruption.MASK, 0.25).tied(true).build();
        for (AutoencoderConfig cfg : List.of(plain, denoising)) {
            int epochs = cfg == plain ? 2 : 1;
            TrainConfig tc = TrainConfig.builder().epochs(epochs).batchSize(100).seed(3).build();
            try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F32, tc.seed()); DeviceDataset td = new DeviceDataset(be, test)) {
                double before = ae.testObjective(td, tc.binarization(), tc.seed());
                List<EpochResult> r;
                try (Trainer t = new Trainer(ae, train, test, tc)) {
                    r = t.run(new TrainListener() {
                    });
                }
                double after = ae.testObjective(td, tc.binarization(), tc.seed());
                System.out.printf(java.util.Locale.ROOT, "%s: test -loss before %.2f, after %d epoch(s) %.2f%n", cfg, before, epochs, after);
                assertEquals(after, r.getLast().testElbo(), 1e-9, "the trainer reports the model's test objective");
                assertTrue(before < -500, "an untrained autoencoder is near 543 nats of cross-entropy, got " + before);
                double gain = epochs == 2 ? 300 : 180;
                assertTrue(after > before + gain, epochs + " epoch(s) should gain " + gain + " nats, got " + before + " -> " + after);
                if (epochs == 2) assertTrue(r.get(1).testElbo() > r.get(0).testElbo(), "the second epoch improves on the first");
            }
        }
    }

    @Test
    void evaluationIsCleanAndDeterministic() {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(784).hidden(32).latent(4).corruption(Corruption.GAUSSIAN, 0.5)
                .sparsity(0.05, 1).build();
        Dataset test = Mnist.test().subset(64);
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F32, 2); DeviceDataset td = new DeviceDataset(be, test);
             Autoencoder.Pass eval = ae.pass(64, false); Tensor x = be.alloc(DType.F32, 64, 784)) {
            double a = ae.testObjective(td, Binarization.DYNAMIC, 7), b = ae.testObjective(td, Binarization.DYNAMIC, 7);
            assertEquals(a, b, 0, "same seed, same figure");
            td.gather(0, Binarization.FIXED, new RngKey(7, Streams.EVAL_BINARIZE, 0), x);
            eval.run(x, new RngKey(7, Streams.LATENT, 0));
            assertEquals(-eval.meanLoss(), a, 1e-9, "the test objective is minus the clean reconstruction loss (no noise, no penalty)");
            assertThrows(IllegalStateException.class, eval::sparsityKl);
            assertArrayEquals(Parity32.floats(be.download(eval.code())), ae.encode(x), "encode() is the clean code");
        }
    }
}
