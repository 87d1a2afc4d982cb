package dev.elbo4j.backend.cpu;

import dev.elbo4j.nn.ConditionalLinear;
import dev.elbo4j.backend.Activation;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The classify.cu group on the CPU: closed forms on hand-computed examples, gradients against
 * central finite differences in double, and F32 against F64.
 */
class ClassifyOpsTest {
    private final CpuBackend be = new CpuBackend();

    private Tensor f64(double[] v, int... dims) {
        return be.upload(v, Shape.of(dims));
    }

    /** logits (0, ln 2, ln 3): q = (1, 2, 3) / 6, so -log q = (ln 6, ln 3, ln 2). */
    @Test
    void crossEntropyClosedForm() {
        double l2 = Math.log(2), l3 = Math.log(3);
        Tensor logits = f64(new double[]{0, l2, l3, 5 + 0, 5 + l2, 5 + l3}, 2, 3);  // a shift changes nothing
        Tensor target = f64(new double[]{0, 1, 0, 0.25, 0, 0.75}, 2, 3);              // one-hot and a soft target
        Tensor loss = be.alloc(DType.F64, 2), d = be.alloc(DType.F64, 2, 3);
        be.softmaxCrossEntropy(logits, target, 0.5, loss, d);
        assertArrayEquals(new double[]{l3, 0.25 * Math.log(6) + 0.75 * l2}, be.download(loss), 1e-15);
        double[] q = {1 / 6.0, 2 / 6.0, 3 / 6.0};
        assertArrayEquals(new double[]{0.5 * q[0], 0.5 * (q[1] - 1), 0.5 * q[2], 0.5 * (q[0] - 0.25), 0.5 * q[1], 0.5 * (q[2] - 0.75)},
                be.download(d), 1e-15);
        // Huge logits do not overflow (the maximum is subtracted first).
        Tensor big = f64(new double[]{1000, 0, 1000}, 1, 3);
        be.softmaxCrossEntropy(big, f64(new double[]{1, 0, 0}, 1, 3), 1, loss.view(0, 1), null);
        assertEquals(Math.log(2), be.download(loss.view(0, 1))[0], 1e-12);
    }

    @Test
    void crossEntropyGradientAndFloat() {
        int b = 4, c = 5;
        Tensor logits = f64(Rand.normal(1, b * c, 2), b, c);
        double[] t = Rand.uniform(2, b * c, 0, 1);
        Tensor target = f64(t, b, c), loss = be.alloc(DType.F64, b), d = be.alloc(DType.F64, b, c);
        java.util.function.DoubleSupplier f = () -> {
            be.softmaxCrossEntropy(logits, target, 1, loss, null);
            return be.sum(loss) * 0.3;
        };
        be.softmaxCrossEntropy(logits, target, 0.3, loss, d);
        GradCheck.check("dLogits", be, logits, be.download(d), f, 1e-6, 1e-7);
        Tensor lf = be.upload(Rand.toFloat(be.download(logits)), Shape.of(b, c)), tf = be.upload(Rand.toFloat(t), Shape.of(b, c));
        Tensor lossF = be.alloc(DType.F32, b), dF = be.alloc(DType.F32, b, c);
        be.softmaxCrossEntropy(lf, tf, 0.3, lossF, dF);
        assertArrayEquals(be.download(loss), be.download(lossF), 1e-5);
        assertArrayEquals(be.download(d), be.download(dF), 1e-6);
    }

    /**
     * Two classes, q = (1/4, 3/4) (logits 0, ln 3), L = (rec + w kl + log 2):
     * U = q0 (L0 + log q0) + q1 (L1 + log q1).
     */
    @Test
    void unlabelledBoundClosedForm() {
        double w = 0.5, off = Math.log(2);
        Tensor logits = f64(new double[]{0, Math.log(3)}, 1, 2);
        Tensor rec = f64(new double[]{10, 20}, 2), kl = f64(new double[]{4, 2}, 2);
        Tensor u = be.alloc(DType.F64, 1), weights = be.alloc(DType.F64, 2), d = be.alloc(DType.F64, 1, 2);
        be.unlabelledBound(logits, rec, kl, w, off, 2, u, weights, d);
        double l0 = 10 + 2 + off, l1 = 20 + 1 + off, q0 = 0.25, q1 = 0.75;
        double want = q0 * (l0 + Math.log(q0)) + q1 * (l1 + Math.log(q1));
        assertEquals(want, be.download(u)[0], 1e-12);
        assertArrayEquals(new double[]{q0, q1}, be.download(weights), 1e-15);
        assertArrayEquals(new double[]{2 * q0 * (l0 + Math.log(q0) - want), 2 * q1 * (l1 + Math.log(q1) - want)}, be.download(d), 1e-12);
        // U = sum_y q L - H(q) is minimised over q by the posterior q ∝ exp(-L), where U = -log sum exp(-L).
        Tensor best = f64(new double[]{-l0, -l1}, 1, 2);
        be.unlabelledBound(best, rec, kl, w, off, 1, u, weights, null);
        assertEquals(-Math.log(Math.exp(-l0) + Math.exp(-l1)), be.download(u)[0], 1e-12);
    }

    @Test
    void unlabelledBoundGradientLayoutAndFloat() {
        int b = 3, c = 4;
        Tensor logits = f64(Rand.normal(3, b * c, 1.5), b, c);
        Tensor rec = f64(Rand.uniform(4, b * c, 50, 150), b * c), kl = f64(Rand.uniform(5, b * c, 1, 20), b * c);
        Tensor u = be.alloc(DType.F64, b), weights = be.alloc(DType.F64, b * c), d = be.alloc(DType.F64, b, c);
        java.util.function.DoubleSupplier f = () -> {
            be.unlabelledBound(logits, rec, kl, 0.7, 2.3, 1, u, weights, null);
            return be.sum(u) / b;
        };
        be.unlabelledBound(logits, rec, kl, 0.7, 2.3, 1.0 / b, u, weights, d);
        GradCheck.check("dLogits", be, logits, be.download(d), f, 1e-6, 1e-6);
        be.unlabelledBound(logits, rec, kl, 0.7, 2.3, 1.0 / b, u, weights, d);  // the check left the last perturbation's outputs
        // Element c*B + b of rec/kl/weights belongs to input b, class c.
        double[] lg = be.download(logits), r = be.download(rec), k = be.download(kl), uu = be.download(u), ww = be.download(weights);
        for (int i = 0; i < b; i++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < c; j++) m = Math.max(m, lg[i * c + j]);
            for (int j = 0; j < c; j++) s += Math.exp(lg[i * c + j] - m);
            double want = 0, qs = 0;
            for (int j = 0; j < c; j++) {
                double q = Math.exp(lg[i * c + j] - m) / s;
                want += q * (r[j * b + i] + 0.7 * k[j * b + i] + 2.3 + Math.log(q));
                assertEquals(q, ww[j * b + i], 1e-14);
                qs += ww[j * b + i];
            }
            assertEquals(want, uu[i], 1e-10);
            assertEquals(1, qs, 1e-14);
        }
        Tensor uf = be.alloc(DType.F32, b), wf = be.alloc(DType.F32, b * c), df = be.alloc(DType.F32, b, c);
        be.unlabelledBound(be.upload(Rand.toFloat(lg), Shape.of(b, c)), be.upload(Rand.toFloat(r), Shape.of(b * c)),
                be.upload(Rand.toFloat(k), Shape.of(b * c)), 0.7, 2.3, 1.0 / b, uf, wf, df);
        double[] ud = be.download(u);
        for (int i = 0; i < b; i++) assertEquals(ud[i], be.download(uf)[i], 1e-5 * Math.abs(ud[i]));
        assertArrayEquals(be.download(weights), be.download(wf), 1e-6);
        assertArrayEquals(be.download(d), be.download(df), 1e-4);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void scaleRowsMultipliesEachRow(DType dtype) {
        Tensor x = be.alloc(dtype, 3, 2), w = be.alloc(dtype, 3);
        be.write(x, new double[]{1, 2, 3, 4, 5, 6});
        be.write(w, new double[]{0.5, 0, -2});
        be.scaleRows(x, w, 3);
        assertArrayEquals(new double[]{1.5, 3, 0, 0, -30, -36}, be.download(x), 0);
        assertThrows(IllegalArgumentException.class, () -> be.scaleRows(x, be.alloc(dtype, 2), 1));
    }

    /** With all weights 1, the per-row latent backward is latentBackward with one sample; its gradient checks out. */
    @Test
    void latentBackwardRows() {
        int r = 5, z = 3;
        Tensor stats = f64(Rand.normal(6, r * 2 * z, 0.8), r, 2 * z);
        Tensor eps = be.alloc(DType.F64, r, z), zz = be.alloc(DType.F64, r, z), kl = be.alloc(DType.F64, r);
        RngKey key = new RngKey(3, Streams.LATENT, 1);
        double[] dzv = Rand.normal(7, r * z, 1), wv = Rand.uniform(8, r, 0, 2);
        Tensor dz = f64(dzv, r, z), w = f64(wv, r), ones = f64(new double[]{1, 1, 1, 1, 1}, r);
        Tensor a = be.alloc(DType.F64, r, 2 * z), bb = be.alloc(DType.F64, r, 2 * z);
        be.latentForward(stats, key, eps, zz, kl, null);
        be.latentBackward(stats, eps, dz, 0.4, a);
        be.latentBackwardRows(stats, eps, dz, ones, 1.2, 3, bb);
        assertArrayEquals(be.download(a), be.download(bb), 1e-15);
        // loss = sum dz . z + 0.4 sum_r w_r kl_r, z = mu + exp(lv/2) eps with eps fixed by the key.
        java.util.function.DoubleSupplier f = () -> {
            be.latentForward(stats, key, eps, zz, kl, null);
            double s = 0;
            double[] zs = be.download(zz), ks = be.download(kl);
            for (int i = 0; i < zs.length; i++) s += zs[i] * dzv[i];
            for (int i = 0; i < r; i++) s += 0.4 * wv[i] * ks[i];
            return s;
        };
        be.latentBackwardRows(stats, eps, dz, w, 1.2, 3, bb);
        GradCheck.check("dStats", be, stats, be.download(bb), f, 1e-6, 1e-7);
    }

    /** The conditional layer with k = 3 label blocks: every gradient, including the summed dx. */
    @Test
    void conditionalLinearRepeatsTheInput() {
        int rx = 2, k = 3, in = 4, c = 3, out = 5;
        ConditionalLinear layer = new ConditionalLinear("l", in, c, out, Activation.TANH);
        Parameters.Builder pb = new Parameters.Builder();
        layer.declare(pb);
        try (Parameters p = pb.build(be, DType.F64, 5)) {
            Tensor x = f64(Rand.normal(1, rx * in, 1), rx, in);
            Tensor y = f64(Rand.uniform(2, rx * k * c, 0, 1), rx * k, c);
            Tensor h = be.alloc(DType.F64, rx * k, out), dh = be.alloc(DType.F64, rx * k, out), dx = be.alloc(DType.F64, rx, in);
            double[] r = Rand.normal(3, rx * k * out, 1);
            java.util.function.DoubleSupplier loss = () -> {
                layer.forward(p, x, y, h);
                double s = 0;
                double[] hv = be.download(h);
                for (int i = 0; i < hv.length; i++) s += hv[i] * r[i];
                return s;
            };
            loss.getAsDouble();
            // Row j*Rx + i is tanh(x_i W^T + y_row U^T + b).
            double[] hv = be.download(h), xv = be.download(x), yv = be.download(y);
            double[] wv = be.download(p.value("l.weight")), uv = be.download(p.value("l.label_weight")), bv = be.download(p.value("l.bias"));
            for (int row = 0; row < rx * k; row++) {
                for (int o = 0; o < out; o++) {
                    double s = bv[o];
                    for (int j = 0; j < in; j++) s += xv[(row % rx) * in + j] * wv[o * in + j];
                    for (int j = 0; j < c; j++) s += yv[row * c + j] * uv[o * c + j];
                    assertEquals(Math.tanh(s), hv[row * out + o], 1e-14);
                }
            }
            be.write(dh, r);
            layer.backward(p, x, y, h, dh, dx);
            GradCheck.check("dW", be, p.value("l.weight"), be.download(p.grad("l.weight")), loss, 1e-6, 1e-6);
            GradCheck.check("dU", be, p.value("l.label_weight"), be.download(p.grad("l.label_weight")), loss, 1e-6, 1e-6);
            GradCheck.check("db", be, p.value("l.bias"), be.download(p.grad("l.bias")), loss, 1e-6, 1e-6);
            GradCheck.check("dx", be, x, be.download(dx), loss, 1e-6, 1e-6);
        }
    }
}
