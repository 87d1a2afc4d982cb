package dev.elbo4j.backend.cuda;

import java.util.List;

import static dev.elbo4j.backend.cuda.KernelArgs.Kind.F32;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.F64;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.I32;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.I64;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.PTR;

/**
 * Every kernel entry point of {@code kernels/*.cu} with its parameter kinds, and the launch
 * constants shared with {@code kernels/common.cuh} (KernelSourceTest parses the sources and checks
 * both). {@code kernels/README.md} documents each kernel's shapes, launch configuration and
 * tolerance.
 */
public final class Kernels {
    private Kernels() {
    }

    // ---- launch constants: the ELBO4J_* macros of kernels/common.cuh ------------------------------
    /** Threads per block of the element-wise kernels. */
    public static final int BLOCK_ELEMENTWISE = 256;
    /** Threads per block of the row kernels (likelihood): one block per range of rows. */
    public static final int BLOCK_ROW = 128;
    /** Threads per block of the latent forward kernel. */
    public static final int BLOCK_LATENT = 256;
    /** Column-reduction tile (bias gradient): x = columns (one warp), y = row lanes. */
    public static final int COLS_TILE_X = 32;
    /** Column-reduction tile, y: the row lanes per column. */
    public static final int COLS_TILE_Y = 8;
    /** Threads per block and maximum blocks of the full reductions. */
    public static final int BLOCK_REDUCE = 256;
    /** Maximum blocks of a full reduction (its partials buffer holds this many doubles). */
    public static final int REDUCE_MAX_BLOCKS = 256;

    // ---- host-side launch policy (not in the sources) ---------------------------------------------
    /** Row blocks of a likelihood launch: at most this many, each a contiguous range of rows. */
    public static final int MAX_ROW_BLOCKS = 1024;
    /** Shared memory a block may use without an opt-in (all targets). */
    public static final int MAX_STATIC_SHARED_BYTES = 48 * 1024;

    private static final KernelArgs.Kind[] KEY = {I32, I32, I32, I64, PTR};

    private static KernelArgs.Kind[] withKey(KernelArgs.Kind... head) {
        KernelArgs.Kind[] all = java.util.Arrays.copyOf(head, head.length + KEY.length);
        System.arraycopy(KEY, 0, all, head.length, KEY.length);
        return all;
    }

    // random.cu
    /**
     * The Philox words of blocks [first, first + blocks): out; first, blocks; key. For the generator's parity
     * test.
     */
    public static final KernelSpec PHILOX_U32 = KernelSpec.of("random.cu", "elbo4j_philox_u32", BLOCK_ELEMENTWISE, withKey(PTR, I64, I64));
    /** Uniform floats in [0, 1) of elements [0, n) ({@code Philox.uniforms}): out, n; key. */
    public static final KernelSpec UNIFORM_F32 = KernelSpec.of("random.cu", "elbo4j_uniform_f32", BLOCK_ELEMENTWISE, withKey(PTR, I64));
    /**
     * Standard normals of elements [0, n) ({@code Philox.normals}, {@link dev.elbo4j.backend.Backend#normal}):
     * out, n; key.
     */
    public static final KernelSpec NORMAL_F32 = KernelSpec.of("random.cu", "elbo4j_normal_f32", BLOCK_ELEMENTWISE, withKey(PTR, I64));
    /**
     * {@code *counter += delta} in one thread, the last node of a captured step (the next replay reads the next
     * step): counter, delta.
     */
    public static final KernelSpec COUNTER_ADD_U64 = KernelSpec.of("random.cu", "elbo4j_counter_add_u64", 32, PTR, I64);

    // latent.cu
    /**
     * The reparameterised latent layer: stats (mean | log variance), eps, z, kl, logRatio; batch, latent, rows,
     * group; key.
     */
    public static final KernelSpec LATENT_FORWARD = KernelSpec.of("latent.cu", "elbo4j_latent_forward_f32",
            BLOCK_LATENT, withKey(PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32));
    /**
     * The latent layer's backward: stats, eps, dz, dStats; batch, latent, samples, klWeight, klWeightPtr (null:
     * the argument).
     */
    public static final KernelSpec LATENT_BACKWARD = KernelSpec.of("latent.cu", "elbo4j_latent_backward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I32, I32, I32, F64, PTR);

    // likelihood.cu
    /**
     * Bernoulli likelihood on logits, loss per row and its gradient: out, x, rowLoss, dOut; rows, batch, cols,
     * rowsPerBlock, gradScale.
     */
    public static final KernelSpec BERNOULLI = KernelSpec.of("likelihood.cu", "elbo4j_bernoulli_f32",
            BLOCK_ROW, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F32);
    /**
     * Gaussian likelihood, loss per row, gradient and the log-variance column partials: out, x, logVar,
     * rowLoss, dOut, colPartial; rows, batch, cols, rowsPerBlock, accInShared, fixedLogVar, fixedPrec,
     * gradScale.
     */
    public static final KernelSpec GAUSSIAN = KernelSpec.of("likelihood.cu", "elbo4j_gaussian_f32",
            BLOCK_ROW, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, F64, F32, F32);
    /**
     * The learned log variance's gradient, the second pass over {@link #GAUSSIAN}'s column partials:
     * colPartial, dLogVar; blocks, cols, gradScale.
     */
    public static final KernelSpec GAUSSIAN_DLOGVAR = KernelSpec.of("likelihood.cu", "elbo4j_gaussian_dlogvar_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, I32, I32, F64);
    /** The logistic function element-wise: in, out, n. */
    public static final KernelSpec SIGMOID = KernelSpec.of("likelihood.cu", "elbo4j_sigmoid_f32", BLOCK_ELEMENTWISE, PTR, PTR, I64);

    // linear.cu
    /**
     * Adds the bias to every row and applies the activation in place: y, bias; rows, cols, act (the
     * {@link dev.elbo4j.backend.Activation} ordinal).
     */
    public static final KernelSpec BIAS_ACT = KernelSpec.of("linear.cu", "elbo4j_bias_act_f32", BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, I32);
    /** Multiplies dy in place by the activation's derivative, written through its output y: y, dy; n, act. */
    public static final KernelSpec ACT_BACKWARD = KernelSpec.of("linear.cu", "elbo4j_act_backward_f32", BLOCK_ELEMENTWISE, PTR, PTR, I64, I32);
    /** y, dy, partial (chunks x cols doubles, or null for one chunk), dBias; rows, cols, chunkRows, act. */
    public static final KernelSpec BIAS_ACT_BACKWARD = KernelSpec.of("linear.cu", "elbo4j_bias_act_backward_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, PTR, PTR, I32, I32, I32, I32);

    // columns.cu
    /** The second pass of a row-chunked column sum: partial, out; chunks, cols; scale. */
    public static final KernelSpec COLUMN_SUM = KernelSpec.of("columns.cu", "elbo4j_column_sum_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, I32, I32, F64);

    // optim.cu
    /**
     * One Adam(W) update: param, grad, m, v; n, b1, b2, c1, c2, eps, decay, stepSize, invSqrtBc2; stepPtr, lr,
     * beta1, beta2.
     */
    public static final KernelSpec ADAM = KernelSpec.of("optim.cu", "elbo4j_adam_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I64, F32, F32, F32, F32, F32, F32, F32, F32, PTR, F64, F64, F64);

    /** Adam gated by the step guard, constants from a per-step table: p, g, m, v, n, b1, b2, c1, c2, eps; table, step, state. */
    public static final KernelSpec ADAM_GUARDED = KernelSpec.of("optim.cu", "elbo4j_adam_guarded_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I64, F32, F32, F32, F32, F32, PTR, PTR, PTR);

    /** The batch's rows of a permutation at a device cursor: perm, permSize, out, rows, batch, cursor, wrap. */
    public static final KernelSpec BATCH_INDEX = KernelSpec.of("data.cu", "elbo4j_batch_index_i32",
            BLOCK_ELEMENTWISE, PTR, I64, PTR, I32, I32, PTR, I64);

    // step.cu
    /**
     * The graph step's finite check: sums, count, stopFrom, skipPolicy, rows, lossTerms, scale0, scale1;
     * step, state, lossAcc; cursor, skipLog, logLen; scalePtr, scale2, scale3, scale4, ptrTerm.
     */
    public static final KernelSpec STEP_GUARD = KernelSpec.of("step.cu", "elbo4j_step_guard", 32,
            PTR, I32, I32, I32, I32, I32, F64, F64, PTR, PTR, PTR, PTR, PTR, I32, PTR, F64, F64, F64, I32);
    /** A per-batch table's entry at a device cursor: table, len, cursor, out. */
    public static final KernelSpec SELECT_F64 = KernelSpec.of("step.cu", "elbo4j_select_f64", 32, PTR, I32, PTR, PTR);

    // data.cu
    /**
     * Gathers a batch of U8 examples into F32 inputs (binarised or scaled), flagging a bad index: data, index,
     * out, error; from, rows, examples, cols, mode; key.
     */
    public static final KernelSpec GATHER = KernelSpec.of("data.cu", "elbo4j_gather_u8_f32",
            BLOCK_ELEMENTWISE, withKey(PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32));

    // reduce.cu
    /**
     * Sum of an F32 tensor in double, in a fixed order (out = sum, or out += scale sum): x, n, partials,
     * counter, out; scale, accumulate.
     */
    public static final KernelSpec SUM_F32 = KernelSpec.of("reduce.cu", "elbo4j_sum_f32", BLOCK_REDUCE, PTR, I64, PTR, PTR, PTR, F64, I32);
    /** {@link #SUM_F32} for F64. */
    public static final KernelSpec SUM_F64 = KernelSpec.of("reduce.cu", "elbo4j_sum_f64", BLOCK_REDUCE, PTR, I64, PTR, PTR, PTR, F64, I32);
    /** {@link #SUM_F32} for I32. */
    public static final KernelSpec SUM_I32 = KernelSpec.of("reduce.cu", "elbo4j_sum_i32", BLOCK_REDUCE, PTR, I64, PTR, PTR, PTR, F64, I32);
    /** {@link #SUM_F32} for U8. */
    public static final KernelSpec SUM_U8 = KernelSpec.of("reduce.cu", "elbo4j_sum_u8", BLOCK_REDUCE, PTR, I64, PTR, PTR, PTR, F64, I32);

    // memory.cu
    /** Fills n 8-byte words with the same bits (an F64 fill): p, n, bits. */
    public static final KernelSpec FILL_U64 = KernelSpec.of("memory.cu", "elbo4j_fill_u64", BLOCK_ELEMENTWISE, PTR, I64, I64);

    // ---- autoencoder.cu: denoising and sparse autoencoders (issue 6) ----
    /**
     * Corrupts a denoising autoencoder's input (copy, Gaussian noise or masking; out may be x): x, out, n,
     * kind, level; key.
     */
    public static final KernelSpec CORRUPT = KernelSpec.of("autoencoder.cu", "elbo4j_corrupt_f32",
            BLOCK_ELEMENTWISE, withKey(PTR, PTR, I64, I32, F64));
    /** code, partial (chunks x units doubles, or null for one chunk), rhoHat, kl; batch, units, chunkRows; rho. */
    public static final KernelSpec SPARSITY_FORWARD = KernelSpec.of("autoencoder.cu", "elbo4j_sparsity_forward_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, PTR, PTR, I32, I32, I32, F64);
    /** The second pass of the sparsity sums: partial, rhoHat, kl; chunks, units, batch; rho. */
    public static final KernelSpec SPARSITY_FINISH = KernelSpec.of("autoencoder.cu", "elbo4j_sparsity_finish_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, PTR, I32, I32, I32, F64);
    /** The sparsity penalty's gradient added to the code's: rhoHat, dCode; batch, units, rho, scale. */
    public static final KernelSpec SPARSITY_BACKWARD = KernelSpec.of("autoencoder.cu", "elbo4j_sparsity_backward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, F64, F64);

    // ---- iwae.cu: importance-weighted objective (issue 6) ----
    /**
     * IWAE's normalised importance weights and the loss per input: rowLoss, logRatio, weights, loss; batch,
     * samples.
     */
    public static final KernelSpec IWAE_WEIGHTS = KernelSpec.of("iwae.cu", "elbo4j_iwae_weights_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I32, I32);
    /**
     * IWAE's learned log-variance gradient, weighted by the samples' weights: weights, dOut, logVar, partial,
     * dLogVar; rows, cols, chunkRows, scale.
     */
    public static final KernelSpec IWAE_DLOGVAR = KernelSpec.of("iwae.cu", "elbo4j_iwae_dlogvar_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, F64);
    /** Scales each row of dOut in place by scale times its sample's weight: weights, dOut; n, cols, scale. */
    public static final KernelSpec IWAE_SCALE_ROWS = KernelSpec.of("iwae.cu", "elbo4j_iwae_scale_rows_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I64, I32, F64);
    /**
     * The latent layer's backward under IWAE's weights: stats, eps, z, dz, weights, dStats; batch, latent,
     * samples, scale.
     */
    public static final KernelSpec IWAE_LATENT_BACKWARD = KernelSpec.of("iwae.cu", "elbo4j_iwae_latent_backward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, F64);

    // ---- classify.cu: conditional and semi-supervised models (issue 6) ----
    /**
     * Softmax cross-entropy of the classifier with its gradient: logits, target, loss, dLogits; batch, classes,
     * gradScale.
     */
    public static final KernelSpec SOFTMAX_XENT = KernelSpec.of("classify.cu", "elbo4j_softmax_xent_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I32, I32, F64);
    /**
     * M2's bound for an unlabelled input, summed over the classes under q(y|x), and its gradient: logits, rec,
     * kl, u, weights, dLogits; batch, classes, klWeight, offset, gradScale, klWeightPtr.
     */
    public static final KernelSpec UNLABELLED_BOUND = KernelSpec.of("classify.cu", "elbo4j_unlabelled_bound_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, F64, F64, F64, PTR);
    /** Scales each row in place by scale times its row weight: x, w; rows, cols, scale. */
    public static final KernelSpec SCALE_ROWS = KernelSpec.of("classify.cu", "elbo4j_scale_rows_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, F64);
    /**
     * The latent backward with one sample and a KL weight per row: stats, eps, dz, klWeights, dStats; rows,
     * latent, klWeight, klRows, klWeightPtr.
     */
    public static final KernelSpec LATENT_BACKWARD_ROWS = KernelSpec.of("classify.cu", "elbo4j_latent_backward_rows_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, I32, I32, F64, I32, PTR);

    // ---- rbm.cu: RBMs, Gibbs sampling, AIS (issue 7) ----

    /** Fused Gibbs half-sweep: logit in place, sigmoid, Bernoulli draw (one thread per Philox block of 4 elements). */
    public static final KernelSpec RBM_GIBBS = KernelSpec.of("rbm.cu", "elbo4j_rbm_gibbs_f32",
            BLOCK_ELEMENTWISE, withKey(PTR, PTR, PTR, PTR, PTR, I32, I32, F64));
    /** Free energy per row: one block of BLOCK_ROW threads per row, double sums, fixed tree. */
    public static final KernelSpec RBM_FREE_ENERGY = KernelSpec.of("rbm.cu", "elbo4j_rbm_free_energy_f32",
            BLOCK_ROW, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, F64);

    // ---- fvbm.cu: fully visible Boltzmann machines ----

    /** Unnormalised log-probability of every state (one thread per state): bias, weight, lu; d. */
    public static final KernelSpec FVBM_STATES = KernelSpec.of("fvbm.cu", "elbo4j_fvbm_states_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, I32);
    /** log Z and E[x_i x_j], one block per pair i &lt;= j: lu, second, logZ; d. */
    public static final KernelSpec FVBM_MOMENTS = KernelSpec.of("fvbm.cu", "elbo4j_fvbm_moments_f32",
            BLOCK_REDUCE, PTR, PTR, PTR, I32);
    /** The gradient (one thread per d x d entry) and the rows' loss: x, bias, weight, second, logZ, rowLoss, dBias, dWeight; R, d. */
    public static final KernelSpec FVBM_GRAD = KernelSpec.of("fvbm.cu", "elbo4j_fvbm_grad_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32);

    // ---- flow.cu: planar and NICE flows (issue 7) ----
    /**
     * Planar flow forward, a group of {@link #planarGroup} lanes per input (its L rows in turn), the
     * steps' scalars in dynamic shared memory ({@link #PLANAR_STEP_BYTES} per step): z0, u, w, b, zK,
     * logDet, logRatio, kl; inputs, Z, K, L, group.
     */
    public static final KernelSpec PLANAR_FORWARD = KernelSpec.of("flow.cu", "elbo4j_planar_forward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32);
    /** Planar flow backward, a group of {@link #planarGroup} lanes per row: z0, u, w, b, dzK, dz0, scratch; rows, Z, K, group; weight. */
    public static final KernelSpec PLANAR_BACKWARD = KernelSpec.of("flow.cu", "elbo4j_planar_backward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F64, PTR);
    /** The scratch's row-chunked column sums (columns.cuh), chunk partials always: scratch, partial; rows, K(2Z+2), chunk rows. */
    public static final KernelSpec PLANAR_PARTIALS = KernelSpec.of("flow.cu", "elbo4j_planar_partials_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, I32, I32, I32);
    /** The flow parameters' gradients, one block per step (2Z+2 doubles of shared memory): u, w, partial, dU, dW, dB; chunks, Z, K. */
    public static final KernelSpec PLANAR_REDUCE = KernelSpec.of("flow.cu", "elbo4j_planar_reduce_f32",
            BLOCK_ROW, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32);

    /** NICE dequantizing even/odd split, one thread per element: x, a, b; rows, D, has key; key. */
    public static final KernelSpec NICE_SPLIT = KernelSpec.of("flow.cu", "elbo4j_nice_split_f32",
            BLOCK_ELEMENTWISE, withKey(PTR, PTR, PTR, I32, I32, I32));
    /** NICE coupling add, one thread per element: y, shift, n, sign. */
    public static final KernelSpec NICE_ADD = KernelSpec.of("flow.cu", "elbo4j_nice_add_f32", BLOCK_ELEMENTWISE, PTR, PTR, I64, F64);
    /** NICE scaling + prior, a warp per row: h, s, rowLogP, dh; rows, cols, logistic, accumulate; gradScale. */
    public static final KernelSpec NICE_PRIOR_ROWS = KernelSpec.of("flow.cu", "elbo4j_nice_prior_rows_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F64);
    /** NICE scaling gradient per column: h, s, ds; rows, cols, logistic; gradScale. */
    public static final KernelSpec NICE_PRIOR_DS = KernelSpec.of("flow.cu", "elbo4j_nice_prior_ds_f32",
            COLS_TILE_X * COLS_TILE_Y, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F64);
    /** NICE prior samples, one thread per Philox block: s, h; rows, cols, logistic; key. */
    public static final KernelSpec NICE_PRIOR_SAMPLE = KernelSpec.of("flow.cu", "elbo4j_nice_prior_sample_f32",
            BLOCK_ELEMENTWISE, withKey(PTR, PTR, I32, I32, I32));

    // ---- conv.cu: convolutions as im2col + cuBLAS (CudaConv) ----
    /** x, cols; batch, C, H, W, KH, KW, stride, padding, OH, OW: one thread per element of cols. */
    public static final KernelSpec IM2COL = KernelSpec.of("conv.cu", "elbo4j_im2col_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32);
    /** cols, dx; batch, C, H, W, KH, KW, stride, padding, OH, OW: one thread per pixel of dx (a gather). */
    public static final KernelSpec COL2IM = KernelSpec.of("conv.cu", "elbo4j_col2im_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32);
    /** src, dst; batch, rows, cols: dst[b] = src[b]^T in 32 x 32 tiles (the channels-first / last permutations). */
    public static final KernelSpec CHANNELS_TRANSPOSE = KernelSpec.of("conv.cu", "elbo4j_channels_transpose_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, I32);
    /** y, bias (nullable); batch, C, P, act. */
    public static final KernelSpec CHANNEL_BIAS_ACT = KernelSpec.of("conv.cu", "elbo4j_channel_bias_act_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, I32, I32, I32, I32);
    /** y, dy, partial (chunks x C doubles, or null for one chunk), dBias (nullable); batch, C, P, chunkElements, act. */
    public static final KernelSpec CHANNEL_BIAS_ACT_BACKWARD = KernelSpec.of("conv.cu", "elbo4j_channel_bias_act_backward_f32",
            BLOCK_ELEMENTWISE, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32);

    /** All entry points; the backend resolves each one when it loads the module. */
    public static final List<KernelSpec> ALL = List.of(
            PHILOX_U32, UNIFORM_F32, NORMAL_F32, COUNTER_ADD_U64,
            LATENT_FORWARD, LATENT_BACKWARD,
            BERNOULLI, GAUSSIAN, GAUSSIAN_DLOGVAR, SIGMOID,
            BIAS_ACT, ACT_BACKWARD, BIAS_ACT_BACKWARD, COLUMN_SUM,
            ADAM, ADAM_GUARDED, STEP_GUARD, SELECT_F64, GATHER, BATCH_INDEX,
            SUM_F32, SUM_F64, SUM_I32, SUM_U8,
            FILL_U64
            // autoencoder.cu
            , CORRUPT, SPARSITY_FORWARD, SPARSITY_FINISH, SPARSITY_BACKWARD

            // iwae.cu
            , IWAE_WEIGHTS, IWAE_DLOGVAR, IWAE_SCALE_ROWS, IWAE_LATENT_BACKWARD

            // classify.cu
            , SOFTMAX_XENT, UNLABELLED_BOUND, SCALE_ROWS, LATENT_BACKWARD_ROWS

            // rbm.cu
            , RBM_GIBBS, RBM_FREE_ENERGY

            // fvbm.cu
            , FVBM_STATES, FVBM_MOMENTS, FVBM_GRAD

            // flow.cu
            , PLANAR_FORWARD, PLANAR_BACKWARD, PLANAR_PARTIALS, PLANAR_REDUCE
            , NICE_SPLIT, NICE_ADD, NICE_PRIOR_ROWS, NICE_PRIOR_DS, NICE_PRIOR_SAMPLE

            // conv.cu
            , IM2COL, COL2IM, CHANNELS_TRANSPOSE, CHANNEL_BIAS_ACT, CHANNEL_BIAS_ACT_BACKWARD
    );

    // ---- grid sizing ------------------------------------------------------------------------------

    /**
     * ceil(a / b) for positive {@code a} and {@code b}: the blocks that cover {@code a} items at {@code b} per
     * block.
     */
    public static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * Blocks for a grid-stride kernel over {@code work} items at {@code perBlock} items per block
     * pass: enough to cover the work once, at least 1, at most {@code maxBlocks} (the loop inside
     * the kernel covers the rest).
     */
    public static int blocks(long work, int perBlock, int maxBlocks) {
        if (work > Integer.MAX_VALUE) {
            // the kernels' grid-stride loops index elements in 32 bits (kernels/common.cuh, global_thread32)
            throw new IllegalArgumentException("a launch over " + work + " work items: at most 2^31-1 (32-bit element indices)");
        }
        long b = ceilDiv(Math.max(work, 1), perBlock);
        return (int) Math.max(1, Math.min(b, maxBlocks));
    }

    /** Smallest power of two >= n (n >= 1). */
    public static int nextPow2(int n) {
        if (n <= 1) return 1;
        return Integer.highestOneBit(n - 1) << 1;
    }

    /**
     * Lanes per row of {@code elbo4j_latent_forward_f32}: a row of Z elements touches at most
     * ceil(Z / 4) + 1 Philox blocks; the group is the next power of two, at most a warp.
     */
    public static int latentGroup(int latent) {
        return Math.min(32, nextPow2((int) ceilDiv(latent, 4) + 1));
    }

    /** Dynamic shared memory per step of the planar flow kernels: beta, softplus(w.u), m (doubles). */
    public static final int PLANAR_STEP_BYTES = 3 * Double.BYTES;

    /**
     * Lanes per row of the planar flow kernels: the smallest power of two giving each lane at most 4 of
     * the Z elements, at most a warp. A function of Z alone (it orders the dot products' sums).
     */
    public static int planarGroup(int latent) {
        return Math.min(32, nextPow2((int) ceilDiv(latent, 4)));
    }

    /** Blocks of a full reduction over n elements: a function of n alone, so the sum's bits are too. */
    public static int reduceBlocks(long n) {
        return blocks(n, 4 * BLOCK_REDUCE, REDUCE_MAX_BLOCKS);
    }

    /** Row chunks of a batch-dimension column sum (columns.cuh): at most this many. */
    public static final int MAX_COLUMN_CHUNKS = 64;
    /** ... each of at least this many rows (one chunk, and no second pass, up to this batch). */
    public static final int MIN_CHUNK_ROWS = 128;

    /**
     * Rows per chunk of a row-chunked column sum over {@code rows} rows: a function of the row count
     * alone (so the sums' bits are), a multiple of 32, at least {@link #MIN_CHUNK_ROWS}, and few
     * enough chunks that their partials stay small.
     */
    public static int columnChunkRows(int rows) {
        long perChunk = ceilDiv(Math.max(rows, 1), MAX_COLUMN_CHUNKS);
        return (int) Math.max(MIN_CHUNK_ROWS, ceilDiv(perChunk, 32) * 32);
    }

    /** Chunks of {@link #columnChunkRows}: 1 for an empty matrix. */
    public static int columnChunks(int rows) {
        return rows <= 0 ? 1 : (int) ceilDiv(rows, columnChunkRows(rows));
    }

    /**
     * Rows per block of a likelihood launch over {@code rows} rows: a function of the row count alone,
     * so the learned-variance column sums are added in the same order on every run.
     */
    public static int rowsPerBlock(int rows) {
        int blocks = Math.max(1, Math.min(rows, MAX_ROW_BLOCKS));
        return (int) ceilDiv(Math.max(rows, 1), blocks);
    }
}
