package dev.elbo4j.model;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fully visible Boltzmann machine: exact gradient, exact training, exact sampling. */
class FvbmTest {
    private final Backend be = new CpuBackend();

    /** n binary examples of d pixels with correlated pixels: pixel i copies pixel i-1 with probability 0.8. */
    static byte[] correlated(int n, int d, long seed) {
        double[] u = Rand.uniform(seed, n * d, 0, 1);
        byte[] px = new byte[n * d];
        for (int r = 0; r < n; r++) {
            boolean on = u[r * d] < 0.3;
            for (int i = 0; i < d; i++) {
                if (i > 0 && u[r * d + i] >= 0.8) on = !on;
                px[r * d + i] = (byte) (on ? 255 : 0);
            }
        }
        return px;
    }

    @Test
    void exactGradientMatchesFiniteDifferencesOfTheExactLogLikelihood() {
        int d = 5, rows = 7;
        try (Fvbm m = Fvbm.create(be, new FvbmConfig(d), DType.F64, 1)) {
            // A non-symmetric W with a non-zero diagonal: the model uses (W + W^T)/2 off the diagonal,
            // and the gradient must say so (zero on the diagonal, the same for W_ij and W_ji).
            be.write(m.parameters().values(), m.parameters().padded(Rand.normal(3, d + d * d, 0.7)));
            double[] x = new double[rows * d];
            for (int i = 0; i < x.length; i++) x[i] = (i * 13 % 5) < 2 ? 1 : 0;
            Tensor xt = be.upload(x, Shape.of(rows, d));
            try (TrainStep step = m.trainStep(rows)) {
                step.run(Batch.of(xt), new RngKey(1, Streams.LATENT, 0));
                double[] analytic = be.download(m.parameters().grads());
                for (int i = 0; i < d; i++) assertEquals(0, analytic[d + i * d + i], "diagonal gradient");
                GradCheck.check("fvbm", be, m.parameters().values(), analytic, () -> {
                    step.run(Batch.of(xt), new RngKey(1, Streams.LATENT, 0));
                    return step.meanLoss();
                }, 1e-5, 1e-7);
            }
        }
    }

    @Test
    void trainingRaisesTheExactLogLikelihoodAndKeepsWSymmetric() {
        int d = 8, n = 400;
        Dataset train = new Dataset(correlated(n, d, 5), null, n, 2, 4), test = new Dataset(correlated(200, d, 6), null, 200, 2, 4);
        TrainConfig tc = new TrainConfig(15, 50, new AdamConfig(0.05, 0.9, 0.999, 1e-8, 0), Binarization.NONE, 3);
        try (Fvbm m = Fvbm.create(be, new FvbmConfig(d), DType.F32, 3); DeviceDataset td = new DeviceDataset(be, test)) {
            double before = m.testObjective(td, Binarization.NONE, 3);
            assertEquals(-d * Math.log(2), before, 1e-6, "all-zero parameters: the uniform distribution");
            try (Trainer t = new Trainer(m, train, null, tc)) {
                t.run(new TrainListener() {
                });
            }
            double after = m.testObjective(td, Binarization.NONE, 3);
            // The data's entropy: first pixel H(0.3), then 7 flips of H(0.2): about 0.611 + 7 * 0.500 = 4.11 nats.
            double entropy = -(0.3 * Math.log(0.3) + 0.7 * Math.log(0.7)) - 7 * (0.2 * Math.log(0.2) + 0.8 * Math.log(0.8));
            assertTrue(after > before + 1, "log p(x) " + before + " -> " + after);
            assertTrue(after > -entropy - 0.25, "log p(x) " + after + " vs -entropy " + -entropy);
            double[] w = be.download(m.parameters().value("weight"));
            for (int i = 0; i < d; i++) {
                assertEquals(0, w[i * d + i]);
                for (int j = 0; j < d; j++) assertEquals(w[i * d + j], w[j * d + i], 1e-6);
            }
            // Neighbours are coupled positively.
            assertTrue(w[1] > 0.5, "W_01 = " + w[1]);
        }
    }

    @Test
    void samplesFollowTheExactDistribution() {
        int d = 4, n = 20_000;
        try (Fvbm m = Fvbm.create(be, new FvbmConfig(d), DType.F64, 1)) {
            be.write(m.parameters().values(), m.parameters().padded(Rand.normal(8, d + d * d, 1)));
            Fvbm.Exact ex = m.exact();
            float[] s = m.sample(n, new RngKey(2, Streams.SAMPLE, 0), -1);
            double[] hist = new double[1 << d];
            for (int r = 0; r < n; r++) {
                int st = 0;
                for (int i = 0; i < d; i++) st |= (int) s[r * d + i] << i;
                hist[st] += 1.0 / n;
            }
            double tv = 0;
            for (int st = 0; st < hist.length; st++) tv += Math.abs(hist[st] - Math.exp(ex.logUnnormalised()[st] - ex.logZ())) / 2;
            assertTrue(tv < 0.02, "total variation " + tv);
        }
        assertThrows(IllegalArgumentException.class, () -> new FvbmConfig(21));
        assertThrows(IllegalArgumentException.class, () -> new FvbmConfig(0));
    }
}
