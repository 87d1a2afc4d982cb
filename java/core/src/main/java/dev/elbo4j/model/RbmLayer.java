package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * One binary RBM inside a model's flat parameter buffer: weight W (V x H, named
 * {@code <prefix>weight}), visible bias b (V, {@code <prefix>visible_bias}) and hidden bias c (H,
 * {@code <prefix>hidden_bias}), with the energy E(v, h) = -b^T v - c^T h - v^T W h. Used alone by
 * {@link Rbm} and stacked by {@link Dbn}; {@link dev.elbo4j.eval.Ais} estimates its partition function.
 *
 * <p>Random numbers: the i-th Gibbs half-sweep of an operation that takes {@code key} draws from
 * {@link #subKey(RngKey, int) subKey(key, i)}, element r * cols + c of the half-sweep's R x C output.
 */
public final class RbmLayer {
    /** Initial weights are uniform in [-INIT_BOUND, INIT_BOUND]: std 0.0115, near the 0.01 of Hinton's guide. */
    public static final double INIT_BOUND = 0.02;
    private static final long MIX = 0x9E3779B97F4A7C15L;

    private final Backend backend;
    private final DType dtype;
    private final Parameters params;
    private final String prefix;
    private final int vis, hid;

    /** The layer {@code prefix} of {@code params}, declared by {@link #declare} with the same sizes. */
    public RbmLayer(Parameters params, DType dtype, String prefix, int vis, int hid) {
        this.backend = params.backend();
        this.dtype = dtype;
        this.params = params;
        this.prefix = prefix;
        this.vis = vis;
        this.hid = hid;
        Shape w = params.value(prefix + "weight").shape();
        if (w.size() != vis * hid) throw new IllegalArgumentException(prefix + "weight is " + w + ", expected " + vis + " x " + hid);
    }

    /** Declares W (zero-mean uniform, bound {@link #INIT_BOUND}) and the two biases (0). */
    public static void declare(Parameters.Builder pb, String prefix, int vis, int hid) {
        if (vis < 1 || hid < 1) throw new IllegalArgumentException("an RBM needs >= 1 visible and hidden units, got " + vis + " x " + hid);
        pb.add(prefix + "weight", Shape.of(vis, hid), Parameters.Init.uniform(INIT_BOUND));
        pb.add(prefix + "visible_bias", Shape.of(vis), Parameters.Init.constant(0));
        pb.add(prefix + "hidden_bias", Shape.of(hid), Parameters.Init.constant(0));
    }

    /**
     * The key of Gibbs half-sweep {@code i} (i >= 0) under {@code key}: the same stream and step,
     * seed + (i + 1) * 0x9E3779B97F4A7C15 (a distinct Philox key per half-sweep).
     */
    public static RngKey subKey(RngKey key, int i) {
        return new RngKey(key.seed() + (i + 1L) * MIX, key.stream(), key.step());
    }

    /** V, the visible units. */
    public int visible() {
        return vis;
    }

    /** H, the hidden units. */
    public int hidden() {
        return hid;
    }

    /** The backend of the parameters. */
    public Backend backend() {
        return backend;
    }

    /** The precision of the parameters and of the buffers this layer allocates. */
    public DType dtype() {
        return dtype;
    }

    /** W, V x H. */
    public Tensor weight() {
        return params.value(prefix + "weight");
    }

    /** b, V. */
    public Tensor visibleBias() {
        return params.value(prefix + "visible_bias");
    }

    /** c, H. */
    public Tensor hiddenBias() {
        return params.value(prefix + "hidden_bias");
    }

    /** out (R x H) = v W for v R x V. */
    public void hiddenAct(Tensor v, Tensor out) {
        backend.gemm(false, false, 1, v, weight(), 0, out);
    }

    /** out (R x V) = h W^T for h R x H. */
    public void visibleAct(Tensor h, Tensor out) {
        backend.gemm(false, true, 1, h, weight(), 0, out);
    }

    /** p(h = 1 | v) = sigmoid(c + W^T v) for v R x V, into prob (R x H); {@code act} (R x H) is scratch. */
    public void hiddenProbs(Tensor v, Tensor act, Tensor prob) {
        hiddenAct(v, act);
        backend.rbmGibbsHalf(act, hiddenBias(), 1, null, null, prob, null);
    }

    /** p(v = 1 | h) = sigmoid(b + W h) for h R x H, into prob (R x V); {@code act} (R x V) is scratch. */
    public void visibleProbs(Tensor h, Tensor act, Tensor prob) {
        visibleAct(h, act);
        backend.rbmGibbsHalf(act, visibleBias(), 1, null, null, prob, null);
    }

    /** F(v) per row of v (R x V) into out (R); {@code act} (R x H) is scratch. */
    public void freeEnergy(Tensor v, Tensor act, Tensor out) {
        hiddenAct(v, act);
        backend.rbmFreeEnergy(v, act, visibleBias(), hiddenBias(), 1, null, out);
    }

    /** Buffers for CD-k / PCD steps on up to {@code maxBatch} rows. */
    public Cd cd(int maxBatch) {
        return new Cd(maxBatch);
    }

    /**
     * Contrastive divergence: the CD-k (or persistent CD) estimate of the gradient of the mean
     * negative log-likelihood, written into the layer's parameter gradients:
     * <pre>
     *   dW = -(1/B) (v0^T p(h|v0) - vk^T p(h|vk)),  db = -(1/B) sum_r (v0 - vk),  dc = -(1/B) sum_r (p(h|v0) - p(h|vk))
     * </pre>
     * v0 the data, vk the binary visible state at the end of the chain: k full Gibbs sweeps that
     * start from h ~ p(h|v0) (CD) or from h ~ p(h|chain) with the persistent chains, which then hold
     * vk (PCD). Hidden statistics are probabilities, visible ones binary states (Hinton's guide).
     * Also the one-step mean-field reconstruction cross-entropy of each row,
     * rowLoss[r] = -sum_i log Bernoulli(v0[r, i]; sigmoid(b + W p(h|v0))_i).
     */
    public final class Cd implements AutoCloseable {
        private final int maxBatch;
        private final Tensor hAct, ph0, hs, vAct, vk, phk, ones, rowLoss, chain;
        private int chainRows;
        private int batch;

        private Cd(int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
            this.maxBatch = maxBatch;
            hAct = backend.alloc(dtype, maxBatch, hid);
            ph0 = backend.alloc(dtype, maxBatch, hid);
            hs = backend.alloc(dtype, maxBatch, hid);
            phk = backend.alloc(dtype, maxBatch, hid);
            vAct = backend.alloc(dtype, maxBatch, vis);
            vk = backend.alloc(dtype, maxBatch, vis);
            chain = backend.alloc(dtype, maxBatch, vis);
            ones = backend.alloc(dtype, 1, maxBatch);
            backend.fill(ones, 1);
            rowLoss = backend.alloc(dtype, maxBatch);
        }

        /** The persistent chains' visible states (maxBatch x V); valid after the first persistent step. */
        public Tensor chains() {
            return chain;
        }

        /** True once the persistent chains have been started (from the first batch's data). */
        public boolean chainsStarted() {
            return chainRows > 0;
        }

        /** True when the persistent chains have been started for at least {@code rows} rows (a step on as many rows leaves them so). */
        public boolean chainsCover(int rows) {
            return chainRows >= rows;
        }

        /**
         * The persistent chains started so far (rows x V, a view of {@link #chains()}; rows grows to
         * the largest batch seen), or null before the first persistent step: with the row count it
         * is the whole PCD state, what a checkpoint saves.
         */
        public Tensor startedChains() {
            return chainRows == 0 ? null : chain.rowSlice(0, chainRows);
        }

        /**
         * Puts back chains saved from {@link #startedChains()}: {@code shape} must be [R, V] with
         * 1 &lt;= R &lt;= maxBatch and every value 0 or 1 (the chains hold binary visible states).
         *
         * @throws IllegalArgumentException saying what does not fit
         */
        public void restoreChains(int[] shape, float[] values) {
            if (shape.length != 2 || shape[1] != vis || shape[0] < 1 || shape[0] > maxBatch) {
                throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " does not fit the persistent chains: "
                        + "expected [R, " + vis + "] with 1 <= R <= " + maxBatch + " (the batch size)");
            }
            if (values.length != shape[0] * shape[1]) {
                throw new IllegalArgumentException(values.length + " values for shape " + java.util.Arrays.toString(shape));
            }
            for (int i = 0; i < values.length; i++) {
                if (values[i] != 0 && values[i] != 1) {
                    throw new IllegalArgumentException("the chains hold binary states, but element " + i + " (row " + i / vis
                            + ", unit " + i % vis + ") is " + values[i]);
                }
            }
            backend.write(chain.rowSlice(0, shape[0]), values);
            chainRows = shape[0];
        }

        /**
         * One CD-k (persistent: PCD-k) gradient estimate on v0 (B x V, B &lt;= maxBatch) with the noise
         * of {@code key}; overwrites the layer's parameter gradients and {@link #rowLoss}. The
         * persistent chains start as copies of the first data rows they meet (chain r from the first
         * batch with more than r rows) and are never reset; chains beyond B rows of a smaller batch
         * stay as they are.
         */
        public void run(Tensor v0, RngKey key, int k, boolean persistent) {
            int b = v0.rows();
            if (b < 1 || b > maxBatch || v0.cols() != vis) {
                throw new IllegalArgumentException("input " + v0.shape() + " does not fit a CD step of up to " + maxBatch
                        + " rows of " + vis);
            }
            if (k < 1) throw new IllegalArgumentException("CD needs k >= 1 Gibbs steps, got " + k);
            batch = b;
            Tensor ha = hAct.rowSlice(0, b), p0 = ph0.rowSlice(0, b), h = hs.rowSlice(0, b), pk = phk.rowSlice(0, b);
            Tensor va = vAct.rowSlice(0, b), rl = rowLoss.view(0, b);
            Tensor v = persistent ? chain.rowSlice(0, b) : vk.rowSlice(0, b);
            hiddenAct(v0, ha);
            backend.rbmGibbsHalf(ha, hiddenBias(), 1, null, subKey(key, 0), p0, h);
            // Reconstruction figure: mean-field one step, logits b + W p(h|v0).
            visibleAct(p0, va);
            backend.rbmGibbsHalf(va, visibleBias(), 1, null, null, null, null);
            backend.likelihood(Likelihood.bernoulli(), va, v0, null, 1, rl, null, null);
            int half = 1;
            if (persistent) {
                if (b > chainRows) { // chains start as copies of the first data rows they meet
                    backend.copy(v0.rowSlice(chainRows, b - chainRows), chain.rowSlice(chainRows, b - chainRows));
                    chainRows = b;
                }
                hiddenAct(v, ha);
                backend.rbmGibbsHalf(ha, hiddenBias(), 1, null, subKey(key, half++), pk, h);
            }
            for (int t = 0; t < k; t++) {
                visibleAct(h, va);
                backend.rbmGibbsHalf(va, visibleBias(), 1, null, subKey(key, half++), null, v);
                hiddenAct(v, ha);
                backend.rbmGibbsHalf(ha, hiddenBias(), 1, null, subKey(key, half++), pk, h);
            }
            Tensor dW = params.grad(prefix + "weight"), db = params.grad(prefix + "visible_bias").view(0, 1, vis);
            Tensor dc = params.grad(prefix + "hidden_bias").view(0, 1, hid), o = ones.view(0, 1, b);
            double s = 1.0 / b;
            backend.gemm(true, false, -s, v0, p0, 0, dW);
            backend.gemm(true, false, s, v, pk, 1, dW);
            backend.gemm(false, false, -s, o, v0, 0, db);
            backend.gemm(false, false, s, o, v, 1, db);
            backend.gemm(false, false, -s, o, p0, 0, dc);
            backend.gemm(false, false, s, o, pk, 1, dc);
        }

        /** The last batch's reconstruction cross-entropy per row (nats). */
        public Tensor rowLoss() {
            return rowLoss.view(0, batch);
        }

        /** The last batch's rows. */
        public int batch() {
            return batch;
        }

        /**
         * Frees this step's buffers (its persistent chains included); the layer's parameters stay the model's.
         */
        @Override
        public void close() {
            for (Tensor t : new Tensor[]{hAct, ph0, hs, vAct, vk, phk, ones, rowLoss, chain}) t.close();
        }
    }

    /** Per-pixel log-odds of the mean intensity of {@code data} (clamped to [1e-3, 1 - 1e-3]), as doubles. */
    static double[] logOdds(dev.elbo4j.io.Dataset data, int dim) {
        if (data.dim() != dim) throw new IllegalArgumentException("data has " + data.dim() + " pixels, the model " + dim);
        if (data.n() == 0) throw new IllegalArgumentException("cannot initialise from an empty data set");
        double[] b = new double[dim];
        for (int i = 0; i < data.n(); i++) for (int d = 0; d < dim; d++) b[d] += data.pixel(i, d);
        for (int d = 0; d < dim; d++) {
            double p = Math.min(1 - 1e-3, Math.max(1e-3, b[d] / (255.0 * data.n())));
            b[d] = Math.log(p / (1 - p));
        }
        return b;
    }
}
