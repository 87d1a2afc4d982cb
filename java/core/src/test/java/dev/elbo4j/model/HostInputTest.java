package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Scaling;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a library user hands a model: host arrays through the float[] overloads (the same numbers
 * as the tensor methods), and wrong input (shapes, precision, NaN, labels, closed models and
 * trainers) refused with a message naming the argument, never a GEMM error, a bare array index or
 * a result computed from freed memory.
 */
class HostInputTest {
    private static final int D = 12, Z = 3;
    private final Backend be = new CpuBackend();

    private static float[] unit(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.nextFloat();
        return v;
    }

    private Vae vae(DType dtype) {
        return Vae.create(be, VaeConfig.builder().inputDim(D).latent(Z).hidden(8).build(), dtype, 3);
    }

    private Cvae cvae() {
        return Cvae.create(be, new CvaeConfig(D, 4, new int[] {8}, Z, new int[] {8}, dev.elbo4j.backend.Activation.RELU,
                dev.elbo4j.backend.Likelihood.bernoulli(), 1, 1.0), DType.F32, 3);
    }

    @Test
    void hostArraysGiveTheTensorMethodsNumbers() {
        float[] x = unit(2 * D, 1);
        for (DType dt : new DType[] {DType.F32, DType.F64}) {
            try (Vae m = vae(dt)) {
                Tensor xt;
                if (dt == DType.F32) {
                    xt = be.upload(x, Shape.of(2, D));
                } else {
                    double[] xd = new double[x.length];
                    for (int i = 0; i < x.length; i++) xd[i] = x[i];
                    xt = be.upload(xd, Shape.of(2, D));
                }
                float[] z = m.encodeMean(x);
                assertArrayEquals(m.encodeMean(xt), z, dt.toString());
                assertArrayEquals(m.reconstruct(xt), m.reconstruct(x), dt.toString());
                try (Tensor zt = dt == DType.F32 ? be.upload(z, Shape.of(2, Z)) : be.upload(toDoubles(z), Shape.of(2, Z))) {
                    assertArrayEquals(m.decodeMean(zt), m.decodeMean(z), dt.toString());
                }
            }
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void labelsOfAConditionalModelAreOneHotRows() {
        float[] x = unit(2 * D, 2);
        int[] labels = {3, 1};
        try (Cvae m = cvae(); Tensor xt = be.upload(x, Shape.of(2, D));
             Tensor yt = be.upload(new float[] {0, 0, 0, 1, 0, 1, 0, 0}, Shape.of(2, 4))) {
            assertArrayEquals(m.encodeMean(xt, yt), m.encodeMean(x, labels));
            assertArrayEquals(m.reconstruct(xt, yt), m.reconstruct(x, labels));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(x, new int[] {3, 4}));
            assertEquals("labels[1] is 4; this model knows classes 0..3", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(x));
            assertEquals("labels must not be null: a cvae model needs the class (0..3) of each example", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.decodeMean(new float[2 * Z]));
            assertEquals("labels must not be null: a cvae model needs the class (0..3) of each example", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(x, new int[] {3}));
            assertTrue(e.getMessage().startsWith("labels has 1 labels for 2 examples"), e.getMessage());
        }
        try (Vae m = vae(DType.F32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(x, labels));
            assertEquals("a vae model is unconditional: pass null labels", e.getMessage());
        }
    }

    @Test
    void m2ClassifiesHostArraysAsItsTensors() {
        float[] x = unit(3 * D, 3);
        try (M2 m = M2.create(be, new M2Config(D, 4, new int[] {8}, new int[] {8}, Z, new int[] {8},
                dev.elbo4j.backend.Activation.RELU, dev.elbo4j.backend.Likelihood.bernoulli(), 50, 3), DType.F32, 3);
             Tensor xt = be.upload(x, Shape.of(3, D))) {
            assertArrayEquals(m.logits(xt), m.logits(x));
            assertArrayEquals(m.predict(xt), m.predict(x));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.logits(be.upload(new float[20], Shape.of(2, 10))));
            assertEquals("x has shape [2, 10]; this m2 model takes N x 12 (one example per row, 12 values each)", e.getMessage());
        }
    }

    @Test
    void wrongShapesPrecisionAndNaNAreNamed() {
        try (Vae m = vae(DType.F32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.encodeMean(be.upload(new float[2 * 5], Shape.of(2, 5))));
            assertEquals("x has shape [2, 5]; this vae model takes N x 12 (one example per row, 12 values each)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.decodeMean(be.upload(new float[4], Shape.of(2, 2))));
            assertTrue(e.getMessage().startsWith("z has shape [2, 2]; this vae model takes N x 3"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(be.upload(new double[D], Shape.of(1, D))));
            assertTrue(e.getMessage().startsWith("x is F64 but this vae model computes in F32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.encodeMean(new float[D + 1]));
            assertTrue(e.getMessage().startsWith("x has 13 values, not a whole number of examples of 12 values"), e.getMessage());
            float[] nan = new float[2 * D];
            nan[D + 4] = Float.NaN;
            e = assertThrows(IllegalArgumentException.class, () -> m.reconstruct(nan));
            assertTrue(e.getMessage().startsWith("x[16] (example 1, value 4) is NaN; this vae model takes values in [0, 1]"),
                    e.getMessage());
        }
    }

    /**
     * Inputs off the [0, 1] scale every model trains on (raw 0..255 pixels, the usual slip) are
     * refused by every float[] entry point that takes examples, not turned into codes, classes or
     * reconstructions computed from them; 0 and 1 themselves pass.
     */
    @Test
    void inputsOffTheTrainingScaleAreRefused() {
        float[] raw = unit(2 * D, 6);
        raw[D + 3] = 255;
        float[] edges = new float[2 * D];
        java.util.Arrays.fill(edges, D, 2 * D, 1f);
        try (Vae v = vae(DType.F32); Cvae c = cvae();
             Autoencoder ae = Autoencoder.create(be, AutoencoderConfig.builder().inputDim(D).latent(Z).hidden(8).build(), 3);
             M2 m2 = M2.create(be, M2Config.defaults(D, 4), 3)) {
            java.util.List<org.junit.jupiter.api.function.Executable> calls = java.util.List.of(
                    () -> v.encodeMean(raw), () -> v.reconstruct(raw), () -> c.encodeMean(raw, new int[] {0, 1}),
                    () -> c.reconstruct(raw, new int[] {0, 1}), () -> ae.encode(raw), () -> ae.reconstruct(raw),
                    () -> m2.logits(raw), () -> m2.predict(raw), () -> m2.encodeMean(raw));
            for (org.junit.jupiter.api.function.Executable call : calls) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
                assertTrue(e.getMessage().startsWith("x[15] (example 1, value 3) is 255.0; this ")
                        && e.getMessage().contains(" model takes values in [0, 1]"), e.getMessage());
            }
            raw[D + 3] = -0.5f;
            assertThrows(IllegalArgumentException.class, () -> v.encodeMean(raw));
            assertEquals(2 * Z, v.encodeMean(edges).length);
            assertEquals(2 * D, ae.reconstruct(edges).length);
        }
    }

    @Test
    void aClosedModelOrTrainerIsRefused(@TempDir Path dir) {
        Dataset data = Dataset.fromFloats(unit(20 * D, 4), null, 3, 4);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(5).build();
        Vae m = vae(DType.F32);
        Trainer t = new Trainer(m, data, null, tc);
        t.close();
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> t.run(new TrainListener() { }));
        assertTrue(s.getMessage().startsWith("this Trainer was closed"), s.getMessage());
        t.close(); // a second close is harmless
        m.close();
        s = assertThrows(IllegalStateException.class, () -> m.encodeMean(new float[D]));
        assertEquals("this vae model was closed; create or restore it again to use it", s.getMessage());
        assertThrows(IllegalStateException.class, () -> m.sample(2, new RngKey(1, 0, 0)));
        assertThrows(IllegalStateException.class, () -> new Trainer(m, data, null, tc));
        assertThrows(IllegalStateException.class, () -> Checkpoint.saveModel(dir.resolve("m.safetensors"), m, new int[] {3, 4}));
        try (Vae open = vae(DType.F32); Rbm rbm = Rbm.create(be, new RbmConfig(D, 4, 1, false, 2), 5)) {
            for (Generative g : new Generative[] {open, rbm}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.sample(2, null, -1));
                assertTrue(e.getMessage().startsWith("key must not be null"), e.getMessage());
            }
        }
        try (Cvae c = cvae()) {
            c.close();
            assertThrows(IllegalStateException.class, () -> c.sample(2, new RngKey(1, 0, 0), 1));
        }
    }

    @Test
    void aCheckpointLoadWouldRefuseIsNotWritten(@TempDir Path dir) {
        try (Vae m = vae(DType.F32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoint.saveModel(dir.resolve("m.safetensors"), m, new int[] {28, 28}));
            assertEquals("image [28, 28] must be [rows, cols] or [rows, cols, 3] and multiply to input_dim 12", e.getMessage());
            assertTrue(!java.nio.file.Files.exists(dir.resolve("m.safetensors")));
        }
    }

    @Test
    void aClosedDeviceDatasetIsRefused() {
        Dataset data = Dataset.fromFloats(unit(6 * D, 5), null, 3, 4);
        try (Vae m = vae(DType.F32)) {
            DeviceDataset dd = new DeviceDataset(be, data);
            Evaluator ev = new Evaluator(m, dd, Binarization.DYNAMIC, 1);
            dd.close();
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> ev.elbo(1));
            assertEquals("this DeviceDataset was closed; upload the data set again", s.getMessage());
            dd.close(); // a second close is harmless
        }
    }

    @Test
    void evaluatorRefusesZeroSamples() {
        Dataset data = Dataset.fromFloats(unit(6 * D, 5), null, 3, 4);
        try (Vae m = vae(DType.F32); DeviceDataset dd = new DeviceDataset(be, data)) {
            Evaluator ev = new Evaluator(m, dd, Binarization.DYNAMIC, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ev.elbo(0));
            assertEquals("samples must be >= 1, got 0", e.getMessage());
            assertEquals(6, ev.elbo(1).length);
        }
    }

    @Test
    void aCvaeEvaluationSaysHowToUploadTheLabels() {
        Dataset data = Dataset.fromFloats(unit(4 * D, 6), new int[] {0, 1, 2, 3}, 3, 4);
        try (Cvae m = cvae(); DeviceDataset bare = new DeviceDataset(be, data); DeviceDataset labelled = new DeviceDataset(be, data, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Evaluator(m, bare, Binarization.DYNAMIC, 1));
            assertEquals("the model needs the data's labels as 4 one-hot classes, got 0 (upload them: new DeviceDataset(backend, dataset, 4))",
                    e.getMessage());
            assertEquals(4, new Evaluator(m, labelled, Binarization.DYNAMIC, 1).elbo(1).length);
        }
    }

    @Test
    void everyFamilyHasAnF32Create() {
        try (Cvae a = Cvae.create(be, CvaeConfig.defaults(D, 4), 5); Cvae b = Cvae.create(be, CvaeConfig.defaults(D, 4), DType.F32, 5);
             Rbm r = Rbm.create(be, new RbmConfig(D, 4, 1, false, 2), 5)) {
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(be.download(b.parameters().values()), be.download(a.parameters().values()));
            assertEquals(DType.F32, r.dtype());
        }
    }

    @Test
    void datasetFromFloatsRoundsToTheLevelsAndNamesBadValues() {
        float[] v = {0f, 1f, 0.5f, 0.25f, 1f / 255, 0.999f};
        Dataset d = Dataset.fromFloats(v, new int[] {7, 9}, 1, 3);
        assertEquals(2, d.n());
        assertEquals(3, d.dim());
        int[] want = {0, 255, 128, 64, 1, 255};
        for (int i = 0; i < v.length; i++) assertEquals(want[i], d.pixel(i / 3, i % 3), "value " + i);
        assertEquals(9, d.label(1));
        Dataset s = Dataset.fromFloats(new float[] {-1, 1, 0, 0, 0, 0}, null, 1, 2, 3, new Scaling(-1, 1));
        assertEquals(0, s.pixel(0, 0));
        assertEquals(255, s.pixel(0, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Dataset.fromFloats(new float[] {0, Float.NaN, 0}, null, 1, 3));
        assertEquals("values[1] (example 0, value 1) is NaN; every value must be a number in [0.0, 1.0]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Dataset.fromFloats(new float[] {0, 0, 0, 0, 2, 0}, null, 1, 3));
        assertTrue(e.getMessage().startsWith("values[4] (example 1, value 1) is 2.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Dataset.fromFloats(new float[4], null, 1, 3));
        assertTrue(e.getMessage().startsWith("values has 4 entries, not a whole number of 1x3 examples"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Dataset.fromFloats(v, new int[] {1, 256}, 1, 3));
        assertEquals("labels[1] is 256; labels are classes 0..255", e.getMessage());
        float[] back = d.floats(0, 2);
        for (int i = 0; i < v.length; i++) assertEquals(want[i] / 255f, back[i], "floats " + i);
        assertArrayEquals(java.util.Arrays.copyOfRange(back, 3, 6), d.floats(1, 1));
        IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class, () -> d.floats(1, 2));
        assertEquals("images [1, 3) are outside this data set's 2 images", o.getMessage());
        o = assertThrows(IndexOutOfBoundsException.class, () -> d.pixel(2, 0));
        assertEquals("image 2 is outside 0..1 of this data set's 2", o.getMessage());
        o = assertThrows(IndexOutOfBoundsException.class, () -> d.label(-1));
        assertEquals("image -1 is outside 0..1 of this data set's 2", o.getMessage());
    }
}
