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

/**
 * The CVAE loss and M2's labelled and unlabelled losses: every parameter's gradient against
 * central finite differences in double (fixed noise), and the losses against their definitions.
 */
class ConditionalGradientTest {
    private final CpuBackend be = new CpuBackend();
    private static final int D = 6, C = 3;

    private Tensor oneHot(int[] labels) {
        double[] y = new double[labels.length * C];
        for (int i = 0; i < labels.length; i++) y[i * C + labels[i]] = 1;
        return be.upload(y, Shape.of(labels.length, C));
    }

    @ParameterizedTest
    @CsvSource({"bernoulli,tanh,1,1.0,1.0", "bernoulli,sigmoid,2,0.7,0.5", "gaussian,tanh,1,1.0,1.0", "gaussian-learned,tanh,2,1.0,0.8"})
    void cvaeEveryParameter(String likelihood, String act, int samples, double beta, double klWeight) {
        CvaeConfig cfg = new CvaeConfig(D, C, new int[]{5}, 3, new int[]{4, 3}, Activation.parse(act),
                Likelihood.parse(likelihood, 0.4), samples, beta);
        try (Cvae m = Cvae.create(be, cfg, DType.F64, 17); Cvae.Step step = m.trainStep(4)) {
            if (cfg.likelihood().learnsVariance()) be.write(m.parameters().value(Vae.LOGVAR), Rand.normal(3, D, 0.3));
            step.klWeight(klWeight);
            Tensor x = be.upload(Rand.uniform(21, 4 * D, 0, 1), Shape.of(4, D));
            Batch batch = new Batch(x, oneHot(new int[]{2, 0, 1, 2}), null, null);
            RngKey key = new RngKey(99, Streams.LATENT, 5);
            java.util.function.DoubleSupplier loss = () -> {
                step.run(batch, key);
                return step.meanLoss();
            };
            loss.getAsDouble();
            GradCheck.check("params", be, m.parameters().values(), be.download(m.parameters().grads()), loss, 1e-6, 1e-5);
        }
    }

    /** The label changes the loss (it reaches both networks) and the loss is rec/L + beta KL as documented. */
    @Test
    void cvaeLossUsesTheLabel() {
        CvaeConfig cfg = new CvaeConfig(D, C, new int[]{5}, 3, new int[]{4}, Activation.TANH, Likelihood.bernoulli(), 1, 1);
        try (Cvae m = Cvae.create(be, cfg, DType.F64, 3); Cvae.Step step = m.trainStep(2)) {
            Tensor x = be.upload(Rand.uniform(1, 2 * D, 0, 1), Shape.of(2, D));
            RngKey key = new RngKey(1, Streams.LATENT, 0);
            step.run(new Batch(x, oneHot(new int[]{0, 1}), null, null), key);
            double a = step.meanLoss();
            java.util.Map<String, Tensor> terms = step.lossTerms();
            double rec = 0, kl = 0;
            int i = 0;
            for (Tensor t : terms.values()) {
                if (i++ == 0) rec = be.sum(t); else kl = be.sum(t);
            }
            assertEquals((rec + kl) / 2, a, 1e-12);
            step.run(new Batch(x, oneHot(new int[]{2, 2}), null, null), key);
            org.junit.jupiter.api.Assertions.assertNotEquals(a, step.meanLoss(), 1e-6);
        }
    }

    private M2Config m2(String act) {
        return new M2Config(D, C, new int[]{4}, new int[]{5}, 2, new int[]{4}, Activation.parse(act), Likelihood.bernoulli(), 0.8, 1.3);
    }

    @ParameterizedTest
    @CsvSource({"tanh,1.0", "sigmoid,0.6"})
    void m2UnlabelledEveryParameter(String act, double klWeight) {
        try (M2 m = M2.create(be, m2(act), DType.F64, 5); M2.Step step = m.trainStep(4)) {
            step.klWeight(klWeight);
            Batch batch = new Batch(be.upload(Rand.uniform(2, 3 * D, 0, 1), Shape.of(3, D)), null, null, null);
            RngKey key = new RngKey(7, Streams.LATENT, 2);
            java.util.function.DoubleSupplier loss = () -> {
                step.run(batch, key);
                return step.meanLoss();
            };
            loss.getAsDouble();
            GradCheck.check("params", be, m.parameters().values(), be.download(m.parameters().grads()), loss, 1e-6, 1e-5);
        }
    }

    /** Unlabelled plus labelled (3 + 2 examples): the accumulated gradient of the whole step. */
    @ParameterizedTest
    @CsvSource({"tanh,1.0", "tanh,0.5"})
    void m2LabelledAndUnlabelledEveryParameter(String act, double klWeight) {
        try (M2 m = M2.create(be, m2(act), DType.F64, 6); M2.Step step = m.trainStep(4)) {
            step.klWeight(klWeight);
            Batch batch = new Batch(be.upload(Rand.uniform(3, 3 * D, 0, 1), Shape.of(3, D)), null,
                    be.upload(Rand.uniform(4, 2 * D, 0, 1), Shape.of(2, D)), oneHot(new int[]{1, 2}));
            RngKey key = new RngKey(8, Streams.LATENT, 3);
            java.util.function.DoubleSupplier loss = () -> {
                step.run(batch, key);
                return step.meanLoss();
            };
            loss.getAsDouble();
            GradCheck.check("params", be, m.parameters().values(), be.download(m.parameters().grads()), loss, 1e-6, 1e-5);
        }
    }

    /**
     * The labelled loss alone, by difference: (whole step) - (unlabelled step) is the labelled
     * term; its gradient is checked against finite differences of that difference.
     */
    @Test
    void m2LabelledTermEveryParameter() {
        try (M2 m = M2.create(be, m2("tanh"), DType.F64, 7); M2.Step step = m.trainStep(4)) {
            Tensor xu = be.upload(Rand.uniform(5, 2 * D, 0, 1), Shape.of(2, D));
            Batch both = new Batch(xu, null, be.upload(Rand.uniform(6, 3 * D, 0, 1), Shape.of(3, D)), oneHot(new int[]{0, 2, 1}));
            Batch unl = new Batch(xu, null, null, null);
            RngKey key = new RngKey(9, Streams.LATENT, 4);
            java.util.function.DoubleSupplier labelled = () -> {
                step.run(unl, key);
                double u = step.meanLoss();
                step.run(both, key);
                return step.meanLoss() - u;
            };
            step.run(unl, key);
            double[] gu = be.download(m.parameters().grads());
            step.run(both, key);
            double[] g = be.download(m.parameters().grads());
            for (int i = 0; i < g.length; i++) g[i] -= gu[i];
            GradCheck.check("labelled", be, m.parameters().values(), g, labelled, 1e-6, 1e-5);
            // Its value: mean of rec + beta KL + log C + alpha CE over the labelled rows.
            double l = labelled.getAsDouble();
            java.util.Map<String, Tensor> t = step.lossTerms();
            var it = t.values().iterator();
            it.next();
            double rec = be.sum(it.next()), kl = be.sum(it.next()), ce = be.sum(it.next());
            assertEquals((rec + 1.3 * kl + 0.8 * ce) / 3 + Math.log(C), l, 1e-10);
        }
    }

    /** F32 and F64 M2 steps agree within float rounding. */
    @Test
    void m2FloatMatchesDouble() {
        M2Config cfg = new M2Config(30, 4, new int[]{9}, new int[]{11}, 3, new int[]{7}, Activation.RELU, Likelihood.bernoulli(), 10, 1);
        double[] xs = Rand.uniform(4, 5 * 30, 0, 1), xl = Rand.uniform(5, 3 * 30, 0, 1);
        double[] yl = new double[3 * 4];
        yl[1] = yl[4 + 3] = yl[8] = 1;
        RngKey key = new RngKey(1, Streams.LATENT, 0);
        try (M2 f = M2.create(be, cfg, DType.F32, 3); M2 d = M2.create(be, cfg, DType.F64, 3);
             M2.Step sf = f.trainStep(5); M2.Step sd = d.trainStep(5)) {
            sf.run(new Batch(be.upload(Rand.toFloat(xs), Shape.of(5, 30)), null, be.upload(Rand.toFloat(xl), Shape.of(3, 30)),
                    be.upload(Rand.toFloat(yl), Shape.of(3, 4))), key);
            sd.run(new Batch(be.upload(xs, Shape.of(5, 30)), null, be.upload(xl, Shape.of(3, 30)), be.upload(yl, Shape.of(3, 4))), key);
            assertEquals(sd.meanLoss(), sf.meanLoss(), 1e-4 * Math.abs(sd.meanLoss()));
            double[] gf = be.download(f.parameters().grads()), gd = be.download(d.parameters().grads());
            double scale = 0;
            for (double g : gd) scale = Math.max(scale, Math.abs(g));
            for (int i = 0; i < gd.length; i++) assertEquals(gd[i], gf[i], 1e-4 * scale, "gradient " + i);
        }
    }
}
