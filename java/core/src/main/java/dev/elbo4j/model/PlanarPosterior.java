package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * The planar-flow posterior of a {@link Vae} (Rezende and Mohamed 2015): z_0 ~ q0(z|x) = N(mu,
 * diag exp(lv)) from the encoder, then K planar steps z_{k+1} = z_k + u_hat_k tanh(w_k . z_k + b_k)
 * (see {@link Backend#planarForward}); the decoder reads z_K.
 *
 * <p><b>Global, not amortized, flow parameters.</b> u_k, w_k (K x Z each, {@code flow.u},
 * {@code flow.w}) and b_k (K, {@code flow.b}) are parameters of the model shared by every input,
 * not outputs of the encoder as in the paper: the encoder stays the plain VAE's, the flow adds
 * K(2Z+1) parameters, and the posterior is still input-dependent through z_0. This is the simpler
 * of the two choices the paper allows; it is less flexible than amortized flow parameters.
 *
 * <p><b>Objective.</b> Per example, with L samples, the loss is
 * {@code (1/L) sum_l [-log p(x|z_K)] + beta [KL(q0 || p) + (1/L) sum_l (|z_K|^2/2 - |z_0|^2/2 - sum_k log|det_k|)]}:
 * the closed-form Gaussian KL plus a single-sample correction, which together are the Monte-Carlo
 * estimate E_q0[log q0(z_0) - sum_k log|det_k| - log p(z_K)] of KL(q_K || p) with the Gaussian
 * part integrated exactly (lower variance, same expectation). With beta = 1 this is minus the
 * flow's ELBO E_q0[log p(x|z_K) + log p(z_K) - log q0(z_0) + sum_k log|det_k|]. For evaluation
 * the pass's log ratio becomes log p(z_K) - log q_K(z_K), log q_K(z_K) = log q0(z_0) - sum_k
 * log|det_k|, so the importance-sampled log p(x) uses the flow posterior as proposal.
 */
public final class PlanarPosterior {
    /** u_k, K x Z. */
    public static final String U = "flow.u";
    /** w_k, K x Z. */
    public static final String W = "flow.w";
    /** b_k, K. */
    public static final String B = "flow.b";

    private PlanarPosterior() {
    }

    /**
     * Declares u and w (uniform in +-1/sqrt(Z), so |w|^2 is about 1/3 and u_hat is well defined)
     * and b (zeros) after the VAE's own parameters.
     */
    static void declare(VaeConfig cfg, Parameters.Builder pb) {
        int k = cfg.flowSteps(), z = cfg.latent();
        double bound = 1 / Math.sqrt(z);
        pb.add(U, Shape.of(k, z), Parameters.Init.uniform(bound));
        pb.add(W, Shape.of(k, z), Parameters.Init.uniform(bound));
        pb.add(B, Shape.of(k), Parameters.Init.constant(0));
    }

    /**
     * u_hat_k = u_k + (m(w_k . u_k) - w_k . u_k) w_k / |w_k|^2 for every step, as a host array
     * K x Z (for inspection and the invertibility tests: w_k . u_hat_k = m(w_k . u_k) >= -1).
     */
    public static double[] uHat(Parameters params) {
        Backend be = params.backend();
        return uHat(be.download(params.value(U)), be.download(params.value(W)), params.value(B).size());
    }

    /** {@link #uHat(Parameters)} from the values of u and w (K x Z each, row-major) and K. */
    public static double[] uHat(double[] u, double[] w, int k) {
        int z = u.length / k;
        double[] out = new double[u.length];
        for (int s = 0; s < k; s++) {
            double alpha = 0, n = 0;
            for (int j = 0; j < z; j++) {
                alpha += w[s * z + j] * u[s * z + j];
                n += w[s * z + j] * w[s * z + j];
            }
            double m = -1 + softplus(alpha);
            for (int j = 0; j < z; j++) out[s * z + j] = u[s * z + j] + (m - alpha) * w[s * z + j] / n;
        }
        return out;
    }

    /** softplus(w_k . u_k) for every step: log|det_k| = log(tanh^2 a + (1 - tanh^2 a) softplus(w_k . u_k)), a = w_k . z_k + b_k. */
    public static double[] softplusWu(double[] u, double[] w, int k) {
        int z = u.length / k;
        double[] out = new double[k];
        for (int s = 0; s < k; s++) {
            double alpha = 0;
            for (int j = 0; j < z; j++) alpha += w[s * z + j] * u[s * z + j];
            out[s] = softplus(alpha);
        }
        return out;
    }

    private static double softplus(double a) {
        return a > 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a));
    }

    /**
     * The K steps applied to given points: z_K = f_K(...f_1(z_0)) for each row of {@code z0}
     * (rows x Z, a host array), as a host array rows x Z. {@link Vae#encodeMean} pushes the mean of
     * q0 through it, so codes and reconstructions live where the decoder reads (z_K), not at mu.
     */
    static float[] push(Backend backend, Parameters params, DType dtype, float[] z0, int rows, int latent) {
        try (Tensor z = backend.alloc(dtype, rows, latent); Tensor zK = backend.alloc(dtype, rows, latent);
             Tensor logDet = backend.alloc(dtype, rows)) {
            backend.write(z, z0);
            backend.planarForward(z, params.value(U), params.value(W), params.value(B), zK, logDet, null, null);
            double[] d = backend.download(zK);
            float[] out = new float[d.length];
            for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
            return out;
        }
    }

    /** The buffers of the flow for one {@link Vae.Pass} of up to {@code maxRows} = batch x samples rows. */
    static final class Buffers implements AutoCloseable {
        private final Backend backend;
        private final Parameters params;
        private final Tensor zK, logDet, dz0, scratch;

        Buffers(Backend backend, Parameters params, DType dtype, int maxRows, int latent, int steps, boolean training) {
            this.backend = backend;
            this.params = params;
            zK = backend.alloc(dtype, maxRows, latent);
            logDet = backend.alloc(dtype, maxRows);
            dz0 = training ? backend.alloc(dtype, maxRows, latent) : null;
            scratch = training ? backend.alloc(dtype, maxRows, steps * (2 * latent + 2)) : null;
        }

        /**
         * z_K for the rows of z0; adds the flow's KL correction to {@code kl} (per input) and, if
         * not null, turns {@code logRatio} into log p(z_K) - log q_K(z_K). Returns the z_K rows.
         */
        Tensor forward(Tensor z0, Tensor kl, Tensor logRatio) {
            int rows = z0.rows();
            Tensor zz = zK.rowSlice(0, rows);
            backend.planarForward(z0, params.value(U), params.value(W), params.value(B), zz, logDet.view(0, rows), kl, logRatio);
            return zz;
        }

        /**
         * The gradient with respect to z_0 of {@code dzK . z_K + klScale * sum flowKl}, given
         * dzK (the decoder's input gradient); writes the flow parameters' gradients.
         */
        Tensor backward(Tensor z0, Tensor dzK, double klScale) {
            int rows = z0.rows();
            Tensor g = dz0.rowSlice(0, rows);
            backend.planarBackward(z0, params.value(U), params.value(W), params.value(B), dzK, klScale, g,
                    params.grad(U), params.grad(W), params.grad(B), scratch.rowSlice(0, rows));
            return g;
        }

        /** sum_k log|det_k| for each of the last forward's rows. */
        Tensor logDet(int rows) {
            return logDet.view(0, rows);
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[]{zK, logDet, dz0, scratch}) if (t != null) t.close();
        }
    }
}
