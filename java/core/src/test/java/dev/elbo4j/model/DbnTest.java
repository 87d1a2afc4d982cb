package dev.elbo4j.model;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Greedy stacking of the deep belief net, and its checkpoint. */
class DbnTest {
    private final Backend be = new CpuBackend();

    private double[] values(Dbn dbn, int l) {
        RbmLayer r = dbn.layer(l);
        double[] w = be.download(r.weight()), b = be.download(r.visibleBias()), c = be.download(r.hiddenBias());
        double[] all = Arrays.copyOf(w, w.length + b.length + c.length);
        System.arraycopy(b, 0, all, w.length, b.length);
        System.arraycopy(c, 0, all, w.length + b.length, c.length);
        return all;
    }

    @Test
    void layerTwoTrainsOnLayerOneFeaturesAfterLayerOne() {
        int d = 16, rows = 20, steps = 4;
        DbnConfig cfg = new DbnConfig(d, new int[]{8, 5}, 1, false, steps, 10);
        double[] x = new double[rows * d];
        for (int i = 0; i < x.length; i++) x[i] = (i * 7 % 5) < 2 ? 1 : 0;
        try (Dbn dbn = Dbn.create(be, cfg, DType.F64, 4); Dbn.Step step = dbn.trainStep(rows);
             Adam adam = new Adam(dbn.parameters(), new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0))) {
            Tensor xt = be.upload(x, Shape.of(rows, d));
            double[] top0 = values(dbn, 1), bottom0 = values(dbn, 0);
            for (int s = 0; s < steps; s++) {
                step.run(Batch.of(xt), new RngKey(1, Streams.LATENT, s));
                assertEquals(0, step.stage());
                adam.step();
            }
            assertArrayEquals(top0, values(dbn, 1), "layer 1 does not move while layer 0 trains");
            assertFalse(Arrays.equals(bottom0, values(dbn, 0)), "layer 0 trained");
            // Stage 1: the step's gradient is layer 1's CD on p(h|x) of layer 0, and zero for layer 0.
            RngKey key = new RngKey(1, Streams.LATENT, steps);
            step.run(Batch.of(xt), key);
            assertEquals(1, step.stage());
            double[] grads = be.download(dbn.parameters().grads());
            int layer0 = d * 8 + d + 8;
            for (int i = 0; i < layer0; i++) assertEquals(0, grads[i], "layer 0 gradient " + i);
            Tensor act = be.alloc(DType.F64, rows, 8), feat = be.alloc(DType.F64, rows, 8);
            dbn.layer(0).hiddenProbs(xt, act, feat);
            try (RbmLayer.Cd cd = dbn.layer(1).cd(rows)) {
                cd.run(feat, key, 1, false);
            }
            double[] direct = be.download(dbn.parameters().grads());
            assertArrayEquals(Arrays.copyOfRange(direct, layer0, direct.length), Arrays.copyOfRange(grads, layer0, grads.length),
                    "layer 1's gradient is CD on layer 0's hidden probabilities");
            assertEquals(1, dbn.stageOf(1_000_000), "the top layer trains on after its stage");
        }
    }

    @Test
    void checkpointRoundTripKeepsEveryLayer(@TempDir Path tmp) throws Exception {
        DbnConfig cfg = new DbnConfig(16, new int[]{12, 6, 3}, 2, true, 7, 5);
        Path f = tmp.resolve("dbn.safetensors");
        double[] all;
        try (Dbn dbn = Dbn.create(be, cfg, DType.F32, 9)) {
            assertEquals(16 * 12 + 16 + 12 + 12 * 6 + 12 + 6 + 6 * 3 + 6 + 3, dbn.parameters().count());
            all = be.download(dbn.parameters().values());
            Checkpoint.saveModel(f, dbn, new int[]{4, 4});
        }
        Checkpoint c = Checkpoint.load(f);
        assertEquals(cfg, c.model());
        try (Dbn back = c.restoreModel(be, Dbn.class)) {
            assertArrayEquals(all, be.download(back.parameters().values()));
            assertEquals(cfg.toString(), back.config().toString());
            float[] s = back.sample(5, new RngKey(1, Streams.SAMPLE, 0), -1);
            assertEquals(5 * 16, s.length);
            for (float p : s) assertTrue(p >= 0 && p <= 1);
            Tensor x = be.upload(new float[5 * 16], Shape.of(5, 16));
            assertEquals(5 * 16, back.reconstruct(x, null).length);
        }
    }
}
