package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.nn.Linear;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Every differentiable CPU operation's backward against central finite differences, in double
 * precision. Losses are random linear functionals of the outputs, so every output element's
 * gradient path is exercised.
 */
class OpGradientTest {
    private final CpuBackend be = new CpuBackend();

    private Tensor f64(double[] v, int... dims) {
        return be.upload(v, Shape.of(dims));
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void linearLayer(Activation act) {
        int rows = 5, in = 7, out = 3;
        Linear layer = new Linear("l", in, out, act);
        Parameters.Builder pb = new Parameters.Builder();
        layer.declare(pb);
        try (Parameters p = pb.build(be, DType.F64, 11)) {
            Tensor x = f64(Rand.normal(1, rows * in, 1), rows, in);
            Tensor y = be.alloc(DType.F64, rows, out), dy = be.alloc(DType.F64, rows, out), dx = be.alloc(DType.F64, rows, in);
            double[] r = Rand.normal(2, rows * out, 1);
            java.util.function.DoubleSupplier loss = () -> {
                layer.forward(p, x, y);
                return dot(be.download(y), r);
            };
            loss.getAsDouble();
            be.write(dy, r);
            layer.backward(p, x, y, dy, dx);
            GradCheck.check("dW", be, p.value("l.weight"), be.download(p.grad("l.weight")), loss, 1e-6, 1e-6);
            GradCheck.check("db", be, p.value("l.bias"), be.download(p.grad("l.bias")), loss, 1e-6, 1e-6);
            GradCheck.check("dx", be, x, be.download(dx), loss, 1e-6, 1e-6);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void latentReparameterisationAndKl(int samples) {
        int b = 3, z = 4;
        double klWeight = 0.37;
        Tensor stats = f64(Rand.normal(3, b * 2 * z, 0.8), b, 2 * z);
        Tensor eps = be.alloc(DType.F64, samples * b, z), zz = be.alloc(DType.F64, samples * b, z);
        Tensor kl = be.alloc(DType.F64, b), dStats = be.alloc(DType.F64, b, 2 * z);
        RngKey key = new RngKey(5, Streams.LATENT, 2);
        double[] r = Rand.normal(4, samples * b * z, 1);
        java.util.function.DoubleSupplier loss = () -> {
            be.latentForward(stats, key, eps, zz, kl, null);
            return dot(be.download(zz), r) + klWeight * be.sum(kl);
        };
        loss.getAsDouble();
        be.latentBackward(stats, eps, f64(r, samples * b, z), klWeight, dStats);
        GradCheck.check("dStats", be, stats, be.download(dStats), loss, 1e-6, 1e-6);
    }

    @Test
    void logRatioIsLogPriorMinusLogPosterior() {
        int b = 2, z = 3, samples = 2;
        double[] s = Rand.normal(6, b * 2 * z, 0.7);
        Tensor stats = f64(s, b, 2 * z);
        Tensor eps = be.alloc(DType.F64, samples * b, z), zz = be.alloc(DType.F64, samples * b, z);
        Tensor lr = be.alloc(DType.F64, samples * b);
        be.latentForward(stats, new RngKey(1, Streams.EVAL, 0), eps, zz, be.alloc(DType.F64, b), lr);
        double[] zv = be.download(zz), got = be.download(lr);
        for (int row = 0; row < samples * b; row++) {
            int src = row % b;
            double logp = 0, logq = 0;
            for (int k = 0; k < z; k++) {
                double mu = s[src * 2 * z + k], lv = s[src * 2 * z + z + k], v = zv[row * z + k];
                logp += -0.5 * (Math.log(2 * Math.PI) + v * v);
                logq += -0.5 * (Math.log(2 * Math.PI) + lv + (v - mu) * (v - mu) / Math.exp(lv));
            }
            org.junit.jupiter.api.Assertions.assertEquals(logp - logq, got[row], 1e-10);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bernoulli", "gaussian", "gaussian-learned"})
    void likelihoodGradient(String id) {
        Likelihood lik = Likelihood.parse(id, 0.3);
        int b = 3, samples = 2, d = 5, rows = b * samples;
        double scale = 0.25;
        Tensor out = f64(Rand.normal(7, rows * d, 2), rows, d);
        Tensor x = f64(Rand.uniform(8, b * d, 0, 1), b, d);
        Tensor logVar = lik.learnsVariance() ? f64(Rand.normal(9, d, 0.5), d) : null;
        Tensor dLogVar = lik.learnsVariance() ? be.alloc(DType.F64, d) : null;
        Tensor rowLoss = be.alloc(DType.F64, rows), dOut = be.alloc(DType.F64, rows, d);
        double[] w = Rand.uniform(10, rows, 0.5, 1.5);
        java.util.function.DoubleSupplier loss = () -> {
            be.likelihood(lik, out, x, logVar, scale, rowLoss, null, null);
            return scale * dot(be.download(rowLoss), w);
        };
        // The op's gradient is of scale * sum(rowLoss); weight rows by scaling dOut rows afterwards.
        be.likelihood(lik, out, x, logVar, scale, rowLoss, dOut, dLogVar);
        double[] g = be.download(dOut);
        for (int r = 0; r < rows; r++) for (int c = 0; c < d; c++) g[r * d + c] *= w[r];
        GradCheck.check("dOut", be, out, g, loss, 1e-6, 1e-6);
        if (lik.learnsVariance()) {
            java.util.function.DoubleSupplier plain = () -> {
                be.likelihood(lik, out, x, logVar, scale, rowLoss, null, null);
                return scale * be.sum(rowLoss);
            };
            GradCheck.check("dLogVar", be, logVar, be.download(dLogVar), plain, 1e-6, 1e-6);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void biasActivationBackwardIsTheDerivative(Activation act) {
        int rows = 4, cols = 6;
        double[] pre = Rand.normal(12, rows * cols, 1.5);
        Tensor bias = f64(Rand.normal(13, cols, 0.5), cols);
        double[] r = Rand.normal(14, rows * cols, 1);
        Tensor x = f64(pre, rows, cols);
        Tensor y = be.alloc(DType.F64, rows, cols);
        java.util.function.DoubleSupplier loss = () -> {
            be.copy(x, y);
            be.biasActivation(y, bias, act);
            return dot(be.download(y), r);
        };
        loss.getAsDouble();
        Tensor dy = f64(r, rows, cols), dBias = be.alloc(DType.F64, cols);
        be.biasActivationBackward(y, dy, act, dBias);
        GradCheck.check("dPre", be, x, be.download(dy), loss, 1e-6, 1e-6);
        GradCheck.check("dBias", be, bias, be.download(dBias), loss, 1e-6, 1e-6);
    }
}
