package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.RbmLayer;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

/**
 * Annealed importance sampling for the partition function of a binary RBM (Salakhutdinov and
 * Murray 2008). The intermediate distributions are
 * <pre>
 *   p*_k(v) = exp((1 - beta_k) bA^T v) exp(beta_k b^T v) prod_j (1 + exp(beta_k (c_j + (W^T v)_j)))
 *           = exp(-F_{beta_k}(v))                              ({@link Backend#rbmFreeEnergy} with base bA)
 * </pre>
 * from the base-rate model (beta = 0: independent visible units with biases bA, Z_0 = 2^H
 * prod_i (1 + e^{bA_i})) to the RBM (beta = 1). Each of M runs draws v_1 ~ p_0, then for
 * k = 1..K adds log p*_k(v_k) - log p*_{k-1}(v_k) to its log weight and, for k &lt; K, moves v_k to
 * v_{k+1} by one Gibbs sweep that leaves p_k invariant (h ~ sigmoid(beta_k (c + W^T v)),
 * v ~ sigmoid(beta_k (b + W h) + (1 - beta_k) bA)). log Z = log Z_0 + log mean_m w_m, with the
 * bounds log Z_0 + log(mean w +- 3 std(w) / sqrt(M)) (the lower one -infinity when the
 * difference is not positive). Run m is row m of every half-sweep; the i-th half-sweep draws from
 * {@link RbmLayer#subKey(RngKey, int) subKey(key, i)}.
 */
public final class Ais {
    private Ais() {
    }

    /** Runs of the default estimate (M). */
    public static final int DEFAULT_RUNS = 100;
    /** The classic schedule: 500 betas up to 0.5, 4,000 up to 0.9, 10,000 up to 1.0 (14,500 in all). */
    public static final String DEFAULT_SCHEDULE = "500:0.5,4000:0.9,10000:1.0";

    /**
     * The inverse temperatures 0 = beta_0 &lt; ... &lt; beta_K = 1, from segments "n:target,...": each
     * segment adds n equally spaced betas from the previous target (0 at first) to its target,
     * ending at the target; the last target must be 1. "500:0.5,4000:0.9,10000:1.0" gives K = 14,500.
     */
    public static double[] schedule(String spec) {
        List<Double> betas = new ArrayList<>();
        betas.add(0.0);
        double from = 0;
        String[] parts = spec.trim().split(",");
        for (String part : parts) {
            String[] nt = part.trim().split(":");
            if (nt.length != 2) throw new IllegalArgumentException("AIS schedule segment '" + part + "' is not N:BETA (in '" + spec + "')");
            int n;
            double to;
            try {
                n = Integer.parseInt(nt[0].trim());
                to = Double.parseDouble(nt[1].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("AIS schedule segment '" + part + "' is not N:BETA (in '" + spec + "')");
            }
            if (n < 1 || !(to > from) || to > 1) {
                throw new IllegalArgumentException("AIS schedule segment '" + part + "' needs N >= 1 and a beta in (" + from
                        + ", 1] (in '" + spec + "')");
            }
            for (int i = 1; i <= n; i++) betas.add(i == n ? to : from + (to - from) * i / n);
            from = to;
        }
        if (from != 1) throw new IllegalArgumentException("AIS schedule '" + spec + "' must end at beta 1.0");
        double[] b = new double[betas.size()];
        for (int i = 0; i < b.length; i++) b[i] = betas.get(i);
        return b;
    }

    /**
     * The base-rate model's visible biases from the training data's marginals:
     * bA_i = log(p_i / (1 - p_i)), p_i = (sum_n x_ni + 1) / (N + 2) with x = pixel / 255 (the mean of
     * a Bernoulli binarisation), smoothed so that no bias is infinite.
     */
    public static double[] baseRates(Dataset train) {
        int n = train.n(), d = train.dim();
        double[] b = new double[d];
        double[] s = new double[d];
        for (int i = 0; i < n; i++) for (int p = 0; p < d; p++) s[p] += train.pixel(i, p) / 255.0;
        for (int p = 0; p < d; p++) {
            double q = (s[p] + 1) / (n + 2.0);
            b[p] = Math.log(q) - Math.log1p(-q);
        }
        return b;
    }

    /**
     * An estimate of log Z.
     *
     * @param logZ       log Z_0 + log mean w
     * @param low        log Z_0 + log(mean w - 3 std(w) / sqrt(M)); -infinity when that is not positive
     * @param high       log Z_0 + log(mean w + 3 std(w) / sqrt(M))
     * @param logZBase   log Z_0 of the base-rate model
     * @param logWeights the M runs' log importance weights
     * @param steps      K, the intermediate distributions
     */
    public record Estimate(double logZ, double low, double high, double logZBase, double[] logWeights, int steps) {
        /**
         * The effective sample size of the runs' weights, (sum w)^2 / sum w^2, between 1 (one run
         * carries all the weight) and M (equal weights). A small value (Neal 2001; Salakhutdinov and
         * Murray 2008 report their runs' variance) means the estimate rests on a few runs: log Z is then
         * likely underestimated (so log p(x) overestimated), whatever the +-3 std interval says, and
         * more betas are needed.
         */
        public double effectiveRuns() {
            double a = Double.NEGATIVE_INFINITY;
            for (double w : logWeights) a = Math.max(a, w);
            double s = 0, s2 = 0;
            for (double w : logWeights) {
                double e = Math.exp(w - a);
                s += e;
                s2 += e * e;
            }
            return s * s / s2;
        }

        /** The standard deviation of the runs' log weights (0 when every run agrees). */
        public double logWeightStd() {
            int m = logWeights.length;
            if (m < 2) return 0;
            double mean = 0;
            for (double w : logWeights) mean += w;
            mean /= m;
            double v = 0;
            for (double w : logWeights) v += (w - mean) * (w - mean);
            return Math.sqrt(v / (m - 1));
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "log Z %.4f (-3 std: %.4f, +3 std: %.4f; %d runs, %d betas, ESS %.1f)",
                    logZ, low, high, logWeights.length, steps, effectiveRuns());
        }
    }

    /**
     * Estimates log Z of {@code rbm} with {@code runs} AIS runs over {@code betas} (from
     * {@link #schedule}) from the base rates {@code base} (V values; null: all 0, the uniform base).
     * {@code progress} (may be null) receives the betas done, every 100.
     */
    public static Estimate logZ(RbmLayer rbm, double[] base, double[] betas, int runs, RngKey key, LongConsumer progress) {
        if (runs < 1) throw new IllegalArgumentException("AIS needs >= 1 run, got " + runs);
        checkBetas(betas, "AIS");
        Backend be = rbm.backend();
        DType dt = rbm.dtype();
        int v = rbm.visible(), h = rbm.hidden(), k = betas.length - 1;
        double[] bA = baseOrUniform(base, v);
        double logZ0 = baseLogZ(h, bA);
        double[] logW = new double[runs];
        try (Tensor baseT = upload(be, dt, bA); Tensor zerosV = be.alloc(dt, v);
             Tensor vs = be.alloc(dt, runs, v); Tensor va = be.alloc(dt, runs, v);
             Tensor ha = be.alloc(dt, runs, h); Tensor hs = be.alloc(dt, runs, h);
             Tensor feHi = be.alloc(dt, runs); Tensor feLo = be.alloc(dt, runs)) {
            int half = 0;
            // v_1 ~ p_0: logit = 0 * (0 + 0) + 1 * bA.
            be.rbmGibbsHalf(va, zerosV, 0, baseT, RbmLayer.subKey(key, half++), null, vs);
            for (int i = 1; i <= k; i++) {
                rbm.hiddenAct(vs, ha);
                be.rbmFreeEnergy(vs, ha, rbm.visibleBias(), rbm.hiddenBias(), betas[i], baseT, feHi);
                be.rbmFreeEnergy(vs, ha, rbm.visibleBias(), rbm.hiddenBias(), betas[i - 1], baseT, feLo);
                double[] hi = be.download(feHi), lo = be.download(feLo);
                for (int m = 0; m < runs; m++) logW[m] += lo[m] - hi[m];
                if (i < k) {
                    be.rbmGibbsHalf(ha, rbm.hiddenBias(), betas[i], null, RbmLayer.subKey(key, half++), null, hs);
                    rbm.visibleAct(hs, va);
                    be.rbmGibbsHalf(va, rbm.visibleBias(), betas[i], baseT, RbmLayer.subKey(key, half++), null, vs);
                }
                if (progress != null && (i % 100 == 0 || i == k)) progress.accept(i);
            }
        }
        double a = Double.NEGATIVE_INFINITY;
        for (double w : logW) a = Math.max(a, w);
        double mean = 0;
        for (double w : logW) mean += Math.exp(w - a);
        mean /= runs;
        double var = 0;
        for (double w : logW) var += (Math.exp(w - a) - mean) * (Math.exp(w - a) - mean);
        double sd = runs > 1 ? Math.sqrt(var / (runs - 1)) : 0;
        double delta = 3 * sd / Math.sqrt(runs);
        double logZ = logZ0 + a + Math.log(mean);
        double low = mean - delta > 0 ? logZ0 + a + Math.log(mean - delta) : Double.NEGATIVE_INFINITY;
        double high = logZ0 + a + Math.log(mean + delta);
        return new Estimate(logZ, low, high, logZ0, logW, k);
    }

    /** Refuses betas that do not run from 0 to 1 ({@code what}: the estimator, for the message). */
    static void checkBetas(double[] betas, String what) {
        if (betas.length < 2 || betas[0] != 0 || betas[betas.length - 1] != 1) {
            throw new IllegalArgumentException(what + " betas must run from 0 to 1");
        }
    }

    /** The base rates {@code base} (V values), or all 0 (the uniform base) when null. */
    static double[] baseOrUniform(double[] base, int v) {
        double[] bA = base == null ? new double[v] : base;
        if (bA.length != v) throw new IllegalArgumentException("base rates: " + bA.length + " values for " + v + " visible units");
        return bA;
    }

    /** log Z_0 of the base-rate model: H log 2 + sum_i softplus(bA_i). */
    static double baseLogZ(int hidden, double[] bA) {
        double logZ0 = hidden * Math.log(2);
        for (double b : bA) logZ0 += Math.max(b, 0) + Math.log1p(Math.exp(-Math.abs(b)));
        return logZ0;
    }

    private static Tensor upload(Backend be, DType dt, double[] host) {
        Tensor t = be.alloc(dt, Shape.of(host.length));
        be.write(t, host);
        return t;
    }

    /**
     * Exact log Z of a small RBM by enumerating all 2^V visible states: log sum_v exp(-F(v)), in
     * double on the host (V &lt;= 24). The anchor AIS is tested against.
     */
    public static double exactLogZ(RbmLayer rbm) {
        int v = rbm.visible(), h = rbm.hidden();
        if (v > 24) throw new IllegalArgumentException("exact log Z enumerates 2^V states; V = " + v + " is too large");
        Backend be = rbm.backend();
        double[] w = be.download(rbm.weight()), b = be.download(rbm.visibleBias()), c = be.download(rbm.hiddenBias());
        long states = 1L << v;
        double[] negF = new double[(int) states];
        double max = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < states; s++) {
            double e = 0;
            for (int i = 0; i < v; i++) if ((s >> i & 1) != 0) e += b[i];
            for (int j = 0; j < h; j++) {
                double a = c[j];
                for (int i = 0; i < v; i++) if ((s >> i & 1) != 0) a += w[i * h + j];
                e += Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
            }
            negF[s] = e;
            max = Math.max(max, e);
        }
        double sum = 0;
        for (double e : negF) sum += Math.exp(e - max);
        return max + Math.log(sum);
    }
}
