package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Comparisons of GPU results with the CPU reference, in the units {@code kernels/README.md} states
 * tolerances in: exact bits, ulps (float) or |gpu - cpu| <= atol + rtol |cpu|. A failure names the
 * worst element, its index and how many elements are out of tolerance.
 */
final class Parity {
    private Parity() {
    }

    /** A tensor of {@code dims} whose every element is NaN (F32) or -1 (I32): an output to overwrite. */
    static Tensor poisoned(Backend be, DType dtype, int... dims) {
        Tensor t = be.alloc(dtype, Shape.of(dims));
        be.fill(t, dtype == DType.F32 || dtype == DType.F64 ? Double.NaN : -1);
        return t;
    }

    /** {@code v} uploaded to {@code be} as a tensor of {@code dims}. */
    static Tensor up(Backend be, float[] v, int... dims) {
        return be.upload(v, Shape.of(dims));
    }

    /** A tensor's elements as floats. */
    static float[] down(Backend be, Tensor t) {
        return floats(be.download(t));
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static int ordered(float f) {
        int b = Float.floatToRawIntBits(f);
        return b < 0 ? Integer.MIN_VALUE - b : b;
    }

    /** Distance in units in the last place; NaN against NaN is 0, NaN against a number is huge. */
    static long ulps(float a, float b) {
        if (Float.isNaN(a) || Float.isNaN(b)) return Float.isNaN(a) && Float.isNaN(b) ? 0 : Long.MAX_VALUE;
        return Math.abs((long) ordered(a) - ordered(b));
    }

    static void assertBits(String what, float[] expected, float[] actual) {
        assertUlps(what, expected, actual, 0);
    }

    static void assertUlps(String what, float[] expected, float[] actual, long maxUlps) {
        lengths(what, expected.length, actual.length);
        long worst = -1, over = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            long u = ulps(expected[i], actual[i]);
            if (u > maxUlps) over++;
            if (u > worst) {
                worst = u;
                at = i;
            }
        }
        if (over > 0) {
            fail(String.format(Locale.ROOT, "%s: %d of %d elements over %d ulp; worst %d ulp at %d: cpu %s, gpu %s", what,
                    over, expected.length, maxUlps, worst, at, expected[at], actual[at]));
        }
    }

    /**
     * "Mostly equal": at most {@code maxUlps} apart everywhere and at most {@code maxFraction} of the
     * elements different at all. Returns how many differ.
     */
    static long assertMostlyEqual(String what, float[] expected, float[] actual, long maxUlps, double maxFraction) {
        assertUlps(what, expected, actual, maxUlps);
        long differ = 0;
        for (int i = 0; i < expected.length; i++) if (ulps(expected[i], actual[i]) != 0) differ++;
        if (differ > maxFraction * expected.length) {
            fail(String.format(Locale.ROOT, "%s: %d of %d elements differ (allowed fraction %.1e)", what, differ,
                    expected.length, maxFraction));
        }
        return differ;
    }

    static void assertClose(String what, double[] expected, double[] actual, double rtol, double atol) {
        lengths(what, expected.length, actual.length);
        double worst = -1;
        int at = -1, over = 0;
        for (int i = 0; i < expected.length; i++) {
            double tol = atol + rtol * Math.abs(expected[i]);
            double err = Math.abs(expected[i] - actual[i]);
            if (Double.isNaN(actual[i]) != Double.isNaN(expected[i])) err = Double.POSITIVE_INFINITY;
            else if (Double.isNaN(err)) err = 0;
            double excess = err / Math.max(tol, Double.MIN_NORMAL);
            if (err > tol) over++;
            if (excess > worst) {
                worst = excess;
                at = i;
            }
        }
        if (over > 0) {
            fail(String.format(Locale.ROOT, "%s: %d of %d elements outside atol %.3g + rtol %.3g; worst at %d: cpu %.9g, gpu %.9g",
                    what, over, expected.length, atol, rtol, at, expected[at], actual[at]));
        }
    }

    /** Elementwise tolerance: |gpu - cpu| <= tolerance[i]. */
    static void assertWithin(String what, double[] expected, double[] actual, double[] tolerance) {
        lengths(what, expected.length, actual.length);
        int over = 0, at = -1;
        double worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            if (Double.isNaN(err)) err = Double.isNaN(expected[i]) && Double.isNaN(actual[i]) ? 0 : Double.POSITIVE_INFINITY;
            if (err > tolerance[i]) over++;
            double excess = err / Math.max(tolerance[i], Double.MIN_NORMAL);
            if (excess > worst) {
                worst = excess;
                at = i;
            }
        }
        if (over > 0) {
            fail(String.format(Locale.ROOT, "%s: %d of %d elements out of tolerance; worst at %d: cpu %.9g, gpu %.9g, tolerance %.3g",
                    what, over, expected.length, at, expected[at], actual[at], tolerance[at]));
        }
    }

    /** ||gpu - cpu|| / ||cpu|| (Euclidean), 0 when both are 0. */
    static double relativeError(double[] expected, double[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = expected[i] - actual[i];
            num += d * d;
            den += expected[i] * expected[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private static void lengths(String what, int e, int a) {
        if (e != a) fail(what + ": " + e + " reference elements, " + a + " from the GPU");
    }
}
