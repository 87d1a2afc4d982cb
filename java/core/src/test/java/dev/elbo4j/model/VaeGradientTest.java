package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
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

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The whole VAE training loss: every parameter's gradient against finite differences, in double. */
class VaeGradientTest {
    private final CpuBackend be = new CpuBackend();

    @ParameterizedTest
    @CsvSource({"bernoulli,tanh,1,1.0", "bernoulli,relu,3,0.7", "gaussian,tanh,2,1.0", "gaussian-learned,sigmoid,2,0.5"})
    void everyParameter(String likelihood, String act, int samples, double beta) {
        VaeConfig cfg = VaeConfig.builder().inputDim(6).encoderHidden(5).latent(3).decoderHidden(4, 3)
                .activation(Activation.parse(act)).likelihood(Likelihood.parse(likelihood, 0.4)).samples(samples).beta(beta).build();
        try (Vae vae = Vae.create(be, cfg, DType.F64, 17); Vae.Pass pass = vae.pass(4, samples, true)) {
            if (cfg.likelihood().learnsVariance()) {
                be.write(vae.parameters().value(Vae.LOGVAR), Rand.normal(3, 6, 0.3));
            }
            Tensor x = be.upload(Rand.uniform(21, 4 * 6, 0, 1), Shape.of(4, 6));
            RngKey key = new RngKey(99, Streams.LATENT, 5);
            java.util.function.DoubleSupplier loss = () -> {
                pass.run(x, key);
                return pass.meanLoss();
            };
            loss.getAsDouble();
            double[] grads = be.download(vae.parameters().grads());
            GradCheck.check("params", be, vae.parameters().values(), grads, loss, 1e-6, 2e-6);
        }
    }

    /** The F32 path computes the same loss and gradients as the F64 reference, within float rounding. */
    @Test
    void floatMatchesDouble() {
        VaeConfig cfg = VaeConfig.builder().inputDim(30).encoderHidden(17).latent(5).decoderHidden(13).samples(2).build();
        double[] xs = Rand.uniform(4, 7 * 30, 0, 1);
        RngKey key = new RngKey(1, Streams.LATENT, 0);
        try (Vae f = Vae.create(be, cfg, DType.F32, 3); Vae d = Vae.create(be, cfg, DType.F64, 3);
             Vae.Pass pf = f.pass(7, 2, true); Vae.Pass pd = d.pass(7, 2, true)) {
            pf.run(be.upload(Rand.toFloat(xs), Shape.of(7, 30)), key);
            pd.run(be.upload(xs, Shape.of(7, 30)), key);
            assertEquals(pd.meanLoss(), pf.meanLoss(), 1e-4 * Math.abs(pd.meanLoss()));
            double[] gf = be.download(f.parameters().grads()), gd = be.download(d.parameters().grads());
            double scale = 0;
            for (double g : gd) scale = Math.max(scale, Math.abs(g));
            for (int i = 0; i < gd.length; i++) {
                assertEquals(gd[i], gf[i], 1e-4 * scale, "gradient " + i);
            }
        }
    }
}
