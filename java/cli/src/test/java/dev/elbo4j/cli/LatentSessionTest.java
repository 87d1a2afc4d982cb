package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.LatentModel;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.TrainStep;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a {@link LatentSession} hands a conditional model: the one-hot labels of the inputs it
 * encodes, and the requested labels with the codes it decodes (a CVAE is built on another branch;
 * this model only reports what it was given).
 */
class LatentSessionTest {

    /** Inputs of 2 pixels, 3 classes. Code = (class from y, or -1 without y; sum of x). Decoding: (z1, class from y). */
    static final class Reporter implements LatentModel {
        final Backend be;
        final boolean conditional;

        Reporter(Backend be, boolean conditional) {
            this.be = be;
            this.conditional = conditional;
        }

        static int argmax(double[] y, int row, int c) {
            int best = 0;
            for (int k = 1; k < c; k++) if (y[row * c + k] > y[row * c + best]) best = k;
            assertEquals(1.0, y[row * c + best], "one-hot");
            return best;
        }

        @Override
        public int latent() {
            return 2;
        }

        @Override
        public float[] encodeMean(Tensor x, Tensor y) {
            double[] xs = be.download(x), ys = y == null ? null : be.download(y);
            float[] z = new float[x.rows() * 2];
            for (int r = 0; r < x.rows(); r++) {
                z[2 * r] = ys == null ? -1 : argmax(ys, r, 3);
                z[2 * r + 1] = (float) (xs[2 * r] + xs[2 * r + 1]);
            }
            return z;
        }

        @Override
        public float[] decodeMean(Tensor z, Tensor y) {
            double[] zs = be.download(z), ys = y == null ? null : be.download(y);
            float[] out = new float[z.rows() * 2];
            for (int r = 0; r < z.rows(); r++) {
                out[2 * r] = (float) zs[2 * r];
                out[2 * r + 1] = ys == null ? -1 : argmax(ys, r, 3);
            }
            return out;
        }

        @Override
        public ModelConfig config() {
            return new ModelConfig() {
                @Override
                public String type() {
                    return conditional ? "reporter-c" : "reporter";
                }

                @Override
                public int inputDim() {
                    return 2;
                }

                @Override
                public LabelUse labelUse() {
                    return conditional ? LabelUse.ALL : LabelUse.NONE;
                }

                @Override
                public int classes() {
                    return conditional ? 3 : 0;
                }

                @Override
                public Parameters.Builder parameterLayout() {
                    return new Parameters.Builder();
                }

                @Override
                public Model create(Backend backend, DType dtype, long seed) {
                    return new Reporter(backend, conditional);
                }

                @Override
                public Map<String, Object> toJson() {
                    return Map.of();
                }
            };
        }

        @Override
        public Backend backend() {
            return be;
        }

        @Override
        public DType dtype() {
            return DType.F32;
        }

        @Override
        public Parameters parameters() {
            throw new UnsupportedOperationException("not trained here");
        }

        @Override
        public TrainStep trainStep(int maxBatch) {
            throw new UnsupportedOperationException("not trained here");
        }

        @Override
        public double testObjective(DeviceDataset data, Binarization trainBinarization, long seed) {
            throw new UnsupportedOperationException("not trained here");
        }

        @Override
        public float[] sample(int n, RngKey key, int label) {
            throw new UnsupportedOperationException("not sampled here");
        }

        @Override
        public float[] reconstruct(Tensor x, Tensor y) {
            throw new UnsupportedOperationException("not reconstructed here");
        }

        @Override
        public void close() {
        }
    }

    /** Four 1x2 images with pixels (51 i, 255) and labels 2, 0, 1, 2. */
    static Dataset data() {
        byte[] im = new byte[8];
        for (int i = 0; i < 4; i++) {
            im[2 * i] = (byte) (51 * i);
            im[2 * i + 1] = (byte) 255;
        }
        return new Dataset(im, new byte[]{2, 0, 1, 2}, 4, 1, 2);
    }

    @Test
    void aConditionalModelGetsTheInputsLabelsAndTheRequestedOnes() {
        CpuBackend be = new CpuBackend();
        try (LatentSession s = new LatentSession(data(), be, new Reporter(be, true), 1, Binarization.NONE, new int[]{1, 2})) {
            assertTrue(s.conditional());
            float[] z = s.encode(new int[]{3, 1, 2});
            assertArrayEquals(new float[]{2, 1 + 0.6f, 0, 1 + 0.2f, 1, 1 + 0.4f}, z, 1e-6f, "each input's own label, pixels in [0, 1]");
            assertArrayEquals(new float[]{7, 1, 8, 0}, s.decode(new float[]{7, 0, 8, 0}, new int[]{1, 0}));
            assertThrows(IllegalArgumentException.class, () -> s.decode(new float[]{7, 0}, null), "labels are required");
            assertThrows(Main.UsageException.class, () -> s.decode(new float[]{7, 0}, new int[]{3}), "class 3 of 3");
            assertEquals(2, s.decodeLabel(null, 2));
            assertEquals(1, s.decodeLabel(1, 2));
            assertThrows(Main.UsageException.class, () -> s.decodeLabel(3, 0));
        }
    }

    @Test
    void anUnconditionalModelGetsNoLabels() {
        CpuBackend be = new CpuBackend();
        try (LatentSession s = new LatentSession(data(), be, new Reporter(be, false), 1, Binarization.NONE, new int[]{1, 2})) {
            assertFalse(s.conditional());
            assertArrayEquals(new float[]{-1, 1, -1, 1.2f, -1, 1.4f, -1, 1.6f}, s.encodeAll(), 1e-6f);
            assertArrayEquals(new float[]{5, -1}, s.decode(new float[]{5, 0}, null));
            assertEquals(-1, s.decodeLabel(null, 0));
            assertThrows(Main.UsageException.class, () -> s.decodeLabel(0, 0), "a label for an unconditional model");
            assertDoesNotThrow(() -> s.requireTwoDimensions("x"), "the code is 2-D");
        }
    }
}
