package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmLayer;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.RandomRbm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RAISE's per-example log p(x) against exact enumeration on small RBMs. */
class RaiseTest {
    private final Backend be = new CpuBackend();

    private Rbm rbm(int v, int h, double scale, long seed, DType dt) {
        return RandomRbm.create(be, v, h, scale, scale, seed, dt);
    }

    /** Row r of the result is input {@code r / copies}: pattern p has bit i = bit i of (p * 2654435761 >> 7). */
    private static double[] inputs(int patterns, int copies, int v) {
        double[] x = new double[patterns * copies * v];
        for (int p = 0; p < patterns; p++) {
            long bits = (p + 1) * 2654435761L >> 7;
            for (int c = 0; c < copies; c++) for (int i = 0; i < v; i++) x[(p * copies + c) * v + i] = bits >> i & 1;
        }
        return x;
    }

    private static double exactLogP(RbmLayer l, double[] x, int row, double logZ) {
        Backend be = l.backend();
        int v = l.visible(), h = l.hidden();
        double[] w = be.download(l.weight()), b = be.download(l.visibleBias()), c = be.download(l.hiddenBias());
        double negF = 0;
        for (int i = 0; i < v; i++) negF += b[i] * x[row * v + i];
        for (int j = 0; j < h; j++) {
            double a = c[j];
            for (int i = 0; i < v; i++) a += w[i * h + j] * x[row * v + i];
            negF += Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
        }
        return negF - logZ;
    }

    @Test
    void withoutWeightsAndTheBaseAtTheBiasesEveryChainIsExact() {
        // W = 0 and base rates = b: every increment telescopes and log w = b.x - sum softplus(b) = log p(x) for every draw.
        try (Rbm r = rbm(6, 3, 1.0, 13, DType.F64)) {
            be.fill(r.layer().weight(), 0);
            double[] b = be.download(r.layer().visibleBias());
            double[] x = inputs(5, 2, 6);
            double logZ = Ais.exactLogZ(r.layer());
            try (Tensor xt = be.alloc(DType.F64, 10, 6)) {
                be.write(xt, x);
                double[] lw = Raise.logLikelihood(r.layer(), b, Ais.schedule("7:1.0"), xt, new RngKey(3, Streams.EVAL, 0), null);
                for (int row = 0; row < 10; row++) assertEquals(exactLogP(r.layer(), x, row, logZ), lw[row], 1e-9, "row " + row);
                assertEquals(x[7], be.download(xt)[7], "inputs unchanged");
            }
        }
    }

    @Test
    void onAPeakedRbmTheChainsAverageToTheExactLikelihoodAndTheirLogsErrLow() {
        // 12 visible, 8 hidden, weights N(0, 1); 20 inputs x 100 chains each.
        int v = 12, patterns = 20, copies = 100;
        try (Rbm r = rbm(v, 8, 1.0, 5, DType.F64)) {
            double logZ = Ais.exactLogZ(r.layer());
            double[] x = inputs(patterns, copies, v);
            double[] lw;
            try (Tensor xt = be.alloc(DType.F64, patterns * copies, v)) {
                be.write(xt, x);
                lw = Raise.logLikelihood(r.layer(), null, Ais.schedule("200:0.5,400:0.9,1000:1.0"), xt,
                        new RngKey(1, Streams.EVAL, 0), null);
            }
            double meanGap = 0;
            for (int p = 0; p < patterns; p++) {
                double exact = exactLogP(r.layer(), x, p * copies, logZ);
                double top = Double.NEGATIVE_INFINITY, s = 0;
                for (int c = 0; c < copies; c++) top = Math.max(top, lw[p * copies + c]);
                for (int c = 0; c < copies; c++) s += Math.exp(lw[p * copies + c] - top);
                double pooled = top + Math.log(s / copies); // E[w] = p_ann(x), close to p(x) on this schedule
                assertEquals(exact, pooled, 0.1, "pattern " + p);
                for (int c = 0; c < copies; c++) meanGap += (lw[p * copies + c] - exact) / (patterns * copies);
            }
            // E[log w] <= log p_ann(x): single chains are conservative on average, but not by much here.
            assertTrue(meanGap < 0.01 && meanGap > -0.5, "mean log w - log p(x) = " + meanGap);
        }
    }

    @Test
    void theF32PathAgreesWithF64() {
        int v = 10;
        double[] x = inputs(4, 25, v);
        double[] betas = Ais.schedule("100:0.5,200:0.9,300:1.0");
        try (Rbm r64 = rbm(v, 6, 1.0, 9, DType.F64); Rbm r32 = rbm(v, 6, 1.0, 9, DType.F32);
             Tensor x64 = be.alloc(DType.F64, 100, v); Tensor x32 = be.alloc(DType.F32, 100, v)) {
            be.write(x64, x);
            be.write(x32, x);
            double[] a = Raise.logLikelihood(r64.layer(), null, betas, x64, new RngKey(2, Streams.EVAL, 0), null);
            double[] b = Raise.logLikelihood(r32.layer(), null, betas, x32, new RngKey(2, Streams.EVAL, 0), null);
            double ma = 0, mb = 0;
            for (int i = 0; i < 100; i++) {
                ma += a[i] / 100;
                mb += b[i] / 100;
            }
            assertEquals(ma, mb, 0.05, "F32 vs F64 mean");
        }
    }

    @Test
    void badArgumentsAreRefused() {
        try (Rbm r = rbm(6, 3, 1.0, 13, DType.F64); Tensor x = be.alloc(DType.F64, 2, 5)) {
            assertThrows(IllegalArgumentException.class, () -> Raise.logLikelihood(r.layer(), null, Ais.schedule("5:1.0"), x,
                    new RngKey(1, Streams.EVAL, 0), null));
            assertThrows(IllegalArgumentException.class, () -> Raise.logLikelihood(r.layer(), null, new double[]{0, 0.5}, x,
                    new RngKey(1, Streams.EVAL, 0), null));
        }
    }
}
