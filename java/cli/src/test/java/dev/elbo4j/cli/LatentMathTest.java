package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The interpolation paths, class means and normal quantiles behind {@code elbo4j latent}. */
class LatentMathTest {

    private static float[] randomCode(Random r, int z, double scale) {
        float[] v = new float[z];
        for (int k = 0; k < z; k++) v[k] = (float) (scale * r.nextGaussian());
        return v;
    }

    private static double angle(float[] a, float[] b) {
        double dot = 0;
        for (int k = 0; k < a.length; k++) dot += (double) a[k] * b[k];
        return Math.acos(Math.max(-1, Math.min(1, dot / (LatentMath.norm(a) * LatentMath.norm(b)))));
    }

    @Test
    void linearPathIsTheStraightLine() {
        float[] a = {1, -2, 3}, b = {5, 2, -1};
        float[] p = LatentMath.path(LatentMath.Mode.LINEAR, a, b, 5);
        assertArrayEquals(a, java.util.Arrays.copyOfRange(p, 0, 3));
        assertArrayEquals(b, java.util.Arrays.copyOfRange(p, 12, 15));
        assertArrayEquals(new float[]{2, -1, 2}, java.util.Arrays.copyOfRange(p, 3, 6), 1e-6f, "t = 1/4");
    }

    /**
     * Slerp: ends are the codes; the norm is (1-t)|a| + t|b|; the direction turns at a constant
     * rate in the plane of a and b: angle(a, z(t)) = t w and angle(z(t), b) = (1-t) w.
     */
    @Test
    void slerpTurnsUniformlyAndKeepsTheNormBetweenTheEnds() {
        Random r = new Random(7);
        for (int trial = 0; trial < 50; trial++) {
            int z = 2 + trial % 9;
            float[] a = randomCode(r, z, 1), b = randomCode(r, z, 3);
            double w = angle(a, b), na = LatentMath.norm(a), nb = LatentMath.norm(b);
            assertArrayEquals(a, LatentMath.slerp(a, b, 0), 1e-5f);
            assertArrayEquals(b, LatentMath.slerp(a, b, 1), 1e-5f);
            for (double t : new double[]{0.1, 0.25, 0.5, 0.9}) {
                float[] p = LatentMath.slerp(a, b, t);
                assertEquals((1 - t) * na + t * nb, LatentMath.norm(p), 1e-5 * (na + nb), "norm at t=" + t);
                assertEquals(t * w, angle(a, p), 1e-4, "angle from a at t=" + t);
                assertEquals((1 - t) * w, angle(p, b), 1e-4, "angle to b at t=" + t);
            }
            // The straight line cuts inside: its midpoint is never longer than slerp's.
            assertTrue(LatentMath.norm(LatentMath.lerp(a, b, 0.5)) <= LatentMath.norm(LatentMath.slerp(a, b, 0.5)) + 1e-6);
        }
    }

    @Test
    void slerpHandlesParallelOppositeAndZeroCodes() {
        float[] a = {1, 0, 0};
        float[] p = LatentMath.slerp(a, new float[]{4, 0, 0}, 0.5);
        assertArrayEquals(new float[]{2.5f, 0, 0}, p, 1e-6f, "parallel: along the ray, norm linear");
        float[] q = LatentMath.slerp(a, new float[]{-3, 0, 0}, 0.5);
        assertEquals(2.0, LatentMath.norm(q), 1e-6, "opposite: norm still linear");
        assertEquals(Math.PI / 2, angle(a, q), 1e-6, "opposite: half-way round");
        assertArrayEquals(new float[]{-3, 0, 0}, LatentMath.slerp(a, new float[]{-3, 0, 0}, 1), 1e-6f);
        assertArrayEquals(new float[]{0.5f, 1, 0}, LatentMath.slerp(new float[]{0, 0, 0}, new float[]{1, 2, 0}, 0.5), 1e-6f,
                "a zero end: linear");
    }

    @Test
    void pathNeedsTwoStepsAndEqualLengths() {
        assertThrows(IllegalArgumentException.class, () -> LatentMath.path(LatentMath.Mode.SLERP, new float[2], new float[2], 1));
        assertThrows(IllegalArgumentException.class, () -> LatentMath.interpolate(LatentMath.Mode.LINEAR, new float[2], new float[3], 0));
    }

    @Test
    void classMeanAveragesTheRowsOfTheClass() {
        float[] codes = {1, 2, 10, 20, 3, 4, 30, 40};
        assertArrayEquals(new double[]{2, 3}, LatentMath.classMean(codes, 2, new int[]{0, 1, 0, 1}, 0));
        assertArrayEquals(new double[]{20, 30}, LatentMath.classMean(codes, 2, new int[]{0, 1, 0, 1}, 1));
        assertNull(LatentMath.classMean(codes, 2, new int[]{0, 1, 0, 1}, 2));
    }

    /** Reference values of Phi^-1 (from Phi(x) computed to double precision). */
    @Test
    void normalQuantileMatchesTables() {
        double[][] ref = {{0.5, 0}, {0.8413447460685429, 1}, {0.15865525393145707, -1}, {0.9772498680518208, 2},
                {0.022750131948179195, -2}, {0.9986501019683699, 3}, {0.975, 1.959963984540054},
                {1e-10, -6.361340902404056}, {0.01, -2.3263478740408408}};
        for (double[] pq : ref) assertEquals(pq[1], LatentMath.normalQuantile(pq[0]), 2e-8 * Math.max(1, Math.abs(pq[1])), "p=" + pq[0]);
        for (int i = 1; i < 100; i++) {
            double p = i / 100.0;
            assertEquals(-LatentMath.normalQuantile(p), LatentMath.normalQuantile(1 - p), 1e-8, "symmetry at " + p);
        }
        assertThrows(IllegalArgumentException.class, () -> LatentMath.normalQuantile(0));
        assertThrows(IllegalArgumentException.class, () -> LatentMath.normalQuantile(1));
    }

    /** The manifold grid: z1 grows to the right, z2 upwards, symmetric about 0, on the quantiles (j+0.5)/N. */
    @Test
    void manifoldGridSitsOnQuantiles() {
        int n = 4;
        assertArrayEquals(new float[]{(float) LatentMath.normalQuantile(0.125), (float) LatentMath.normalQuantile(0.875)},
                LatentManifoldCommand.gridCode(0, 0, n), "top-left: smallest z1, largest z2");
        assertArrayEquals(new float[]{(float) LatentMath.normalQuantile(0.875), (float) LatentMath.normalQuantile(0.125)},
                LatentManifoldCommand.gridCode(n - 1, n - 1, n), "bottom-right");
        assertEquals(-LatentManifoldCommand.gridCode(0, 1, n)[0], LatentManifoldCommand.gridCode(0, 2, n)[0], 1e-7f);
    }
}
