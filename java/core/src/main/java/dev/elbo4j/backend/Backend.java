package dev.elbo4j.backend;

import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * The operations a model needs, named after the kernel files that implement them on the GPU
 * ({@code kernels/linear.cu}, {@code latent.cu}, {@code likelihood.cu}, {@code optim.cu},
 * {@code data.cu}). The CPU backend is the reference; every other backend must agree with it
 * within the tolerances in {@code kernels/README.md}.
 *
 * <p>All matrices are row-major. Every operation writes its outputs completely (no output is
 * read-before-write unless the method says it accumulates), and every reduction runs in a fixed
 * order, so results are deterministic. Operations are asynchronous on device backends; methods
 * returning host values ({@link #download}, {@link #sum}) wait for the work before them.
 */
public interface Backend extends AutoCloseable {

    /** A short name: "cpu", "cuda". */
    String name();

    /** One line describing the implementation (BLAS library, device, ...). */
    String description();

    /**
     * Waits until all work queued on this backend has finished. The CPU backend runs each call to
     * completion, so there is nothing to wait for; device backends override this.
     */
    default void synchronize() {
    }

    // ---- memory -------------------------------------------------------------------------------

    /** A zero-filled tensor. */
    Tensor alloc(DType dtype, Shape shape);

    default Tensor alloc(DType dtype, int... dims) {
        return alloc(dtype, Shape.of(dims));
    }

    Tensor upload(float[] host, Shape shape);

    Tensor upload(double[] host, Shape shape);

    Tensor upload(byte[] host, Shape shape);

    Tensor upload(int[] host, Shape shape);

    /** Copies a host array into an existing tensor (sizes must match). */
    void write(Tensor dst, float[] host);

    void write(Tensor dst, int[] host);

    void write(Tensor dst, double[] host);

    /** Copies a F32 or F64 tensor to a new host array of doubles. */
    double[] download(Tensor t);

    /** Copies {@code src} to {@code dst} of the same dtype and size. */
    void copy(Tensor src, Tensor dst);

    void fill(Tensor t, double value);

    /** Sum of all elements, in double, in a fixed order. Waits for pending work. */
    double sum(Tensor t);

    /**
     * True when no element is NaN or infinite (the training step's NaN guard). The default sums
     * the tensor, which is non-finite exactly when an element is (a sum of finite floats in double
     * does not overflow); backends may answer faster. Waits for pending work.
     */
    default boolean allFinite(Tensor t) {
        return Double.isFinite(sum(t));
    }

    /**
     * acc[0] += scale * sum(x), on the backend, in a fixed order: lets a training loop keep a
     * running loss without reading it back every step. {@code acc} is a 1-element F64 tensor.
     */
    void accumulate(Tensor x, double scale, Tensor acc);

    // ---- linear.cu ----------------------------------------------------------------------------

    /** C = alpha op(A) op(B) + beta C, with op(X) = X or X^T. */
    void gemm(boolean transA, boolean transB, double alpha, Tensor a, Tensor b, double beta, Tensor c);

    /** In place: y[r, c] = act(y[r, c] + bias[c]). {@code bias} may be null. */
    void biasActivation(Tensor y, Tensor bias, Activation act);

    /**
     * Backward of {@link #biasActivation}: in place dy[r, c] *= act'(y[r, c]) (from the output y),
     * then dBias[c] = sum_r dy[r, c] (overwritten), if {@code dBias} is not null.
     */
    void biasActivationBackward(Tensor y, Tensor dy, Activation act, Tensor dBias);

    // ---- latent.cu ----------------------------------------------------------------------------

    /**
     * Reparameterised sampling and the closed-form KL for a diagonal Gaussian posterior against
     * N(0, I). {@code stats} is B x 2Z (columns [0, Z) the mean, [Z, 2Z) log sigma^2). With L =
     * z.rows / B samples per input, row {@code l*B + b} of {@code eps} and {@code z} is sample l of
     * input b: eps = normal element (l*B + b)*Z + k of {@code key}, z = mu + exp(lv/2) eps.
     * {@code kl[b]} = -1/2 sum_k (1 + lv - mu^2 - exp(lv)). If {@code logRatio} is not null,
     * logRatio[l*B + b] = log p(z) - log q(z|x) = -1/2 sum_k (z^2 - eps^2 - lv).
     */
    void latentForward(Tensor stats, RngKey key, Tensor eps, Tensor z, Tensor kl, Tensor logRatio);

    /**
     * Backward of {@link #latentForward} for the loss sum(dz . z) + klWeight * sum(kl):
     * dStats[b, k] = sum_l dz[l*B+b, k] + klWeight mu, and
     * dStats[b, Z+k] = sum_l dz eps exp(lv/2) / 2 + klWeight (exp(lv) - 1) / 2. Overwrites dStats.
     */
    void latentBackward(Tensor stats, Tensor eps, Tensor dz, double klWeight, Tensor dStats);

    /** Decoder inputs for prior samples: z = normals of {@code key} (element r*Z + k). */
    void normal(RngKey key, Tensor z);

    // ---- likelihood.cu ------------------------------------------------------------------------

    /**
     * The negative log-likelihood of x under the decoder output and its gradient, in one pass.
     * {@code out} is (L*B) x D; row r is compared with row r mod B of {@code x} (B x D).
     * rowLoss[r] = -log p(x | out[r]) summed over D. dOut = gradScale * d rowLoss / d out
     * (overwritten). For {@link Likelihood.Kind#GAUSSIAN_LEARNED}, {@code logVar} (D) is the
     * parameter and dLogVar[d] = gradScale * sum_r d rowLoss[r] / d logVar[d] (overwritten); both are
     * null for the other kinds. {@code dOut} may be null (evaluation).
     */
    void likelihood(Likelihood lik, Tensor out, Tensor x, Tensor logVar, double gradScale,
                    Tensor rowLoss, Tensor dOut, Tensor dLogVar);

    /**
     * The likelihood's mean for display: sigmoid(out) for Bernoulli, out itself for Gaussians,
     * written to {@code mean}.
     */
    void likelihoodMean(Likelihood lik, Tensor out, Tensor mean);

    // ---- optim.cu -----------------------------------------------------------------------------

    /**
     * One Adam(W) update over flat buffers, {@code step} counting from 1 (bias correction):
     * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (wd p + m_hat / (sqrt(v_hat) + eps)).
     */
    void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, long step);

    // ---- data.cu ------------------------------------------------------------------------------

    /**
     * Gathers rows {@code index[from .. from + out.rows)} of the U8 data set (N x D) into F32
     * {@code out}, scaled to [0, 1] and binarised per {@code mode}. For a Bernoulli draw the
     * uniform is element {@code n*D + d} of {@code key}, n the example's row in the data set, so an
     * example gets the same draw wherever it lands in a batch.
     */
    void gather(Tensor dataset, Tensor index, int from, Binarization mode, RngKey key, Tensor out);

    // ==== autoencoder.cu: denoising and sparse autoencoders (issue 6) ====
    // (methods of this group go below this line)

    // ==== end of autoencoder.cu ====

    // ==== iwae.cu: importance-weighted objective (issue 6) ====
    // (methods of this group go below this line)

    // ==== end of iwae.cu ====

    // ==== classify.cu: conditional and semi-supervised models (issue 6) ====
    // (methods of this group go below this line)

    // ==== end of classify.cu ====


    // ==== rbm.cu: RBMs, Gibbs sampling, AIS (issue 7) ====
    // (methods of this group go below this line)

    /**
     * One half-sweep of block Gibbs sampling in a binary RBM, fused (the product before it, v W or
     * h W^T, is a {@link #gemm}). With R x C = {@code act.shape}, for every element, in place:
     * <pre>
     *   act[r, c]    = beta (act[r, c] + bias[c]) + (1 - beta) base[c]     (base null: the last term is 0)
     *   prob[r, c]   = sigmoid(act[r, c])
     *   sample[r, c] = u(r C + c) &lt; prob[r, c] ? 1 : 0
     * </pre>
     * so {@code act} ends as the logit. u(j) is the uniform of element j of {@code key} (word j % 4
     * of Philox block j / 4, the top 24 bits times 2^-24), indexed from the first element of
     * {@code act}: the same draw on every backend. beta is the inverse temperature of annealed
     * importance sampling (1 for plain Gibbs sampling); the logit is computed in double and rounded
     * once, the sigmoid in double and rounded once. {@code prob} and {@code sample} have act's shape;
     * either may be null (not written), and {@code prob} may be {@code act} itself. bias and base have C
     * elements.
     */
    void rbmGibbsHalf(Tensor act, Tensor bias, double beta, Tensor base, RngKey key, Tensor prob, Tensor sample);

    /**
     * The free energy of each row of v (R x V) in a binary RBM at inverse temperature beta:
     * <pre>
     *   out[r] = - sum_i (beta visBias[i] + (1 - beta) base[i]) v[r, i]
     *            - sum_j softplus(beta (hAct[r, j] + hidBias[j]))
     * </pre>
     * with hAct = v W (R x H, a {@link #gemm}, not modified), softplus(x) = log(1 + e^x), base null
     * meaning 0. At beta = 1 this is F(v) = -b^T v - sum_j softplus(c_j + (W^T v)_j), so
     * p(v) = exp(-F(v)) / Z. Each row is summed in double, visible terms then hidden terms in index
     * order; out (R elements) is overwritten.
     */
    void rbmFreeEnergy(Tensor v, Tensor hAct, Tensor visBias, Tensor hidBias, double beta, Tensor base, Tensor out);

    // ==== end of rbm.cu ====

    // ==== flow.cu: planar and NICE flows (issue 7) ====
    // (methods of this group go below this line)

    // ==== end of flow.cu ====

    @Override
    void close();
}
