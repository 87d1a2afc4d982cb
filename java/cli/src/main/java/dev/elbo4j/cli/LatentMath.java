package dev.elbo4j.cli;

/**
 * The arithmetic of {@code elbo4j latent} on host codes: interpolation paths, class means and the
 * standard normal quantile function. Codes are float vectors of length Z; every sum is accumulated
 * in double, in index order.
 */
final class LatentMath {
    private LatentMath() {
    }

    /** How {@code latent interpolate} moves between two codes. */
    enum Mode {
        /** z(t) = (1 - t) a + t b. */
        LINEAR,
        /**
         * Spherical: the direction moves along the great circle from a/|a| to b/|b| (slerp) while
         * the norm moves linearly from |a| to |b|, so |z(t)| = (1 - t)|a| + t|b| stays between the
         * endpoints' norms. A straight line between two codes of a high-dimensional Gaussian
         * passes through the low-norm interior, where the prior has almost no mass; this path stays
         * on the shell the codes lie on.
         */
        SLERP
    }

    /** The code at fraction t in [0, 1] of the way from a to b. */
    static float[] interpolate(Mode mode, float[] a, float[] b, double t) {
        if (a.length != b.length) throw new IllegalArgumentException("codes of length " + a.length + " and " + b.length);
        return mode == Mode.LINEAR ? lerp(a, b, t) : slerp(a, b, t);
    }

    /**
     * {@code steps} codes from a (t = 0) to b (t = 1) at t_i = i / (steps - 1), as a flat array
     * steps x Z.
     */
    static float[] path(Mode mode, float[] a, float[] b, int steps) {
        if (steps < 2) throw new IllegalArgumentException("a path needs at least 2 steps, got " + steps);
        int z = a.length;
        float[] out = new float[steps * z];
        for (int i = 0; i < steps; i++) {
            System.arraycopy(interpolate(mode, a, b, (double) i / (steps - 1)), 0, out, i * z, z);
        }
        return out;
    }

    /** (1 - t) a + t b. */
    static float[] lerp(float[] a, float[] b, double t) {
        float[] out = new float[a.length];
        for (int k = 0; k < a.length; k++) out[k] = (float) ((1 - t) * a[k] + t * b[k]);
        return out;
    }

    /**
     * ((1 - t)|a| + t|b|) * u(t), where u(t) = (sin((1 - t) w) u_a + sin(t w) u_b) / sin w is the
     * great-circle path between the unit vectors u_a = a/|a| and u_b = b/|b|, w = acos(u_a . u_b).
     * Nearly parallel directions (w < 1e-7) fall back to the normalised linear path of the
     * directions; exactly opposite ones turn through the axis of the smallest component of u_a,
     * made orthogonal to u_a. A zero endpoint has no direction: the path is then linear (which is
     * radial, so the norm is still linear in t).
     */
    static float[] slerp(float[] a, float[] b, double t) {
        int z = a.length;
        double na = norm(a), nb = norm(b);
        if (na == 0 || nb == 0) return lerp(a, b, t);
        double[] ua = new double[z], ub = new double[z];
        double dot = 0;
        for (int k = 0; k < z; k++) {
            ua[k] = a[k] / na;
            ub[k] = b[k] / nb;
            dot += ua[k] * ub[k];
        }
        dot = Math.max(-1, Math.min(1, dot));
        double w = Math.acos(dot);
        double[] u = new double[z];
        if (w < 1e-7) {
            for (int k = 0; k < z; k++) u[k] = (1 - t) * ua[k] + t * ub[k];
        } else if (Math.PI - w < 1e-7) {
            // Opposite directions: any great circle joins them; take the one through an axis e
            // orthogonal to u_a: u(t) = cos(pi t) u_a + sin(pi t) e.
            double[] e = orthogonalAxis(ua);
            for (int k = 0; k < z; k++) u[k] = Math.cos(Math.PI * t) * ua[k] + Math.sin(Math.PI * t) * e[k];
        } else {
            double s = Math.sin(w), ca = Math.sin((1 - t) * w) / s, cb = Math.sin(t * w) / s;
            for (int k = 0; k < z; k++) u[k] = ca * ua[k] + cb * ub[k];
        }
        double nu = 0;
        for (double v : u) nu += v * v;
        nu = Math.sqrt(nu);
        double r = (1 - t) * na + t * nb;
        float[] out = new float[z];
        for (int k = 0; k < z; k++) out[k] = (float) (r * u[k] / nu);
        return out;
    }

    /** A unit vector orthogonal to the unit vector u: the axis of u's smallest |component|, minus its projection on u. */
    private static double[] orthogonalAxis(double[] u) {
        int best = 0;
        for (int k = 1; k < u.length; k++) if (Math.abs(u[k]) < Math.abs(u[best])) best = k;
        double[] e = new double[u.length];
        e[best] = 1;
        double p = u[best], n = 0;
        for (int k = 0; k < u.length; k++) {
            e[k] -= p * u[k];
            n += e[k] * e[k];
        }
        n = Math.sqrt(n);
        if (n == 0) throw new IllegalArgumentException("a 1-D code has no direction orthogonal to " + u[0]);
        for (int k = 0; k < u.length; k++) e[k] /= n;
        return e;
    }

    /** The Euclidean norm, accumulated in double. */
    static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    /**
     * The mean of the rows of {@code codes} (N x z) whose label is {@code cls}, or null when no
     * row has that label.
     */
    static double[] classMean(float[] codes, int z, int[] labels, int cls) {
        double[] sum = new double[z];
        int count = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != cls) continue;
            count++;
            for (int k = 0; k < z; k++) sum[k] += codes[i * z + k];
        }
        if (count == 0) return null;
        for (int k = 0; k < z; k++) sum[k] /= count;
        return sum;
    }

    /**
     * Phi^-1(p), the standard normal quantile, for 0 < p < 1, by Acklam's rational approximation
     * (relative error below 1.15e-9 over the whole range).
     */
    static double normalQuantile(double p) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("a quantile needs 0 < p < 1, got " + p);
        final double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
        final double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                6.680131188771972e+01, -1.328068155288572e+01};
        final double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
        final double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                3.754408661907416e+00};
        double pLow = 0.02425, x;
        if (p < pLow) {
            double q = Math.sqrt(-2 * Math.log(p));
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        } else if (p <= 1 - pLow) {
            double q = p - 0.5, r = q * q;
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                    / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
        } else {
            double q = Math.sqrt(-2 * Math.log(1 - p));
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        return x;
    }
}
