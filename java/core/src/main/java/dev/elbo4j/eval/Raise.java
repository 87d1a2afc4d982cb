package dev.elbo4j.eval;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.model.RbmLayer;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

import java.util.function.LongConsumer;

/**
 * Reverse annealed importance sampling (RAISE; Burda, Grosse and Salakhutdinov 2015): a
 * conservative estimate of an RBM's log p(x), the counterpart of {@link Ais}'s optimistic one.
 *
 * <p>Forward AIS defines an annealed model: v_0 ~ p_0 (the base-rate model), then
 * v_k ~ T_k(. | v_{k-1}) for k = 1..K, where T_k is the Gibbs sweep of {@link Ais} at beta_k, which
 * is reversible with respect to p_k(v) = exp(-F_k(v)) / Z_k. RAISE estimates the annealed model's
 * probability of a test input x by importance sampling with the reverse chain as the proposal:
 * v_K = x, v_{k-1} ~ T_k(. | v_k) for k = K..1, and by detailed balance
 * <pre>
 *   log w = log p_0(v_0) + sum_{k=1..K} (F_k(v_{k-1}) - F_k(v_k)),     E[w] = p_ann(x).
 * </pre>
 * No partition function appears. By Jensen's inequality E[log w] &lt;= log p_ann(x), and the annealed
 * model approaches the RBM as the schedule gets finer; when annealing is imperfect the annealed
 * model is the worse one (it cannot reach modes the chains miss), so the estimate errs low. AIS's
 * log Z is a stochastic lower bound on log Z, so its log p(x) errs high: together they bracket the
 * RBM's test log-likelihood (in expectation; neither is a hard bound).
 *
 * <p>Example r is row r of every half-sweep; the i-th half-sweep draws from
 * {@link RbmLayer#subKey(RngKey, int) subKey(key, i)}, as in {@link Ais}.
 */
public final class Raise {
    private Raise() {
    }

    /**
     * One RAISE chain per row of {@code x} (R x V binary inputs, left unchanged) through the betas
     * 0 = beta_0 &lt; ... &lt; beta_K = 1 (from {@link Ais#schedule}), from the base rates {@code base}
     * (V values; null: the uniform base). Returns the R estimates log w of log p(x_r), in nats.
     * {@code progress} (may be null) receives the betas done, every 100.
     */
    public static double[] logLikelihood(RbmLayer rbm, double[] base, double[] betas, Tensor x, RngKey key,
                                         LongConsumer progress) {
        Ais.checkBetas(betas, "RAISE");
        Backend be = rbm.backend();
        DType dt = rbm.dtype();
        int v = rbm.visible(), h = rbm.hidden(), k = betas.length - 1, rows = x.rows();
        if (x.cols() != v) throw new IllegalArgumentException("RAISE inputs have " + x.cols() + " columns for " + v + " visible units");
        double[] bA = Ais.baseOrUniform(base, v);
        double logZ0 = Ais.baseLogZ(h, bA);
        double[] logW = new double[rows];
        try (Tensor baseT = be.alloc(dt, Shape.of(v)); Tensor vs = be.alloc(dt, rows, v); Tensor va = be.alloc(dt, rows, v);
             Tensor ha = be.alloc(dt, rows, h); Tensor hs = be.alloc(dt, rows, h); Tensor fe = be.alloc(dt, rows)) {
            be.write(baseT, bA);
            be.copy(x, vs);
            rbm.hiddenAct(vs, ha);
            int half = 0;
            for (int i = k; i >= 1; i--) {
                // F_i at v_i, then v_{i-1} ~ T_i(. | v_i), then F_i at v_{i-1}.
                be.rbmFreeEnergy(vs, ha, rbm.visibleBias(), rbm.hiddenBias(), betas[i], baseT, fe);
                double[] at = be.download(fe);
                be.rbmGibbsHalf(ha, rbm.hiddenBias(), betas[i], null, RbmLayer.subKey(key, half++), null, hs);
                rbm.visibleAct(hs, va);
                be.rbmGibbsHalf(va, rbm.visibleBias(), betas[i], baseT, RbmLayer.subKey(key, half++), null, vs);
                rbm.hiddenAct(vs, ha);
                be.rbmFreeEnergy(vs, ha, rbm.visibleBias(), rbm.hiddenBias(), betas[i], baseT, fe);
                double[] next = be.download(fe);
                for (int r = 0; r < rows; r++) logW[r] += next[r] - at[r];
                if (progress != null && ((k - i + 1) % 100 == 0 || i == 1)) progress.accept(k - i + 1);
            }
            // log p_0(v_0) = -F_0(v_0) - log Z_0 (F_0 is the base-rate model's free energy, H log 2 included).
            be.rbmFreeEnergy(vs, ha, rbm.visibleBias(), rbm.hiddenBias(), 0, baseT, fe);
            double[] f0 = be.download(fe);
            for (int r = 0; r < rows; r++) logW[r] += -f0[r] - logZ0;
        }
        return logW;
    }
}
