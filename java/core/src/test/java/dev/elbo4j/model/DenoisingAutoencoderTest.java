package dev.elbo4j.model;

import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Mnist;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Denoising does what it is for: a model trained on masked inputs restores masked test digits better. */
class DenoisingAutoencoderTest {
    private final CpuBackend be = new CpuBackend();

    /**
     * Mean cross-entropy, in nats per digit, between clean test digits and the model's
     * reconstructions of the same digits with half of their pixels masked.
     */
    private double maskedLoss(Autoencoder ae, DeviceDataset td, int n) {
        try (Tensor x = be.alloc(DType.F32, n, 784); Tensor xc = be.alloc(DType.F32, n, 784)) {
            td.gather(0, Binarization.FIXED, new RngKey(1, Streams.EVAL_BINARIZE, 0), x);
            be.corrupt(Corruption.MASK, 0.5, new RngKey(99, Streams.CORRUPT, 0), x, xc);
            float[] p = ae.reconstruct(xc, null);
            double[] clean = be.download(x);
            double loss = 0;
            for (int i = 0; i < p.length; i++) {
                double q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
                loss -= clean[i] * Math.log(q) + (1 - clean[i]) * Math.log(1 - q);
            }
            return loss / n;
        }
    }

    /**
     * One epoch on 2,000 digits (40 steps), plain against mask-0.5 denoising, same seed and
     * architecture; the denoising model's loss on half-masked test digits is lower by a clear margin
     * (measured: plain 238.59, denoising 208.14 nats).
     */
    @Test
    void aDenoisingModelRestoresMaskedDigitsBetter() {
        Dataset train = Mnist.train().subset(2000), test = Mnist.test().subset(200);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(50).learningRate(3e-3).seed(8).build();
        double[] loss = new double[2];
        int i = 0;
        for (Corruption kind : new Corruption[]{Corruption.NONE, Corruption.MASK}) {
            AutoencoderConfig cfg = AutoencoderConfig.builder().hidden(64).latent(16).corruption(kind, kind == Corruption.NONE ? 0 : 0.5).build();
            try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F32, 8); DeviceDataset td = new DeviceDataset(be, test);
                 Trainer t = new Trainer(ae, train, null, tc)) {
                t.run(new TrainListener() {
                });
                loss[i++] = maskedLoss(ae, td, 200);
            }
        }
        System.out.printf(java.util.Locale.ROOT, "half-masked test digits: plain %.2f, denoising %.2f nats%n", loss[0], loss[1]);
        assertTrue(loss[1] < loss[0] - 20, "denoising " + loss[1] + " vs plain " + loss[0]);
    }
}
