package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The autoencoder's training loss: every parameter's gradient against central finite differences
 * in double (plain, tied, sparse, MSE, each with a fixed corruption draw), the loss against its
 * closed form, and F32 against F64.
 */
class AutoencoderGradientTest {
    private final CpuBackend be = new CpuBackend();

    @ParameterizedTest(name = "{0} {1} tied={2} {3}({4}) sparsity weight {5}")
    @CsvSource({
            "bernoulli, tanh,    false, none,     0,    0",
            "bernoulli, tanh,    false, mask,     0.3,  0",
            "bernoulli, sigmoid, true,  gaussian, 0.2,  0",
            "bernoulli, tanh,    true,  none,     0,    0",
            "bernoulli, tanh,    false, mask,     0.25, 0.5",
            "bernoulli, relu,    true,  gaussian, 0.1,  0.8",
            "mse,       tanh,    false, gaussian, 0.3,  0",
            "mse,       sigmoid, true,  mask,     0.2,  0.3"})
    void everyParameter(String rec, String act, boolean tied, String corruption, double level, double weight) {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(7).hidden(5, 4).latent(3).activation(Activation.parse(act))
                .reconstruction(AutoencoderConfig.Reconstruction.parse(rec)).tied(tied)
                .corruption(Corruption.parse(corruption), level).sparsity(0.3, weight).build();
        int b = 5;
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F64, 23); Autoencoder.Pass pass = ae.pass(b, true)) {
            Tensor x = be.upload(Rand.uniform(31, b * 7, 0, 1), Shape.of(b, 7));
            RngKey key = new RngKey(4, Streams.LATENT, 6);
            DoubleSupplier loss = () -> {
                pass.run(x, key);
                return pass.meanLoss();
            };
            loss.getAsDouble();
            double[] grads = be.download(ae.parameters().grads());
            assertTrue(java.util.Arrays.stream(grads).anyMatch(g -> g != 0), "some gradient is non-zero");
            // h = 1e-5: the loss is O(5), so h = 1e-6 leaves ~1e-10 of rounding in the difference quotients, too much
            // for the smallest gradients (~3e-5); truncation error at 1e-5 is ~1e-10 relative.
            GradCheck.check(cfg.toString(), be, ae.parameters().values(), grads, loss, 1e-5, 2e-6);
        }
    }

    /** Without corruption and penalty, the mean loss is the closed form computed here from the reconstructions. */
    @ParameterizedTest
    @CsvSource({"bernoulli, false", "mse, false", "mse, true", "bernoulli, true"})
    void lossIsTheClosedForm(String rec, boolean tied) {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(9).hidden(6).latent(2).activation(Activation.TANH)
                .reconstruction(AutoencoderConfig.Reconstruction.parse(rec)).tied(tied).build();
        int b = 4;
        double[] xs = Rand.uniform(3, b * 9, 0, 1);
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F64, 5); Autoencoder.Pass pass = ae.pass(b, true)) {
            Tensor x = be.upload(xs, Shape.of(b, 9));
            pass.run(x, new RngKey(1, Streams.LATENT, 0));
            double[] out = be.download(pass.decoderOutput());
            double want = 0;
            for (int i = 0; i < xs.length; i++) {
                double l = out[i];
                want += rec.equals("mse") ? (xs[i] - l) * (xs[i] - l) : Math.log1p(Math.exp(l)) - xs[i] * l;
            }
            want /= b;
            assertEquals(want, pass.meanLoss(), 1e-12 * Math.max(1, want), "mean loss");
            try (Tensor acc = be.alloc(DType.F64, 1)) {
                pass.accumulateLoss(acc);
                assertEquals(want * b, be.download(acc)[0], 1e-11 * Math.max(1, want * b), "accumulated summed loss");
            }
            float[] recon = ae.reconstruct(x, null);
            for (int i = 0; i < out.length; i++) {
                double m = rec.equals("mse") ? out[i] : 1 / (1 + Math.exp(-out[i]));
                assertEquals(m, recon[i], 1e-6, "reconstruction " + i);
            }
        }
    }

    /** The sparse loss adds W sum_j KL(rho || mean code activation), computed here from the codes. */
    @Test
    void sparsePenaltyIsAddedToTheLoss() {
        AutoencoderConfig base = AutoencoderConfig.builder().inputDim(8).hidden(6).latent(3).activation(Activation.TANH).build();
        AutoencoderConfig sparse = base.toBuilder().sparsity(0.1, 0.4).build();
        int b = 6;
        Tensor x = be.upload(Rand.uniform(2, b * 8, 0, 1), Shape.of(b, 8));
        try (Autoencoder ae = Autoencoder.create(be, sparse, DType.F64, 7); Autoencoder.Pass pass = ae.pass(b, true);
             Autoencoder.Pass eval = ae.pass(b, false)) {
            pass.run(x, new RngKey(1, Streams.LATENT, 0));
            eval.run(x, new RngKey(1, Streams.LATENT, 0));
            double[] code = be.download(pass.code());
            double penalty = 0;
            for (int j = 0; j < 3; j++) {
                double m = 0;
                for (int r = 0; r < b; r++) {
                    double h = code[r * 3 + j];
                    assertTrue(h > 0 && h < 1, "sigmoid code");
                    m += h;
                }
                m /= b;
                penalty += 0.1 * Math.log(0.1 / m) + 0.9 * Math.log(0.9 / (1 - m));
            }
            assertEquals(eval.meanLoss() + 0.4 * penalty, pass.meanLoss(), 1e-12, "training loss = reconstruction + W * KL");
        }
    }

    @Test
    void floatMatchesDouble() {
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(30).hidden(17).latent(5).tied(true)
                .corruption(Corruption.MASK, 0.2).sparsity(0.1, 0.3).build();
        double[] xs = Rand.uniform(4, 7 * 30, 0, 1);
        RngKey key = new RngKey(1, Streams.LATENT, 3);
        try (Autoencoder f = Autoencoder.create(be, cfg, DType.F32, 3); Autoencoder d = Autoencoder.create(be, cfg, DType.F64, 3);
             Autoencoder.Pass pf = f.pass(7, true); Autoencoder.Pass pd = d.pass(7, true)) {
            pf.run(be.upload(Rand.toFloat(xs), Shape.of(7, 30)), key);
            pd.run(be.upload(xs, Shape.of(7, 30)), key);
            assertEquals(pd.meanLoss(), pf.meanLoss(), 1e-5 * Math.abs(pd.meanLoss()));
            double[] gf = be.download(f.parameters().grads()), gd = be.download(d.parameters().grads());
            double scale = 0;
            for (double g : gd) scale = Math.max(scale, Math.abs(g));
            for (int i = 0; i < gd.length; i++) assertEquals(gd[i], gf[i], 1e-4 * scale, "gradient " + i);
        }
    }
}
