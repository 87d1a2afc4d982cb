package dev.elbo4j.testing;

import java.util.SplittableRandom;

/** Seeded test inputs. */
public final class Rand {
    private Rand() {
    }

    public static double[] normal(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller from two uniforms (SplittableRandom has no nextGaussian on older JDKs' API).
            double u = 1 - r.nextDouble(), t = 2 * Math.PI * r.nextDouble();
            v[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(t);
        }
        return v;
    }

    public static double[] uniform(long seed, int n, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextDouble();
        return v;
    }

    public static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
