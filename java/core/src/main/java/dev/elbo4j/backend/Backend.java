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
     * What decides this backend's rounding besides the inputs: two backends whose numerics are
     * equal compute the same bits from the same inputs, so a run resumed on one continues exactly
     * as it would have on the other. The default is {@link #description()}; the CPU backend names
     * its maths and GEMM implementations, and the thread count only where its GEMM's results depend
     * on it.
     *
     * @return a one-line description, compared as a whole
     */
    default String numerics() {
        return description();
    }

    /**
     * Waits until all work queued on this backend has finished. The CPU backend runs each call to
     * completion, so there is nothing to wait for; device backends override this.
     */
    default void synchronize() {
    }

    // ---- memory -------------------------------------------------------------------------------

    /** A zero-filled tensor. */
    Tensor alloc(DType dtype, Shape shape);

    /** {@link #alloc(DType, Shape)} with {@code Shape.of(dims)}. */
    default Tensor alloc(DType dtype, int... dims) {
        return alloc(dtype, Shape.of(dims));
    }

    /**
     * A new F32 tensor of {@code shape} holding a copy of {@code host}.
     *
     * @throws IllegalArgumentException when {@code host.length} is not {@code shape.size()}
     */
    Tensor upload(float[] host, Shape shape);

    /**
     * A new F64 tensor of {@code shape} holding a copy of {@code host}.
     *
     * @throws IllegalArgumentException when {@code host.length} is not {@code shape.size()}
     */
    Tensor upload(double[] host, Shape shape);

    /**
     * A new U8 tensor of {@code shape} holding a copy of {@code host} (bytes read as 0..255).
     *
     * @throws IllegalArgumentException when {@code host.length} is not {@code shape.size()}
     */
    Tensor upload(byte[] host, Shape shape);

    /**
     * A new I32 tensor of {@code shape} holding a copy of {@code host}.
     *
     * @throws IllegalArgumentException when {@code host.length} is not {@code shape.size()}
     */
    Tensor upload(int[] host, Shape shape);

    /** Copies a host array into an existing tensor (sizes must match). */
    void write(Tensor dst, float[] host);

    /**
     * Copies a host array into an existing I32 tensor (sizes must match).
     *
     * @throws IllegalArgumentException when {@code dst} is not I32 or the sizes differ
     */
    void write(Tensor dst, int[] host);

    /** Copies a host array into an existing F32 or F64 tensor (sizes must match), rounding to float for F32. */
    void write(Tensor dst, double[] host);

    /** Copies a F32 or F64 tensor to a new host array of doubles. */
    double[] download(Tensor t);

    /** Copies {@code src} to {@code dst} of the same dtype and size. */
    void copy(Tensor src, Tensor dst);

    /** Sets every element of {@code t} to {@code value}, converted to the tensor's type. */
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

    /**
     * A dense layer's forward pass: y (R x out) = act(x (R x in) W^T + bias), W stored out x in, bias
     * of length out (not null). The default is {@link #gemm} then {@link #biasActivation}; a backend
     * may fuse them (the CUDA backend's cuBLASLt path puts the bias and ReLU into the GEMM's epilogue).
     */
    default void linearForward(Tensor x, Tensor w, Tensor bias, Activation act, Tensor y) {
        gemm(false, true, 1, x, w, 0, y);
        biasActivation(y, bias, act);
    }

    /**
     * Backward of {@link #linearForward}: dy (overwritten) *= act'(y); dBias = its column sums;
     * dW = dy^T x; and, if dx is not null, dx = dy W. The default is {@link #biasActivationBackward}
     * and two {@link #gemm}s; a backend may fuse the bias gradient into the dW GEMM.
     */
    default void linearBackward(Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW, Tensor dBias,
                                Tensor dx) {
        biasActivationBackward(y, dy, act, dBias);
        gemm(true, false, 1, dy, x, 0, dW);
        if (dx != null) gemm(false, false, 1, dy, w, 0, dx);
    }

    /**
     * Bytes per row of the ReLU mask {@link #linearForwardMasked} stores for a layer of {@code cols}
     * outputs, or 0 where this backend keeps none (the default: the CPU, and the CUDA backend off its
     * cuBLASLt path). A caller that gets 0 uses {@link #linearForward} and {@link #linearBackward}.
     */
    default int reluMaskRowBytes(int cols) {
        return 0;
    }

    /**
     * {@link #linearForward}, and, when {@code act} is ReLU and this backend can, also stores in
     * {@code mask} (U8, rows x {@link #reluMaskRowBytes}(out)) which outputs are positive, in a layout of
     * the backend's own. Returns whether it stored the mask; false leaves {@code mask} as it was.
     */
    default boolean linearForwardMasked(Tensor x, Tensor w, Tensor bias, Activation act, Tensor y, Tensor mask) {
        linearForward(x, w, bias, act, y);
        return false;
    }

    /**
     * {@link #linearBackward} of a layer whose input x is the output of a ReLU layer (the layer below),
     * carried one step further: dx (not null) = (dy W) masked to where x > 0, the gradient at the layer
     * below's pre-activation, and {@code xBiasGrad} = dx's column sums, the layer below's bias gradient.
     * The layer below then runs {@link #linearBackward} as identity with a null dBias. {@code xMask} is
     * what {@link #linearForwardMasked} stored with x. {@code dBias} may be null when dy already is this
     * layer's pre-activation gradient and its bias gradient is done. The default computes it unfused;
     * the CUDA backend's cuBLASLt path does the masking and the bias gradient in the dx GEMM's epilogue
     * ({@code DRELU_BGRAD}), one element-wise pass fewer per ReLU layer.
     */
    default void linearBackwardReluInput(Tensor x, Tensor w, Tensor y, Tensor dy, Activation act, Tensor dW,
                                         Tensor dBias, Tensor dx, Tensor xMask, Tensor xBiasGrad) {
        linearBackward(x, w, y, dy, act, dW, dBias, dx);
        biasActivationBackward(x, dx, Activation.RELU, xBiasGrad);
    }

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

    // ---- autoencoder.cu: denoising and sparse autoencoders (issue 6) ----

    /**
     * Input corruption of a denoising autoencoder: out (R x D, same dtype and shape as x) gets, for
     * element j = r*D + d of x,
     * <ul>
     *   <li>{@link Corruption#NONE}: x[j] (level must be 0);</li>
     *   <li>{@link Corruption#GAUSSIAN}: x[j] + level * eps_j, eps_j the normal of element j of
     *       {@code key} rounded to float (as {@link #normal}), the sum in double rounded once;</li>
     *   <li>{@link Corruption#MASK}: 0 if u_j &lt; level, else x[j], u_j the uniform float of element
     *       j of {@code key} (0 &lt;= level &lt; 1).</li>
     * </ul>
     * {@code out} may be {@code x} itself (element-wise).
     */
    void corrupt(Corruption kind, double level, RngKey key, Tensor x, Tensor out);

    /**
     * Sparsity penalty of a sparse autoencoder, forward. {@code code} is B x Z with activations in
     * (0, 1); for each unit k: rhoHat[k] = (1/B) sum_b code[b, k] (in row order, in double) and
     * kl[k] = KL(rho || rhoHat[k]) = rho log(rho / rhoHat[k]) + (1 - rho) log((1 - rho) / (1 - rhoHat[k])),
     * computed from the unrounded mean. 0 &lt; rho &lt; 1. Overwrites rhoHat and kl (Z elements each).
     * A mean of exactly 0 or 1 gives an infinite kl (the trainer's NaN guard reports it).
     */
    void sparsityForward(Tensor code, double rho, Tensor rhoHat, Tensor kl);

    /**
     * Backward of {@link #sparsityForward} for the loss scale * B * sum_k kl[k] (i.e. a penalty weight W
     * added to a batch-mean loss takes scale = W / B): ACCUMULATES
     * dCode[b, k] += scale * ((1 - rho) / (1 - rhoHat[k]) - rho / rhoHat[k]) for every row b of
     * dCode (B x Z), from the stored rhoHat (Z).
     */
    void sparsityBackward(Tensor rhoHat, double rho, double scale, Tensor dCode);

    // ---- iwae.cu: importance-weighted objective (issue 6) ----

    /**
     * The importance weights and the loss of the IWAE bound (Burda et al. 2015). {@code rowLoss}
     * and {@code logRatio} have R = L*B elements, element l*B + b being sample l of input b (the
     * layout of {@link #latentForward}); B = loss.size, L = R / B. With the log weights
     * lw[l*B+b] = -rowLoss[l*B+b] + logRatio[l*B+b] = log p(x_b|z_l) + log p(z_l) - log q(z_l|x_b)
     * and m_b = max_l lw[l*B+b]:
     * loss[b] = -log((1/L) sum_l exp(lw[l*B+b])) = -(m_b + log sum_l exp(lw[l*B+b] - m_b) - log L),
     * weights[l*B+b] = exp(lw[l*B+b] - m_b) / sum_l' exp(lw[l'*B+b] - m_b) (a softmax over l, so
     * they sum to 1 for each b). In double, l in increasing order. Overwrites weights (R) and loss (B).
     */
    void iwaeWeights(Tensor rowLoss, Tensor logRatio, Tensor weights, Tensor loss);

    /**
     * Weights the decoder-output gradient of the IWAE loss, in place: dOut[r, c] *= scale *
     * weights[r] (dOut R x D, weights R). On entry dOut must be d rowLoss[r] / d out[r, c] (the
     * gradient of {@link #likelihood} with gradScale 1). For {@link Likelihood.Kind#GAUSSIAN_LEARNED}
     * pass the log variance {@code logVar} (D) and {@code dLogVar} (D, overwritten):
     * dLogVar[c] = scale * sum_r weights[r] (1 - g[r, c]^2 exp(logVar[c])) / 2, g being dOut on entry,
     * which is scale * sum_r weights[r] d rowLoss[r] / d logVar[c] because g = (out - x) exp(-logVar);
     * the sum runs over r in increasing order in double. Both are null for the other likelihoods.
     */
    void iwaeScaleRows(Tensor weights, double scale, Tensor dOut, Tensor logVar, Tensor dLogVar);

    /**
     * Backward of the IWAE loss scale * sum_b loss[b] ({@link #iwaeWeights}) to the encoder's
     * statistics, with eps fixed (z = mu + exp(lv/2) eps). stats is B x 2Z, eps, z, dz are R x Z with
     * R = L*B, weights R. {@code dz} is the gradient that reached z through the decoder, already
     * weighted (scale * weights[r] * d rowLoss[r] / d z[r], from {@link #iwaeScaleRows}); the log
     * ratio adds scale * weights[r] * z[r, k]. With g[r, k] = dz[r, k] + scale * weights[r] * z[r, k]:
     * dStats[b, k] = sum_l g[l*B+b, k] and
     * dStats[b, Z+k] = exp(lv[b, k] / 2) / 2 * sum_l g[l*B+b, k] eps[l*B+b, k] - scale / 2
     * (the last term is d(-log q)/d lv at fixed eps, times the weights' sum 1). Sums over l in
     * increasing order in double. Overwrites dStats.
     */
    void iwaeLatentBackward(Tensor stats, Tensor eps, Tensor z, Tensor dz, Tensor weights, double scale, Tensor dStats);

    // ---- classify.cu: conditional and semi-supervised models (issue 6) ----

    /**
     * Softmax cross-entropy of each row, with its gradient. {@code logits} and {@code target} are
     * B x C; with lse_b = log sum_c exp(logits[b, c]) and q[b, c] = exp(logits[b, c] - lse_b),
     * loss[b] = sum_c target[b, c] (lse_b - logits[b, c]) (for a one-hot target: -log q[b, y_b]),
     * and, if {@code dLogits} is not null, dLogits[b, c] = gradScale (q[b, c] sum_c' target[b, c'] -
     * target[b, c]) (overwritten): gradScale times the gradient of loss[b]. Computed in double per
     * row, the max subtracted first; loss is B elements.
     */
    void softmaxCrossEntropy(Tensor logits, Tensor target, double gradScale, Tensor loss, Tensor dLogits);

    /**
     * The unlabelled bound of the semi-supervised VAE M2 (Kingma et al. 2014), exactly over the C
     * classes. {@code logits} is B x C (the classifier's q(y|x)); {@code rec} and {@code kl} have
     * C*B elements, element c*B + b belonging to input b with class c. With
     * L[c*B + b] = rec[c*B + b] + klWeight kl[c*B + b] + offset, q = softmax(logits[b]):
     * u[b] = sum_c q[b, c] (L[c*B + b] + log q[b, c]) (= sum_c q L - H(q)),
     * weights[c*B + b] = q[b, c] and, if {@code dLogits} is not null,
     * dLogits[b, c] = gradScale q[b, c] (L[c*B + b] + log q[b, c] - u[b]), the gradient of
     * gradScale u[b] with respect to the logits. All outputs are overwritten; double inside.
     */
    void unlabelledBound(Tensor logits, Tensor rec, Tensor kl, double klWeight, double offset, double gradScale,
                         Tensor u, Tensor weights, Tensor dLogits);

    /**
     * In place: x[r, j] = x[r, j] (scale w[r]) for an R x N {@code x} and R weights {@code w} (the
     * factor formed in double, the product in double rounded to x's dtype).
     */
    void scaleRows(Tensor x, Tensor w, double scale);

    /**
     * {@link #latentBackward} for one sample per input with a KL weight per row: for stats R x 2Z,
     * eps and dz R x Z, with a[r] = (klWeight / klRows) klWeights[r] (the quotient in double: the
     * KL weight of a mean over klRows inputs, as a caller of a mean loss divides it):
     * dStats[r, k] = dz[r, k] + a[r] mu and
     * dStats[r, Z+k] = dz[r, k] eps[r, k] exp(lv/2) / 2 + a[r] (exp(lv) - 1) / 2. Overwrites dStats.
     * The gradient of sum(dz . z) + sum_r a[r] kl[r].
     */
    void latentBackwardRows(Tensor stats, Tensor eps, Tensor dz, Tensor klWeights, double klWeight, int klRows, Tensor dStats);

    // ---- fvbm.cu: fully visible Boltzmann machines, exact maximum likelihood ----

    /**
     * One exact maximum-likelihood step of a fully visible Boltzmann machine on d &lt;= 20 binary units,
     * p(x) = exp(b^T x + sum_{i&lt;j} s_ij x_i x_j) / Z with s_ij = (w_ij + w_ji) / 2. {@code x} is
     * R x d, {@code bias} d, {@code weight} d x d; {@code scratch} is F64 with 2^d + d*d + 1 elements
     * and receives the unnormalised log-probability of every state (bit i of the state index is
     * x_i), then E[x_i x_j] (d x d, the diagonal E[x_i]), then log Z. Writes
     * rowLoss[r] = -log p(x_r) (R), dBias_i = E[x_i] - mean_r x_ri and dWeight_ij =
     * (E[x_i x_j] - mean_r x_ri x_rj) / 2 for i != j, 0 on the diagonal: the gradient of the mean
     * of rowLoss. Everything in double; log Z with the largest log-probability subtracted first.
     */
    void fvbmStep(Tensor x, Tensor bias, Tensor weight, Tensor scratch, Tensor rowLoss, Tensor dBias, Tensor dWeight);

    // ---- rbm.cu: RBMs, Gibbs sampling, AIS (issue 7) ----

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

    // ---- flow.cu: planar and NICE flows (issue 7) ----

    /**
     * The K-step planar flow (Rezende and Mohamed 2015) on R = L*B rows of z0 (R x Z); {@code u},
     * {@code w} are K x Z and {@code b} has K elements. Step k maps z to
     * z + u_hat_k tanh(w_k . z + b_k) with u_hat_k = u_k + (m(w_k . u_k) - w_k . u_k) w_k / |w_k|^2,
     * m(a) = -1 + softplus(a), so w_k . u_hat_k >= -1 and every step is invertible. Writes zK (the
     * last z) and logDet[r] = sum_k log|1 + (1 - tanh^2(w_k . z_k + b_k)) m(w_k . u_k)|, the
     * log-determinant of dz_K/dz_0. With flowKl[r] = |zK[r]|^2 / 2 - |z0[r]|^2 / 2 - logDet[r]
     * (= log p(z0) - log p(zK) - logDet for p = N(0, I)): if {@code kl} (B elements) is not null,
     * kl[b] += (1/L) sum_l flowKl[l*B + b] (l in order), turning the closed-form KL(q0 || p) of
     * {@link #latentForward} into the flow posterior's single-sample KL estimate; if
     * {@code logRatio} (R) is not null, logRatio[r] -= flowKl[r], turning log p(z0) - log q0(z0)
     * into log p(zK) - log qK(zK). All tensors share one floating dtype.
     */
    void planarForward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor zK, Tensor logDet, Tensor kl, Tensor logRatio);

    /**
     * Backward of {@link #planarForward} for the loss
     * sum_r dzK[r] . zK[r] + weight * sum_r flowKl[r] (flowKl as there: |zK|^2/2 - |z0|^2/2 - logDet).
     * Overwrites dz0 (R x Z) with d loss / d z0, and dU, dW (K x Z) and dB (K) with the gradients
     * of the flow parameters (sums over rows in row order). {@code scratch} holds at least
     * R x K(2Z+2) elements of the dtype and is overwritten (per row and step: [tanh(a) g (Z),
     * ga z_k (Z), ga, -weight h'/(1 + h' m)], ga = d loss / d a_k), as on the GPU.
     */
    void planarBackward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor dzK, double weight,
                        Tensor dz0, Tensor dU, Tensor dW, Tensor dB, Tensor scratch);

    /**
     * NICE input: splits x (N x D, F32/F64, values pixel/255) into its even columns a (N x ceil(D/2),
     * a[n, j] from column 2j) and odd columns b (N x floor(D/2), b[n, j] from column 2j + 1). With a
     * key, each value is dequantized: v = (rint(255 x) + u) / 256 with u the uniform (Philox.uniform)
     * of element n*D + d of the key, so v is uniform in the pixel's cell [p/256, (p+1)/256); with
     * {@code key} null the values are copied unchanged.
     */
    void niceSplit(Tensor x, RngKey key, Tensor a, Tensor b);

    /** In place y += sign * shift (same size): the additive coupling (sign 1) and its inverse (sign -1). */
    void niceAdd(Tensor y, Tensor shift, double sign);

    /**
     * NICE's diagonal scaling and prior on one half of the columns: z = exp(s) h (h N x C, s C),
     * rowLogP[n] = sum_c (log p_H(z[n, c]) + s[c]) (added to rowLogP if {@code accumulate}, else
     * written), with p_H the standard logistic, log p_H(z) = -softplus(z) - softplus(-z), or, if
     * {@code logistic} is false, the standard normal, log p_H(z) = -z^2/2 - log(2 pi)/2. If
     * {@code dh} is not null, the gradient of the loss -gradScale * sum_n rowLogP[n] is written:
     * dh[n, c] = -gradScale exp(s[c]) g(z), g = d log p_H / dz (-tanh(z/2) logistic, -z normal),
     * and ds[c] = -gradScale sum_n (g(z[n, c]) z[n, c] + 1) (rows in order).
     */
    void nicePrior(Tensor h, Tensor s, boolean logistic, boolean accumulate, double gradScale,
                   Tensor rowLogP, Tensor dh, Tensor ds);

    /**
     * Samples of one half for NICE's inverse: h[r, c] = z exp(-s[c]) with z ~ p_H element r*C + c of
     * {@code key}: logistic z = log(v) - log(1 - v), v = uniform + 2^-25 in (0, 1) (the uniform of
     * that element's Philox word), or standard normal z (the normals of {@link #normal}).
     */
    void nicePriorSample(RngKey key, Tensor s, boolean logistic, Tensor h);

    // ---- conv.cu: 2-D convolutions as im2col + GEMM (docs/CONV.md) ----
    //
    // Images are rows: an NCHW tensor B x (C*H*W) holds image b in row b, channel c's plane at
    // columns [c*H*W, (c+1)*H*W), pixel (h, w) of the plane at h*W + w. A convolution with weight
    // OC x (C*KH*KW) (PyTorch's OC x C x KH x KW) is
    //   im2col(x) -> cols; rows = cols W^T (gemm); toChannelsFirst(rows) -> y; channelBiasActivation(y),
    // and a transposed convolution (weight C_in x (C*KH*KW), PyTorch's ConvTranspose2d layout) is
    //   toChannelsLast(x) -> rows; cols = rows W (gemm); col2im(cols) -> y; channelBiasActivation(y).
    // Their backward passes use the same ops the other way round. No op here reduces across
    // threads: col2im sums at most KH*KW terms per output in a fixed order, and the bias gradient
    // is one fixed-order sum per channel.

    /**
     * Unfolds the patches of an NCHW batch {@code x} (B x C*H*W, the geometry's input) into
     * {@code cols} ((B*OH*OW) x (C*KH*KW)), overwritten: row (b*OH + oh)*OW + ow holds the window of
     * output pixel (oh, ow) of image b, column (c*KH + kh)*KW + kw the input pixel
     * x[b, c, oh*stride - padding + kh, ow*stride - padding + kw], or 0 where that lies in the
     * padding. The column order is PyTorch's weight order (c, kh, kw). B = x.rows; x and cols share
     * one floating dtype. Pure copies, so every backend gives the same bits.
     */
    void im2col(Tensor x, ConvGeometry g, Tensor cols);

    /**
     * The adjoint of {@link #im2col}, as a gather: {@code dx} (B x C*H*W) is overwritten with
     * dx[b, c, h, w] = sum of cols[(b*OH + oh)*OW + ow, (c*KH + kh)*KW + kw] over the kernel
     * positions that read pixel (h, w), i.e. over kh = 0..KH-1, then kw = 0..KW-1 (kh outer, both
     * increasing) for which oh = (h + padding - kh) / stride and ow = (w + padding - kw) / stride are
     * whole numbers inside [0, OH) x [0, OW). The sum runs in that order in double and is rounded
     * once to the dtype (0 for a pixel no window reads). {@code cols} is (B*OH*OW) x (C*KH*KW), not
     * modified. Each output element is one thread's private sum: no atomics, no scatter. So
     * sum(im2col(x) . cols) = sum(x . col2im(cols)) for every x and cols.
     */
    void col2im(Tensor cols, ConvGeometry g, Tensor dx);

    /**
     * Channels-last rows to channels-first images: {@code rows} is (B*P) x C (row b*P + p holds the
     * C channels of pixel p of image b: the layout a GEMM over im2col rows produces) and
     * {@code images} B x (C*P) is overwritten with images[b, c*P + p] = rows[b*P + p, c]. C =
     * rows.cols, B = images.rows, P = {@code pixels}; the two tensors share one floating dtype and
     * must be distinct. A pure permutation (exact).
     */
    void toChannelsFirst(Tensor rows, int pixels, Tensor images);

    /**
     * The inverse of {@link #toChannelsFirst}: {@code rows} ((B*P) x C) is overwritten with
     * rows[b*P + p, c] = images[b, c*P + p]. C = rows.cols, B = images.rows, P = {@code pixels}.
     */
    void toChannelsLast(Tensor images, int pixels, Tensor rows);

    /**
     * In place on an NCHW batch y (B x C*P, C = {@code channels}, P = y.cols / C):
     * y[b, c*P + p] = act(y[b, c*P + p] + bias[c]), the sum and the activation as
     * {@link #biasActivation} computes them. {@code bias} (C elements) may be null (no bias).
     */
    void channelBiasActivation(Tensor y, Tensor bias, int channels, Activation act);

    /**
     * Backward of {@link #channelBiasActivation}: in place dy[b, c*P + p] *= act'(y[b, c*P + p])
     * (from the output y, as {@link #biasActivationBackward}), then, if {@code dBias} (C elements)
     * is not null, dBias[c] = sum over b = 0..B-1 (outer) and p = 0..P-1 (inner) of the new dy[b,
     * c*P + p], overwritten. The CPU sums in that order in double; a device may instead sum each
     * channel in a fixed-shape tree (deterministic, not the same bits).
     */
    void channelBiasActivationBackward(Tensor y, Tensor dy, int channels, Activation act, Tensor dBias);

    /**
     * Releases what the backend holds (on a GPU: every device allocation left and the context). Close it after
     * the models, data sets and tensors made on it; they cannot be used afterwards. Throws no checked
     * exception.
     */
    @Override
    void close();
}
