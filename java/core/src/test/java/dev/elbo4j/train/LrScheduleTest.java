package dev.elbo4j.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The schedules' factors against their closed forms, and their text form. */
class LrScheduleTest {

    /** Burda et al.: lr = 1e-3 * 10^(-i/7) during the 3^i epochs of pass i, i = 0..7, 3,280 epochs in all. */
    @Test
    void burda2015IsTenToTheMinusISeventhsFor3ToTheIEpochs() {
        LrSchedule s = LrSchedule.parse("burda2015");
        int epoch = 0;
        for (int i = 0; i <= 7; i++) {
            int len = (int) Math.pow(3, i);
            double want = 1e-3 * Math.pow(10, -i / 7.0);
            for (int e : new int[]{epoch, epoch + len / 2, epoch + len - 1}) {
                for (int b : new int[]{0, 1499, 2999}) {
                    assertEquals(want, s.rate(1e-3, e, b, 3000), want * 1e-14, "pass " + i + ", epoch index " + e);
                }
            }
            epoch += len;
        }
        assertEquals(3280, epoch);
        assertEquals(1e-4, s.rate(1e-3, 5000, 0, 3000), 1e-18, "after the schedule the last rate stays");
        // the boundaries themselves
        assertEquals(1e-3, s.rate(1e-3, 0, 2999, 3000));
        assertEquals(1e-3 * Math.pow(10, -1 / 7.0), s.rate(1e-3, 1, 0, 3000), 1e-17);
        assertEquals(1e-3 * Math.pow(10, -2 / 7.0), s.rate(1e-3, 4, 0, 3000), 1e-17);
        assertEquals(1e-3 * Math.pow(10, -6 / 7.0), s.rate(1e-3, 1092, 0, 3000), 1e-17);
        assertEquals(1e-3 * Math.pow(10, -7 / 7.0), s.rate(1e-3, 1093, 0, 3000), 1e-17);
    }

    @Test
    void multistepMultipliesByGammaAtEachMilestone() {
        LrSchedule s = LrSchedule.parse("multistep:2,5:0.5");
        double[] want = {1, 1, 0.5, 0.5, 0.5, 0.25, 0.25};
        for (int e = 0; e < want.length; e++) assertEquals(want[e], s.factor(e, 3, 10), "epoch index " + e);
    }

    @Test
    void exponentialIsGammaToTheEpoch() {
        LrSchedule s = LrSchedule.parse("exponential:0.9");
        for (int e = 0; e < 50; e += 7) {
            assertEquals(Math.pow(0.9, e), s.factor(e, 0, 100), 1e-15);
            assertEquals(s.factor(e, 0, 100), s.factor(e, 99, 100), "constant within an epoch");
        }
    }

    /** Cosine: min + (1 - min) (1 + cos(pi t / T)) / 2 at fractional epoch t, updated every step. */
    @Test
    void cosineFollowsItsClosedFormStepByStep() {
        LrSchedule s = LrSchedule.parse("cosine:10:0.1");
        assertEquals(1, s.factor(0, 0, 4), 1e-15);
        assertEquals(0.55, s.factor(5, 0, 4), 1e-15, "half way: (1 + min) / 2");
        assertEquals(0.1, s.factor(10, 0, 4), 1e-15);
        assertEquals(0.1, s.factor(20, 0, 4), 1e-15, "after the horizon: min");
        for (int e = 0; e < 10; e++) {
            for (int b = 0; b < 4; b++) {
                double t = e + b / 4.0;
                assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t / 10)), s.factor(e, b, 4), 1e-15);
            }
        }
        assertTrue(s.factor(3, 1, 4) < s.factor(3, 0, 4), "it falls within an epoch");
        assertEquals(0, LrSchedule.parse("cosine:8").factor(8, 0, 4), 1e-15, "MIN defaults to 0");
    }

    /** A constant factor leaves the base rate exactly (so a run without a schedule is unchanged bit for bit). */
    @Test
    void constantIsTheBaseRateExactly() {
        for (double lr : new double[]{1e-3, 3e-4, 0.1 + 0.2}) {
            assertEquals(Double.doubleToRawLongBits(lr), Double.doubleToRawLongBits(LrSchedule.CONSTANT.rate(lr, 7, 3, 9)));
        }
    }

    /** The text form reads back to an equal schedule with the same factors, bit for bit (what a checkpoint relies on). */
    @Test
    void specRoundTripsExactly() {
        for (LrSchedule s : List.of(LrSchedule.CONSTANT, LrSchedule.burda2015(), new LrSchedule.MultiStep(new int[]{3, 9}, 1 / 3.0),
                new LrSchedule.Exponential(0.1 + 0.2), new LrSchedule.Cosine(17.5, Math.PI / 10))) {
            LrSchedule back = LrSchedule.parse(s.spec());
            assertEquals(s, back, s.spec());
            for (int e = 0; e < 40; e += 3) {
                assertEquals(Double.doubleToRawLongBits(s.factor(e, 2, 7)), Double.doubleToRawLongBits(back.factor(e, 2, 7)), s.spec());
            }
        }
        assertEquals(LrSchedule.burda2015(), LrSchedule.parse("multistep:1,4,13,40,121,364,1093:" + Math.pow(10, -1.0 / 7)));
    }

    @Test
    void badSpecsAreRejectedWithTheReason() {
        for (String[] c : new String[][]{{"warm", "unknown"}, {"multistep:3,2:0.5", "strictly increasing"},
                {"multistep:0:0.5", "positive"}, {"multistep:2:-1", "gamma"}, {"multistep:2", "number of fields"},
                {"exponential:x", "not a number"}, {"exponential:0", "gamma"}, {"cosine:0", "epochs"},
                {"cosine:5:2", "minimum"}, {"constant:1", "number of fields"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
    }
}
