package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The iwae.cu group's CPU reference, op by op: closed forms, stability, and F32 against F64. */
class CpuIwaeTest {
    private final CpuBackend be = new CpuBackend();

    /**
     * Log weights near -5000 (exp underflows to 0 in double) still give a softmax that sums to 1 and
     * loss[b] = -(max + log sum exp(lw - max) - log L), checked against the shifted closed form.
     */
    @Test
    void weightsAreStableForHugeLosses() {
        int b = 3, l = 4;
        double[] rowLoss = new double[b * l], logRatio = new double[b * l];
        for (int r = 0; r < b * l; r++) {
            rowLoss[r] = 5000 + r % 5;
            logRatio[r] = -0.25 * r;
        }
        Tensor w = be.alloc(DType.F64, b * l), loss = be.alloc(DType.F64, b);
        be.iwaeWeights(be.upload(rowLoss, Shape.of(b * l)), be.upload(logRatio, Shape.of(b * l)), w, loss);
        double[] ws = be.download(w), ls = be.download(loss);
        for (int i = 0; i < b; i++) {
            double m = Double.NEGATIVE_INFINITY, s = 0, wsum = 0;
            for (int k = 0; k < l; k++) m = Math.max(m, logRatio[k * b + i] - rowLoss[k * b + i]);
            for (int k = 0; k < l; k++) s += Math.exp(logRatio[k * b + i] - rowLoss[k * b + i] - m);
            for (int k = 0; k < l; k++) {
                wsum += ws[k * b + i];
                assertEquals(Math.exp(logRatio[k * b + i] - rowLoss[k * b + i] - m) / s, ws[k * b + i], 1e-15);
            }
            assertEquals(1, wsum, 1e-15);
            assertTrue(ls[i] > 4999 && ls[i] < 5010, "loss " + ls[i]);
            assertEquals(-(m + Math.log(s) - Math.log(l)), ls[i], 0.0);
        }
    }

    /**
     * dLogVar recomputed from the unscaled decoder-output gradient equals the weighted sum of
     * d rowLoss / d logVar = (1 - (out - x)^2 exp(-logVar)) / 2 computed from out and x directly,
     * and dOut becomes scale w_r times the likelihood's gradient.
     */
    @Test
    void scaleRowsWeightsTheLearnedVarianceGradient() {
        int rows = 6, b = 3, d = 5;
        double scale = 0.125;
        double[] out = Rand.normal(1, rows * d, 1), x = Rand.uniform(2, b * d, 0, 1), lv = Rand.normal(3, d, 0.5);
        double[] w = Rand.uniform(4, rows, 0, 1);
        Tensor dOut = be.alloc(DType.F64, rows, d), dlv = be.alloc(DType.F64, d), lvT = be.upload(lv, Shape.of(d));
        be.likelihood(Likelihood.gaussianLearned(), be.upload(out, Shape.of(rows, d)), be.upload(x, Shape.of(b, d)), lvT, 1,
                be.alloc(DType.F64, rows), dOut, be.alloc(DType.F64, d));
        double[] g0 = be.download(dOut);
        be.iwaeScaleRows(be.upload(w, Shape.of(rows)), scale, dOut, lvT, dlv);
        double[] g = be.download(dOut), got = be.download(dlv);
        for (int c = 0; c < d; c++) {
            double expect = 0;
            for (int r = 0; r < rows; r++) {
                double diff = out[r * d + c] - x[(r % b) * d + c];
                expect += scale * w[r] * 0.5 * (1 - diff * diff * Math.exp(-lv[c]));
                assertEquals(scale * w[r] * g0[r * d + c], g[r * d + c], 1e-15 * Math.abs(g0[r * d + c]));
            }
            assertEquals(expect, got[c], 1e-13, "column " + c);
        }
        assertThrows(IllegalArgumentException.class, () -> be.iwaeScaleRows(be.upload(w, Shape.of(rows)), scale, dOut, lvT, null));
    }

    /** The F32 ops agree with F64 on the same inputs within float rounding; shape errors name the tensors. */
    @Test
    void floatMatchesDoubleAndShapesAreChecked() {
        int b = 5, l = 3, zd = 4, rows = b * l;
        double[] stats = Rand.normal(1, b * 2 * zd, 0.7), eps = Rand.normal(2, rows * zd, 1), z = Rand.normal(3, rows * zd, 1);
        double[] dz = Rand.normal(4, rows * zd, 0.1), rowLoss = Rand.uniform(5, rows, 80, 120), lr = Rand.normal(6, rows, 3);
        double[][] res = new double[2][];
        for (DType t : new DType[]{DType.F64, DType.F32}) {
            Tensor w = be.alloc(t, rows), loss = be.alloc(t, b), ds = be.alloc(t, b, 2 * zd);
            be.iwaeWeights(up(rowLoss, t, rows), up(lr, t, rows), w, loss);
            be.iwaeLatentBackward(up(stats, t, b, 2 * zd), up(eps, t, rows, zd), up(z, t, rows, zd), up(dz, t, rows, zd), w, 0.2, ds);
            double[] all = new double[rows + b + b * 2 * zd];
            System.arraycopy(be.download(w), 0, all, 0, rows);
            System.arraycopy(be.download(loss), 0, all, rows, b);
            System.arraycopy(be.download(ds), 0, all, rows + b, b * 2 * zd);
            res[t == DType.F64 ? 0 : 1] = all;
        }
        for (int i = 0; i < res[0].length; i++) {
            assertEquals(res[0][i], res[1][i], 1e-5 * Math.max(1, Math.abs(res[0][i])), "element " + i);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.iwaeWeights(be.alloc(DType.F64, 7),
                be.alloc(DType.F64, 7), be.alloc(DType.F64, 7), be.alloc(DType.F64, 2)));
        assertTrue(e.getMessage().contains("iwaeWeights") && e.getMessage().contains("L*B"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.iwaeLatentBackward(be.alloc(DType.F64, 2, 4), be.alloc(DType.F64, 4, 2),
                be.alloc(DType.F64, 4, 2), be.alloc(DType.F64, 4, 2), be.alloc(DType.F64, 3), 1, be.alloc(DType.F64, 2, 4)));
        assertTrue(e.getMessage().contains("weights"), e.getMessage());
    }

    private Tensor up(double[] v, DType t, int... dims) {
        return t == DType.F64 ? be.upload(v, Shape.of(dims)) : be.upload(Rand.toFloat(v), Shape.of(dims));
    }
}
