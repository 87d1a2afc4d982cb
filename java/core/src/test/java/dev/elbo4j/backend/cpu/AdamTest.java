package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Adam(W) against the textbook algorithm (Kingma & Ba; Loshchilov & Hutter), written out in double. */
class AdamTest {
    private final CpuBackend be = new CpuBackend();

    @Test
    void matchesTheAlgorithmOverSeveralSteps() {
        int n = 70_001; // large enough to be split across threads, odd for the vector tail
        AdamConfig cfg = new AdamConfig(3e-3, 0.8, 0.99, 1e-6, 0.1);
        double[] p = Rand.normal(1, n, 1), m = new double[n], v = new double[n];
        Tensor pf = be.upload(Rand.toFloat(p), Shape.of(n)), pd = be.upload(p, Shape.of(n));
        Tensor mf = be.alloc(DType.F32, n), vf = be.alloc(DType.F32, n), md = be.alloc(DType.F64, n), vd = be.alloc(DType.F64, n);
        for (int t = 1; t <= 5; t++) {
            double[] g = Rand.normal(100 + t, n, 0.5);
            be.adam(pf, be.upload(Rand.toFloat(g), Shape.of(n)), mf, vf, cfg, t);
            be.adam(pd, be.upload(g, Shape.of(n)), md, vd, cfg, t);
            for (int i = 0; i < n; i++) {
                p[i] *= 1 - cfg.lr() * cfg.weightDecay();
                m[i] = cfg.beta1() * m[i] + (1 - cfg.beta1()) * g[i];
                v[i] = cfg.beta2() * v[i] + (1 - cfg.beta2()) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(cfg.beta1(), t)), vHat = v[i] / (1 - Math.pow(cfg.beta2(), t));
                p[i] -= cfg.lr() * mHat / (Math.sqrt(vHat) + cfg.eps());
            }
        }
        double[] gotF = be.download(pf), gotD = be.download(pd);
        for (int i = 0; i < n; i++) {
            assertEquals(p[i], gotD[i], 1e-12, "F64 element " + i);
            assertEquals(p[i], gotF[i], 2e-6 * (1 + Math.abs(p[i])), "F32 element " + i);
        }
    }
}
