package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import dev.elbo4j.testing.RandomRbm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RBM's free energy, conditionals, Gibbs sampler and CD gradient against brute-force
 * enumeration of tiny models (F64), and the persistence of PCD chains.
 */
class RbmTest {
    private final Backend be = new CpuBackend();

    /** A tiny RBM with weights N(0, scale) and biases N(0, scale / 2). */
    private Rbm tiny(int v, int h, double scale, long seed, DType dt) {
        return RandomRbm.create(be, v, h, scale, scale / 2, seed, dt);
    }

    private static double energy(double[] w, double[] b, double[] c, int v, int h, int vs, int hs) {
        double e = 0;
        for (int i = 0; i < v; i++) if ((vs >> i & 1) != 0) e -= b[i];
        for (int j = 0; j < h; j++) if ((hs >> j & 1) != 0) e -= c[j];
        for (int i = 0; i < v; i++) for (int j = 0; j < h; j++) if ((vs >> i & 1) != 0 && (hs >> j & 1) != 0) e -= w[i * h + j];
        return e;
    }

    private static double[] states(int bits, int count) {
        double[] x = new double[(1 << bits) * bits];
        for (int s = 0; s < (1 << bits); s++) for (int i = 0; i < bits; i++) x[s * bits + i] = s >> i & 1;
        return x;
    }

    @Test
    void freeEnergyAndBothConditionalsMatchEnumeration() {
        int v = 5, h = 3;
        try (Rbm rbm = tiny(v, h, 1.0, 11, DType.F64)) {
            RbmLayer l = rbm.layer();
            double[] w = be.download(l.weight()), b = be.download(l.visibleBias()), c = be.download(l.hiddenBias());
            int nv = 1 << v, nh = 1 << h;
            Tensor vx = be.upload(states(v, nv), Shape.of(nv, v));
            Tensor act = be.alloc(DType.F64, nv, h), f = be.alloc(DType.F64, nv), ph = be.alloc(DType.F64, nv, h);
            l.freeEnergy(vx, act, f);
            l.hiddenProbs(vx, act, ph);
            double[] fe = be.download(f), phv = be.download(ph);
            for (int vs = 0; vs < nv; vs++) {
                double z = 0;
                double[] on = new double[h];
                for (int hs = 0; hs < nh; hs++) {
                    double p = Math.exp(-energy(w, b, c, v, h, vs, hs));
                    z += p;
                    for (int j = 0; j < h; j++) if ((hs >> j & 1) != 0) on[j] += p;
                }
                assertEquals(-Math.log(z), fe[vs], 1e-12, "F(v) of state " + vs);
                for (int j = 0; j < h; j++) assertEquals(on[j] / z, phv[vs * h + j], 1e-12, "p(h_" + j + " | v = " + vs + ")");
            }
            Tensor hx = be.upload(states(h, nh), Shape.of(nh, h));
            Tensor va = be.alloc(DType.F64, nh, v), pv = be.alloc(DType.F64, nh, v);
            l.visibleProbs(hx, va, pv);
            double[] pvh = be.download(pv);
            for (int hs = 0; hs < nh; hs++) {
                double z = 0;
                double[] on = new double[v];
                for (int vs = 0; vs < nv; vs++) {
                    double p = Math.exp(-energy(w, b, c, v, h, vs, hs));
                    z += p;
                    for (int i = 0; i < v; i++) if ((vs >> i & 1) != 0) on[i] += p;
                }
                for (int i = 0; i < v; i++) assertEquals(on[i] / z, pvh[hs * v + i], 1e-12, "p(v_" + i + " | h = " + hs + ")");
            }
        }
    }

    @Test
    void f32AgreesWithF64AndDrawsCompareTheDocumentedUniform() {
        int rows = 37, cols = 13;
        double[] pre = Rand.normal(3, rows * cols, 3), bias = Rand.normal(4, cols, 1), base = Rand.normal(5, cols, 1);
        RngKey key = new RngKey(9, Streams.LATENT, 77);
        double beta = 0.37;
        double[][] prob = new double[2][], samp = new double[2][], act = new double[2][];
        DType[] types = {DType.F32, DType.F64};
        for (int t = 0; t < 2; t++) {
            Tensor a = alloc(types[t], pre, rows, cols), p = be.alloc(types[t], rows, cols), s = be.alloc(types[t], rows, cols);
            be.rbmGibbsHalf(a, alloc(types[t], bias, cols), beta, alloc(types[t], base, cols), key, p, s);
            act[t] = be.download(a);
            prob[t] = be.download(p);
            samp[t] = be.download(s);
        }
        int[] w = new int[4];
        int differ = 0;
        for (int j = 0; j < rows * cols; j++) {
            double a = beta * (pre[j] + bias[j % cols]) + (1 - beta) * base[j % cols];
            assertEquals(a, act[1][j], 1e-12);
            assertEquals(act[1][j], act[0][j], 1e-6 * (1 + Math.abs(a)));
            assertEquals(prob[1][j], prob[0][j], 1e-6);
            Philox.block(key, j / 4, w);
            assertEquals(Philox.uniform(w[j % 4]) < prob[1][j] ? 1.0 : 0.0, samp[1][j], "F64 draw of element " + j);
            if (samp[0][j] != samp[1][j]) {
                differ++;
                assertTrue(Math.abs(Philox.uniform(w[j % 4]) - prob[1][j]) < 1e-6, "F32 and F64 draws differ away from the boundary");
            }
        }
        assertTrue(differ <= 1);
        double[] fe = new double[2];
        for (int t = 0; t < 2; t++) {
            Tensor v = alloc(types[t], samp[1], rows, cols), h = alloc(types[t], Rand.normal(6, rows * 7, 2), rows, 7);
            Tensor out = be.alloc(types[t], rows);
            be.rbmFreeEnergy(v, h, alloc(types[t], bias, cols), alloc(types[t], Rand.normal(7, 7, 1), 7), beta,
                    alloc(types[t], base, cols), out);
            fe[t] = be.sum(out);
        }
        assertEquals(fe[1], fe[0], 1e-5 * Math.abs(fe[1]));
    }

    private Tensor alloc(DType dt, double[] host, int... dims) {
        Tensor t = be.alloc(dt, Shape.of(dims));
        be.write(t, host);
        return t;
    }

    /** p(v) = exp(-F(v)) / Z over all 2^V states. */
    private double[] exactVisible(Rbm rbm) {
        int v = rbm.config().inputDim(), n = 1 << v;
        Tensor vx = be.upload(states(v, n), Shape.of(n, v));
        Tensor act = be.alloc(DType.F64, n, rbm.config().hidden()), f = be.alloc(DType.F64, n);
        rbm.layer().freeEnergy(vx, act, f);
        double[] fe = be.download(f), p = new double[n];
        double z = 0;
        for (int s = 0; s < n; s++) z += p[s] = Math.exp(-fe[s]);
        for (int s = 0; s < n; s++) p[s] /= z;
        return p;
    }

    @Test
    void gibbsChainsReachTheStationaryDistribution() {
        int v = 4, h = 3, chains = 20_000;
        try (Rbm rbm = tiny(v, h, 1.5, 21, DType.F64)) {
            rbm.sampleGibbsSteps(30);
            double[] exact = exactVisible(rbm);
            // sample() returns the last visible probabilities; draw the visible states as the chain does by
            // running the same sweeps here and histogramming the binary states.
            RbmLayer l = rbm.layer();
            Tensor vs = be.alloc(DType.F64, chains, v), va = be.alloc(DType.F64, chains, v), ha = be.alloc(DType.F64, chains, h),
                    hs = be.alloc(DType.F64, chains, h);
            RngKey key = new RngKey(5, Streams.SAMPLE, 0);
            be.rbmGibbsHalf(va, be.alloc(DType.F64, v), 1, null, RbmLayer.subKey(key, 0), null, vs);
            int half = 1;
            for (int t = 0; t < 30; t++) {
                l.hiddenAct(vs, ha);
                be.rbmGibbsHalf(ha, l.hiddenBias(), 1, null, RbmLayer.subKey(key, half++), null, hs);
                l.visibleAct(hs, va);
                be.rbmGibbsHalf(va, l.visibleBias(), 1, null, RbmLayer.subKey(key, half++), null, vs);
            }
            double[] x = be.download(vs), hist = new double[1 << v];
            for (int r = 0; r < chains; r++) {
                int s = 0;
                for (int i = 0; i < v; i++) s |= (int) x[r * v + i] << i;
                hist[s] += 1.0 / chains;
            }
            double tv = 0;
            for (int s = 0; s < hist.length; s++) tv += Math.abs(hist[s] - exact[s]) / 2;
            // Sampling noise alone: sum_s sqrt(p(1-p)/N)/2 is about 0.01 here.
            assertTrue(tv < 0.02, "total variation " + tv);
            // And sample()'s visible probabilities average to the model's marginals.
            float[] pv = rbm.sample(chains, key, -1);
            for (int i = 0; i < v; i++) {
                double m = 0, e = 0;
                for (int r = 0; r < chains; r++) m += pv[r * v + i] / chains;
                for (int s = 0; s < exact.length; s++) if ((s >> i & 1) != 0) e += exact[s];
                assertEquals(e, m, 0.015, "marginal of v_" + i);
            }
        }
    }

    /** The exact gradient of the mean NLL over x (B x V) with respect to W, b, c, by enumeration. */
    private double[] exactGradient(Rbm rbm, double[] x, int rows) {
        int v = rbm.config().inputDim(), h = rbm.config().hidden(), n = 1 << v;
        double[] p = exactVisible(rbm);
        Tensor all = be.upload(states(v, n), Shape.of(n, v)), act = be.alloc(DType.F64, n, h), ph = be.alloc(DType.F64, n, h);
        rbm.layer().hiddenProbs(all, act, ph);
        double[] phAll = be.download(ph);
        Tensor xd = be.upload(x, Shape.of(rows, v)), a2 = be.alloc(DType.F64, rows, h), p2 = be.alloc(DType.F64, rows, h);
        rbm.layer().hiddenProbs(xd, a2, p2);
        double[] phData = be.download(p2);
        double[] g = new double[v * h + v + h];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < v; i++) {
                double vi = s >> i & 1;
                for (int j = 0; j < h; j++) g[i * h + j] += p[s] * vi * phAll[s * h + j];
                g[v * h + i] += p[s] * vi;
            }
            for (int j = 0; j < h; j++) g[v * h + v + j] += p[s] * phAll[s * h + j];
        }
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                for (int j = 0; j < h; j++) g[i * h + j] -= x[r * v + i] * phData[r * h + j] / rows;
                g[v * h + i] -= x[r * v + i] / rows;
            }
            for (int j = 0; j < h; j++) g[v * h + v + j] -= phData[r * h + j] / rows;
        }
        return g;
    }

    private static double cosine(double[] a, double[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static double relativeError(double[] exact, double[] est) {
        double d = 0, n = 0;
        for (int i = 0; i < exact.length; i++) {
            d += (exact[i] - est[i]) * (exact[i] - est[i]);
            n += exact[i] * exact[i];
        }
        return Math.sqrt(d / n);
    }

    @Test
    void cdGradientApproachesTheExactGradientAsKGrows() {
        int v = 5, h = 3, distinct = 4, copies = 5000, rows = distinct * copies;
        try (Rbm rbm = tiny(v, h, 1.0, 31, DType.F64)) {
            double[] data = new double[rows * v];
            int[] patterns = {0b00011, 0b11000, 0b10101, 0b01110};
            for (int r = 0; r < rows; r++) for (int i = 0; i < v; i++) data[r * v + i] = patterns[r % distinct] >> i & 1;
            double[] exact = exactGradient(rbm, data, rows);
            Tensor x = be.upload(data, Shape.of(rows, v));
            double[] cd1 = cd(rbm, x, 1), cd50 = cd(rbm, x, 50);
            double e1 = relativeError(exact, cd1), e50 = relativeError(exact, cd50);
            // CD-1 has the exact gradient's direction but is biased; with long chains the bias goes and
            // only the Monte-Carlo error of 20,000 chains (about 1%) remains.
            assertTrue(cosine(exact, cd1) > 0.8, "CD-1 direction, cosine " + cosine(exact, cd1));
            assertTrue(e50 < 0.05, "CD-50 relative error " + e50);
            assertTrue(e50 < e1, "CD-50 (" + e50 + ") should beat CD-1 (" + e1 + ")");
        }
    }

    private double[] cd(Rbm rbm, Tensor x, int k) {
        try (RbmLayer.Cd cd = rbm.layer().cd(x.rows())) {
            cd.run(x, new RngKey(3, Streams.LATENT, k), k, false);
            return rbm.parameters().dense(be.download(rbm.parameters().grads()));
        }
    }

    @Test
    void persistentChainsCarryOverBetweenSteps() {
        int v = 6, h = 4, b = 8;
        try (Rbm rbm = tiny(v, h, 1.0, 41, DType.F64)) {
            double[] x1 = new double[b * v], x2 = new double[b * v];
            for (int i = 0; i < b * v; i++) {
                x1[i] = (i * 7 % 3) == 0 ? 1 : 0;
                x2[i] = (i * 5 % 4) == 0 ? 1 : 0;
            }
            RngKey k1 = new RngKey(1, Streams.LATENT, 1), k2 = new RngKey(1, Streams.LATENT, 2);
            double[] chain1, chain2, gradA;
            try (RbmLayer.Cd a = rbm.layer().cd(b)) {
                assertFalse(a.chainsStarted());
                a.run(be.upload(x1, Shape.of(b, v)), k1, 1, true);
                chain1 = be.download(a.chains());
                assertFalse(java.util.Arrays.equals(chain1, x1), "one sweep moved the chains away from the data");
                a.run(be.upload(x2, Shape.of(b, v)), k2, 1, true);
                chain2 = be.download(a.chains());
                gradA = be.download(rbm.parameters().grads());
            }
            // A fresh PCD step on data chain1 starts its chains at chain1; its negative phase with key 2
            // must then be exactly step 2's: the chains continued, they were not reset to x2.
            double[] cont;
            try (RbmLayer.Cd c = rbm.layer().cd(b)) {
                c.run(be.upload(chain1, Shape.of(b, v)), k2, 1, true);
                cont = be.download(c.chains());
            }
            assertArrayEquals(chain2, cont, "step 2's chains are one PCD sweep (key 2) from step 1's chains, not from x2");
            // And CD from the data (not persistent) ends elsewhere for the same key.
            try (RbmLayer.Cd d = rbm.layer().cd(b)) {
                d.run(be.upload(x2, Shape.of(b, v)), k2, 1, false);
                assertFalse(java.util.Arrays.equals(gradA, be.download(rbm.parameters().grads())));
            }
        }
    }
}
