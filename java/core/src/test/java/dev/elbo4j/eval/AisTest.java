package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmLayer;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.RandomRbm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AIS for log Z of small RBMs against exact enumeration; the schedule and the base rates. */
class AisTest {
    private final Backend be = new CpuBackend();

    private Rbm rbm(int v, int h, double scale, long seed, DType dt) {
        return RandomRbm.create(be, v, h, scale, scale, seed, dt);
    }

    @Test
    void theClassicScheduleHas14500BetasRisingFrom0To1() {
        double[] b = Ais.schedule(Ais.DEFAULT_SCHEDULE);
        assertEquals(14_501, b.length);
        assertEquals(0, b[0]);
        assertEquals(0.5, b[500]);
        assertEquals(0.9, b[4500]);
        assertEquals(1.0, b[14_500]);
        assertEquals(0.001, b[1], 1e-15);
        for (int i = 1; i < b.length; i++) assertTrue(b[i] > b[i - 1], "beta " + i);
        for (String bad : new String[]{"", "10", "10:0.5", "10:1.5", "0:1.0", "10:0.5,5:0.4,3:1", "x:1", "10:0.5;1"}) {
            assertThrows(IllegalArgumentException.class, () -> Ais.schedule(bad), bad);
        }
    }

    @Test
    void aisMatchesExactEnumerationWithinItsStatedBounds() {
        // 12 visible, 8 hidden, weights N(0, 1): a peaked model, log Z about 40.
        try (Rbm r = rbm(12, 8, 1.0, 5, DType.F64)) {
            double exact = Ais.exactLogZ(r.layer());
            Ais.Estimate e = Ais.logZ(r.layer(), null, Ais.schedule("200:0.5,400:0.9,1000:1.0"), 100,
                    new RngKey(1, Streams.EVAL, 0), null);
            assertTrue(e.low() <= exact && exact <= e.high(), "exact " + exact + " vs " + e);
            assertTrue(Math.abs(e.logZ() - exact) < 0.1, "exact " + exact + " vs " + e);
            assertTrue(e.high() - e.low() < 0.5, "bounds " + e);
            // A uniform base with 12 visible and 8 hidden units has log Z_0 = 20 log 2.
            assertEquals(20 * Math.log(2), e.logZBase(), 1e-12);
        }
    }

    @Test
    void dataBaseRatesAlsoWorkAndTheF32PathAgrees() {
        int v = 10, h = 6, n = 200;
        byte[] px = new byte[n * v];
        for (int i = 0; i < px.length; i++) px[i] = (byte) ((i * 37 % 11) < 4 ? 255 : 0);
        Dataset ds = new Dataset(px, null, n, 1, v);
        double[] base = Ais.baseRates(ds);
        for (int p = 0; p < v; p++) {
            int on = 0;
            for (int i = 0; i < n; i++) on += ds.pixel(i, p) == 255 ? 1 : 0;
            double q = (on + 1.0) / (n + 2);
            assertEquals(Math.log(q / (1 - q)), base[p], 1e-12);
        }
        double[] betas = Ais.schedule("100:0.5,200:0.9,500:1.0");
        try (Rbm r64 = rbm(v, h, 1.0, 9, DType.F64); Rbm r32 = rbm(v, h, 1.0, 9, DType.F32)) {
            double exact = Ais.exactLogZ(r64.layer());
            Ais.Estimate e64 = Ais.logZ(r64.layer(), base, betas, 100, new RngKey(2, Streams.EVAL, 0), null);
            Ais.Estimate e32 = Ais.logZ(r32.layer(), base, betas, 100, new RngKey(2, Streams.EVAL, 0), null);
            assertTrue(e64.low() <= exact && exact <= e64.high(), "exact " + exact + " vs " + e64);
            assertEquals(e64.logZ(), e32.logZ(), 0.02, "F32 vs F64");
        }
    }

    @Test
    void effectiveRunsAndLogWeightSpreadFollowTheirDefinitions() {
        double[] equal = {3, 3, 3, 3};
        Ais.Estimate e = new Ais.Estimate(0, 0, 0, 0, equal, 1);
        assertEquals(4, e.effectiveRuns(), 1e-12);
        assertEquals(0, e.logWeightStd(), 1e-12);
        // Weights 1, e^-1000, e^-1000: one run carries everything (and no exp overflows at large log weights).
        e = new Ais.Estimate(0, 0, 0, 0, new double[]{5000, 4000, 4000}, 1);
        assertEquals(1, e.effectiveRuns(), 1e-12);
        // Weights 1 and 2 (log weights 0 and log 2): (1 + 2)^2 / (1 + 4) = 1.8; std of {0, log 2} = log 2 / sqrt 2.
        e = new Ais.Estimate(0, 0, 0, 0, new double[]{100, 100 + Math.log(2)}, 1);
        assertEquals(1.8, e.effectiveRuns(), 1e-12);
        assertEquals(Math.log(2) / Math.sqrt(2), e.logWeightStd(), 1e-12);
    }

    @Test
    void withoutWeightsExactLogZIsClosedFormAndAisIsExact() {
        // An RBM with no hidden influence (W = 0) is a product of Bernoullis: log Z = H log 2 + sum softplus(b).
        try (Rbm r = rbm(6, 3, 1.0, 13, DType.F64)) {
            be.fill(r.layer().weight(), 0);
            double[] b = be.download(r.layer().visibleBias()), c = be.download(r.layer().hiddenBias());
            double want = 0;
            for (double x : b) want += Math.log1p(Math.exp(x));
            for (double x : c) want += Math.log1p(Math.exp(x));
            assertEquals(want, Ais.exactLogZ(r.layer()), 1e-12);
            RbmLayer l = r.layer();
            // With the base rates equal to b, each AIS increment F_{k-1}(v) - F_k(v) no longer depends on v:
            // every run has the same weight and the estimate is exact.
            Ais.Estimate e = Ais.logZ(l, b, Ais.schedule("10:1.0"), 20, new RngKey(3, Streams.EVAL, 0), null);
            assertEquals(want, e.logZ(), 1e-9);
            assertEquals(e.low(), e.high(), 1e-9);
        }
    }
}
