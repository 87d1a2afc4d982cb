package dev.elbo4j.export;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.FvbmConfig;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Nice;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.PlanarPosterior;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConvLayout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * ONNX graphs (IR version 8, opset 13, float32, a symbolic batch dimension N) of a model's
 * networks, built with {@link OnnxGraph} from the layers the model itself builds
 * ({@link Networks}). Per family (docs/EXPORT.md):
 * <ul>
 * <li>VAE: {@code encoder.onnx} x [N, D] to {@code mu}, {@code logvar} [N, Z]; {@code decoder.onnx}
 * z [N, Z] to {@code mean} [N, D]; with a planar flow also {@code flow.onnx}, z0 [N, Z] to
 * {@code zK} [N, Z] and {@code log_det} [N, 1] ({@link #planarFlow}).</li>
 * <li>Autoencoder: {@code encoder.onnx} x to {@code code} [N, Z] (after the code layer's
 * activation: the sigmoid for a sparse one); {@code decoder.onnx} code to
 * {@code reconstruction} [N, D] (the sigmoid of the logits for the Bernoulli loss, the
 * values themselves for MSE). A tied decoder's layers use the encoder's weights, transposed.</li>
 * <li>CVAE: as the VAE, each graph with a second input {@code y} [N, C], the one-hot label as
 * floats, which joins the first dense layer ({@code y U^T} added to {@code x W^T + b}); with
 * {@link Labels#INDEX}, y is int64 [N], the class indices, made one-hot inside the graph
 * ({@link OnnxGraph#oneHot}).</li>
 * <li>M2: the CVAE's two graphs and {@code classifier.onnx}, x to {@code logits} [N, C] and
 * {@code probs} [N, C], their softmax: q(y|x).</li>
 * <li>NICE: {@code forward.onnx}, x [N, D] (dequantized, in [0, 1]) to {@code z} [N, D] and
 * {@code log_px} [N, 1]; {@code inverse.onnx}, z to {@code x} ({@link #niceForward}).</li>
 * <li>RBM: {@code hidden.onnx}, v [N, V] to {@code p_h} [N, H] and {@code free_energy} [N, 1];
 * {@code visible.onnx}, h [N, H] to {@code p_v} [N, V] ({@link #rbmHidden}); {@code gibbs.onnx},
 * one Gibbs sweep with the caller's uniforms ({@link #gibbs}).</li>
 * <li>DBN: {@code up.onnx}, v [N, D] to every layer's mean-field features {@code p_h0},
 * {@code p_h1}, ... [N, H_l]; {@code down.onnx}, the top features h [N, H_top] to {@code p_v}
 * [N, D] ({@link #dbnUp}); {@code gibbs.onnx}, a Gibbs sweep of the top RBM ({@link #gibbs}).</li>
 * <li>FVBM: {@code conditionals.onnx}, v [N, d] to {@code p} [N, d], p(v_i = 1 | v_-i) for every
 * i; {@code energy.onnx}, v to {@code energy} [N, 1] ({@link #fvbmConditionals}).</li>
 * </ul>
 * Each dense layer is a {@code Gemm} (transB = 1 for weights [out, in] as stored; 0 for a tied
 * layer's borrowed [in, out]) with its bias, a conditional layer's label term a second
 * {@code Gemm} taking the first's output as C, then the activation ({@code Relu}, {@code Tanh},
 * {@code Sigmoid}, or none). The Gaussian encoders' last layer holds mu and log sigma^2 as two
 * row blocks of its weight: the graph writes it as two {@code Gemm}s over them. Conv fronts and
 * transposed-conv backs are {@link OnnxGraph#front} and {@link OnnxGraph#back}.
 */
public final class Onnx {
    private Onnx() {
    }

    /** How the label-taking graphs (CVAE, M2) read the label y. */
    public enum Labels {
        /** float32 [N, C], the one-hot encoding (or any soft labels). */
        ONE_HOT,
        /** int64 [N], the class indices; a label outside 0..C-1 gives a zero row, as if no class were given. */
        INDEX
    }

    /** The graphs of {@code cfg}'s model with one-hot label inputs; see {@link #graphs(ModelConfig, Function, Labels)}. */
    public static Map<String, byte[]> graphs(ModelConfig cfg, Function<String, float[]> weights) {
        return graphs(cfg, weights, Labels.ONE_HOT);
    }

    /**
     * The graphs of {@code cfg}'s model by file name, in the order they are written; {@code weights}
     * by parameter name; {@code labels} the form of the label input y, where a graph takes one.
     */
    public static Map<String, byte[]> graphs(ModelConfig cfg, Function<String, float[]> weights, Labels labels) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        switch (cfg) {
            case VaeConfig v -> {
                m.put("encoder.onnx", gaussianEncoder(v, v.inputDim(), v.latent(), v.conv(), labels, weights));
                if (v.hasFlow()) m.put("flow.onnx", planarFlow(v, weights));
                m.put("decoder.onnx", decoder(v, "z", v.latent(), v.inputDim(), v.conv(), bernoulli(v.likelihood()), "mean", labels, weights));
            }
            case AutoencoderConfig a -> {
                m.put("encoder.onnx", codeEncoder(a, weights));
                m.put("decoder.onnx", decoder(a, "code", a.latent(), a.inputDim(), a.conv(),
                        a.reconstruction() == AutoencoderConfig.Reconstruction.BERNOULLI, "reconstruction", Labels.ONE_HOT, weights));
            }
            case CvaeConfig c -> {
                m.put("encoder.onnx", gaussianEncoder(c, c.inputDim(), c.latent(), c.conv(), labels, weights));
                m.put("decoder.onnx", decoder(c, "z", c.latent(), c.inputDim(), c.conv(), bernoulli(c.likelihood()), "mean", labels, weights));
            }
            case M2Config c -> {
                m.put("classifier.onnx", classifier(c, weights));
                m.put("encoder.onnx", gaussianEncoder(c, c.inputDim(), c.latent(), c.conv(), labels, weights));
                m.put("decoder.onnx", decoder(c, "z", c.latent(), c.inputDim(), c.conv(), bernoulli(c.likelihood()), "mean", labels, weights));
            }
            case NiceConfig n -> {
                m.put("forward.onnx", niceForward(n, weights));
                m.put("inverse.onnx", niceInverse(n, weights));
            }
            case RbmConfig r -> {
                m.put("hidden.onnx", rbmHidden(r, weights));
                m.put("visible.onnx", rbmVisible(r, weights));
                m.put("gibbs.onnx", gibbs("", r.inputDim(), r.hidden(), weights));
            }
            case DbnConfig d -> {
                m.put("up.onnx", dbnUp(d, weights));
                m.put("down.onnx", dbnDown(d, weights));
                int top = d.layers() - 1;
                m.put("gibbs.onnx", gibbs(Networks.dbnPrefix(top), d.visibleOf(top), d.hidden()[top], weights));
            }
            case FvbmConfig f -> {
                m.put("conditionals.onnx", fvbmConditionals(f, weights));
                m.put("energy.onnx", fvbmEnergy(f, weights));
            }
            default -> throw new IllegalArgumentException("no ONNX graphs for a '" + cfg.type() + "' model");
        }
        return m;
    }

    private static boolean bernoulli(Likelihood l) {
        return l.kind() == Likelihood.Kind.BERNOULLI;
    }

    /** x (and, conditional, y) to {@code mu} and {@code logvar}, the last layer's two row blocks. */
    private static byte[] gaussianEncoder(ModelConfig cfg, int inputDim, int latent, ConvLayout conv, Labels labels,
                                          Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_encoder", weights);
        Networks.Parts net = Networks.encoder(cfg);
        String label = inputs(g, net, "x", inputDim, labels);
        List<Networks.Dense> dense = net.dense();
        String h = g.dense(dense.subList(0, dense.size() - 1), g.front(net, conv, "x"), label);
        Networks.Dense last = dense.getLast();
        g.dense(last, h, label, 0, latent, "mu");
        g.dense(last, h, label, latent, 2 * latent, "logvar");
        g.output("mu", latent);
        g.output("logvar", latent);
        return g.model();
    }

    /** The autoencoder's x to {@code code}. */
    private static byte[] codeEncoder(AutoencoderConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_encoder", weights);
        Networks.Parts net = Networks.encoder(cfg);
        inputs(g, net, "x", cfg.inputDim(), Labels.ONE_HOT);
        String h = g.dense(net.dense(), g.front(net, cfg.conv(), "x"), null);
        g.node("Identity", "code", new String[] {h}, "code");
        g.output("code", cfg.latent());
        return g.model();
    }

    /** {@code in} (and, conditional, y) to {@code out}: the sigmoid of the logits where {@code sigmoid}, else the output itself. */
    private static byte[] decoder(ModelConfig cfg, String in, int latent, int inputDim, ConvLayout conv, boolean sigmoid, String out,
                                  Labels labels, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_decoder", weights);
        Networks.Parts net = Networks.decoder(cfg);
        String label = inputs(g, net, in, latent, labels);
        String h = g.back(net, conv, g.dense(net.dense(), in, label));
        g.node(sigmoid ? "Sigmoid" : "Identity", out, new String[] {h}, out);
        g.output(out, inputDim);
        return g.model();
    }

    /** M2's x to {@code logits} and their softmax {@code probs} (through the classifier's own conv layers, where it has them). */
    private static byte[] classifier(M2Config cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_classifier", weights);
        Networks.Parts net = Networks.classifier(cfg);
        g.input("x", cfg.inputDim());
        String h = g.dense(net.dense(), g.front(net, cfg.conv(), "x"), null);
        g.node("Identity", "logits", new String[] {h}, "logits");
        g.softmax("logits", "probs");
        g.output("logits", cfg.classes());
        g.output("probs", cfg.classes());
        return g.model();
    }

    /**
     * NICE's x to {@code z} = f(x) and {@code log_px}, as {@link Nice} computes them: a
     * {@code Gather} of the even columns (0, 2, ...) and of the odd ones; coupling i adds its
     * shift MLP of one half to the other ({@code Add}; even i: odd += m_i(even), odd i: the
     * reverse); each half times exp(s) ({@code Mul}); the halves' {@code Concat} back in pixel
     * order by a {@code Gather}. log p(x) = sum_d log p_H(z_d) + sum_d s_d, the logistic prior's
     * -softplus(z) - softplus(-z) or the normal's -z^2/2 - log(2 pi)/2, summed per row
     * ({@code ReduceSum}) and added to the constant sum s (and -D log(2 pi)/2).
     */
    private static byte[] niceForward(NiceConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_nice_forward", weights);
        g.input("x", cfg.inputDim());
        String[] half = {g.columns("x.even", "x", halfColumns(cfg, 0)), g.columns("x.odd", "x", halfColumns(cfg, 1))};
        for (int i = 0; i < cfg.couplings(); i++) {
            String shift = g.dense(Networks.coupling(cfg, i), half[i % 2], null);
            half[1 - i % 2] = g.op("Add", "coupling." + i + ".sum", half[1 - i % 2], shift);
        }
        float[] s = concat(g.weights(Nice.SCALE_EVEN), g.weights(Nice.SCALE_ODD));
        String zHalves = g.concat("z.halves", g.op("Mul", "z.even", half[0], scale(g, "scale.even.exp", g.weights(Nice.SCALE_EVEN), 1)),
                g.op("Mul", "z.odd", half[1], scale(g, "scale.odd.exp", g.weights(Nice.SCALE_ODD), 1)));
        g.columns("z", zHalves, pixelOrder(cfg));
        double logDet = 0;
        for (float v : s) logDet += v;
        String minusPrior;
        if (cfg.logistic()) {
            String both = g.op("Add", "prior.softplus", g.op("Softplus", "prior.softplus.z", zHalves),
                    g.op("Softplus", "prior.softplus.minus_z", g.op("Neg", "prior.minus_z", zHalves)));
            minusPrior = g.rowSum(both, "prior.minus_log");
        } else {
            String sq = g.rowSum(g.op("Mul", "prior.z2", zHalves, zHalves), "prior.sum_z2");
            minusPrior = g.op("Mul", "prior.minus_log", sq, g.constant("prior.half", new long[] {1}, new float[] {0.5f}));
            logDet -= cfg.inputDim() * 0.5 * Math.log(2 * Math.PI);
        }
        g.op("Sub", "log_px", g.constant("log_det", new long[] {1}, new float[] {(float) logDet}), minusPrior);
        g.output("z", cfg.inputDim());
        g.output("log_px", 1);
        return g.model();
    }

    /**
     * NICE's z to {@code x} = f^{-1}(z), {@link Nice#inverse}: the halves of z times exp(-s), the
     * couplings from last to first with their shifts subtracted ({@code Sub}), back in pixel order.
     */
    private static byte[] niceInverse(NiceConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_nice_inverse", weights);
        g.input("z", cfg.inputDim());
        String[] half = {
                g.op("Mul", "h.even", g.columns("z.even", "z", halfColumns(cfg, 0)), scale(g, "scale.even.exp_minus", g.weights(Nice.SCALE_EVEN), -1)),
                g.op("Mul", "h.odd", g.columns("z.odd", "z", halfColumns(cfg, 1)), scale(g, "scale.odd.exp_minus", g.weights(Nice.SCALE_ODD), -1))};
        for (int i = cfg.couplings() - 1; i >= 0; i--) {
            String shift = g.dense(Networks.coupling(cfg, i), half[i % 2], null);
            half[1 - i % 2] = g.op("Sub", "coupling." + i + ".difference", half[1 - i % 2], shift);
        }
        g.columns("x", g.concat("x.halves", half[0], half[1]), pixelOrder(cfg));
        g.output("x", cfg.inputDim());
        return g.model();
    }

    /** The pixel columns of the even (parity 0) or odd half. */
    private static int[] halfColumns(NiceConfig cfg, int parity) {
        int[] c = new int[parity == 0 ? cfg.evenDim() : cfg.oddDim()];
        for (int i = 0; i < c.length; i++) c[i] = 2 * i + parity;
        return c;
    }

    /** Where pixel c lies in [even half, odd half]. */
    private static int[] pixelOrder(NiceConfig cfg) {
        int[] p = new int[cfg.inputDim()];
        for (int c = 0; c < p.length; c++) p[c] = c % 2 == 0 ? c / 2 : cfg.evenDim() + c / 2;
        return p;
    }

    /** exp(sign * s) as a constant. */
    private static String scale(OnnxGraph g, String name, float[] s, int sign) {
        float[] e = new float[s.length];
        for (int i = 0; i < s.length; i++) e[i] = (float) Math.exp(sign * (double) s[i]);
        return g.constant(name, new long[] {s.length}, e);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /**
     * The RBM's v to {@code p_h} = sigmoid(v W + c) and the free energy {@code free_energy} =
     * -v b - sum_j softplus(v W + c)_j: a {@code Gemm} with W as stored [V, H], the
     * {@code Sigmoid}; a {@code MatMul} of v by b [V, 1], {@code Softplus}, {@code ReduceSum},
     * {@code Add} and {@code Neg}.
     */
    private static byte[] rbmHidden(RbmConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_rbm_hidden", weights);
        g.input("v", cfg.inputDim());
        String act = g.dense(Networks.rbmHidden(cfg), "v", null, 0, cfg.hidden(), "hidden.act");
        g.activation(act, "p_h", Activation.SIGMOID);
        String vb = g.op("MatMul", "free_energy.visible", "v",
                g.constant("visible_bias.column", new long[] {cfg.inputDim(), 1}, g.weights("visible_bias")));
        String sp = g.rowSum(g.op("Softplus", "free_energy.softplus", act), "free_energy.hidden");
        g.op("Neg", "free_energy", g.op("Add", "free_energy.minus", vb, sp));
        g.output("p_h", cfg.hidden());
        g.output("free_energy", 1);
        return g.model();
    }

    /** The RBM's h to {@code p_v} = sigmoid(h W^T + b): a {@code Gemm} (transB = 1) and the {@code Sigmoid}. */
    private static byte[] rbmVisible(RbmConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_rbm_visible", weights);
        g.input("h", cfg.hidden());
        String act = g.dense(Networks.rbmVisible(cfg), "h", null, 0, cfg.inputDim(), "visible.act");
        g.activation(act, "p_v", Activation.SIGMOID);
        g.output("p_v", cfg.inputDim());
        return g.model();
    }

    /**
     * One sweep of block Gibbs sampling in the RBM whose parameters start with {@code prefix} (the
     * DBN's top layer, {@code layer<top>.}), with the uniforms as inputs, as elbo4j's
     * {@code Backend.rbmGibbsHalf} draws its units: v [N, V], u_h [N, H] and u_v [N, V] to
     * {@code h} = (u_h &lt; sigmoid(v W + c)), {@code p_v} = sigmoid(h W^T + b) and {@code v_next}
     * = (u_v &lt; p_v), the samples as float32 0 / 1 ({@code Less}, {@code Cast}).
     */
    private static byte[] gibbs(String prefix, int vis, int hid, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_rbm_gibbs", weights);
        g.input("v", vis);
        g.input("u_h", hid);
        g.input("u_v", vis);
        String act = g.dense(Networks.rbmHidden(prefix, vis, hid), "v", null, 0, hid, prefix + "hidden.act");
        g.bernoulli("u_h", g.activation(act, "p_h", Activation.SIGMOID), "h");
        String va = g.dense(Networks.rbmVisible(prefix, vis, hid), "h", null, 0, vis, prefix + "visible.act");
        g.bernoulli("u_v", g.activation(va, "p_v", Activation.SIGMOID), "v_next");
        g.output("h", hid);
        g.output("p_v", vis);
        g.output("v_next", vis);
        return g.model();
    }

    /**
     * The DBN's up pass, as {@link dev.elbo4j.model.Dbn} computes its features: v to
     * {@code p_h0} = sigmoid(v W_0 + c_0), then each layer l on the one below's probabilities
     * (mean field, no samples), {@code p_hl} = sigmoid(p_h(l-1) W_l + c_l); every layer's output
     * is a graph output, the last the top RBM's features.
     */
    private static byte[] dbnUp(DbnConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_dbn_up", weights);
        g.input("v", cfg.inputDim());
        String h = "v";
        for (int l = 0; l < cfg.layers(); l++) {
            String p = Networks.dbnPrefix(l);
            String act = g.dense(Networks.rbmHidden(p, cfg.visibleOf(l), cfg.hidden()[l]), h, null, 0, cfg.hidden()[l], p + "hidden.act");
            h = g.activation(act, "p_h" + l, Activation.SIGMOID);
        }
        for (int l = 0; l < cfg.layers(); l++) g.output("p_h" + l, cfg.hidden()[l]);
        return g.model();
    }

    /**
     * The DBN's mean-field down pass from the top layer's hidden units h: each layer from the top
     * down sigmoid(h W_l^T + b_l), the bottom one's {@code p_v}; after {@link #dbnUp} it is
     * {@link dev.elbo4j.model.Dbn#reconstruct}.
     */
    private static byte[] dbnDown(DbnConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_dbn_down", weights);
        int top = cfg.layers() - 1;
        g.input("h", cfg.hidden()[top]);
        String h = "h";
        for (int l = top; l >= 0; l--) {
            String p = Networks.dbnPrefix(l);
            String act = g.dense(Networks.rbmVisible(p, cfg.visibleOf(l), cfg.hidden()[l]), h, null, 0, cfg.visibleOf(l), p + "visible.act");
            h = g.activation(act, l == 0 ? "p_v" : p + "visible.prob", Activation.SIGMOID);
        }
        g.output("p_v", cfg.inputDim());
        return g.model();
    }

    /**
     * Declares {@code in} [N, width] and, for a conditional network, {@code y}: float [N, C], or
     * int64 [N] made one-hot in the graph; returns the one-hot label's name, or null.
     */
    private static String inputs(OnnxGraph g, Networks.Parts net, String in, int width, Labels labels) {
        g.input(in, width);
        if (net.classes() == 0) return null;
        if (labels == Labels.INDEX) {
            g.indexInput("y");
            return g.oneHot("y", net.classes(), "y.one_hot");
        }
        g.input("y", net.classes());
        return "y";
    }

    /**
     * The planar flow of a VAE's posterior, z0 to {@code zK} = f_K(...f_1(z0)) and {@code log_det}
     * = sum_k log|det df_k/dz|, as {@code Backend.planarForward} computes them (docs/FLOWS.md): per
     * step k a {@code MatMul} of z by w_k [Z, 1] and an {@code Add} of b_k give a = w_k . z + b_k,
     * t = {@code Tanh}(a), z + t u_hat_k ({@code Mul}, {@code Add}; u_hat_k precomputed from u_k
     * and w_k in double, stored in float32), and log|det_k| = {@code Log}(t^2 + (1 - t^2)
     * softplus(w_k . u_k)), the constant softplus precomputed likewise; the steps' log-dets summed.
     */
    private static byte[] planarFlow(VaeConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_planar_flow", weights);
        int z = cfg.latent(), k = cfg.flowSteps();
        float[] w = g.weights(PlanarPosterior.W), b = g.weights(PlanarPosterior.B);
        double[] uD = toDouble(g.weights(PlanarPosterior.U)), wD = toDouble(w);
        if (uD.length != k * z || wD.length != k * z || b.length != k) {
            throw new IllegalArgumentException("flow.u / flow.w / flow.b: " + uD.length + " / " + wD.length + " / " + b.length
                    + " values, expected " + k + "x" + z + " / " + k + "x" + z + " / " + k);
        }
        double[] uHat = PlanarPosterior.uHat(uD, wD, k), sp = PlanarPosterior.softplusWu(uD, wD, k);
        g.input("z0", z);
        String h = "z0", logDet = null;
        String one = g.constant("flow.one", new long[] {1}, new float[] {1});
        for (int s = 0; s < k; s++) {
            String p = "flow." + s + ".";
            String wk = g.constant(p + "w", new long[] {z, 1}, java.util.Arrays.copyOfRange(w, s * z, (s + 1) * z));
            String a = g.op("Add", p + "a", g.op("MatMul", p + "wz", h, wk), g.constant(p + "b", new long[] {1}, new float[] {b[s]}));
            String t = g.op("Tanh", p + "t", a);
            float[] uh = new float[z];
            for (int j = 0; j < z; j++) uh[j] = (float) uHat[s * z + j];
            h = g.op("Add", s == k - 1 ? "zK" : p + "z", h, g.op("Mul", p + "shift", t, g.constant(p + "u_hat", new long[] {1, z}, uh)));
            String t2 = g.op("Mul", p + "t2", t, t);
            String det = g.op("Add", p + "det", t2, g.op("Mul", p + "det.rest", g.op("Sub", p + "one_minus_t2", one, t2),
                    g.constant(p + "softplus_wu", new long[] {1}, new float[] {(float) sp[s]})));
            String ld = g.op("Log", s == k - 1 && k == 1 ? "log_det" : p + "log_det", det);
            logDet = logDet == null ? ld : g.op("Add", s == k - 1 ? "log_det" : p + "log_det.sum", logDet, ld);
        }
        g.output("zK", z);
        g.output("log_det", 1);
        return g.model();
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /**
     * The FVBM's symmetric couplings S = (W + W^T) / 2 with a zero diagonal, as
     * {@link dev.elbo4j.model.Fvbm} reads its {@code weight} (d x d, row-major), in float32.
     */
    private static float[] fvbmCouplings(FvbmConfig cfg, Function<String, float[]> weights) {
        int d = cfg.inputDim();
        float[] w = weights.apply("weight");
        if (w.length != d * d) throw new IllegalArgumentException("weight: " + w.length + " values, expected " + d + "x" + d);
        float[] s = new float[d * d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) if (i != j) s[i * d + j] = (float) (((double) w[i * d + j] + w[j * d + i]) / 2);
        return s;
    }

    /**
     * The FVBM's v to {@code p}, p(v_i = 1 | v_-i) = sigmoid(b_i + sum_j S_ij v_j) for every i (S
     * has a zero diagonal, so p_i does not read v_i): a {@code MatMul} of v by S, an {@code Add}
     * of b and the {@code Sigmoid}.
     */
    private static byte[] fvbmConditionals(FvbmConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_fvbm_conditionals", weights);
        int d = cfg.inputDim();
        g.input("v", d);
        String s = g.constant("couplings", new long[] {d, d}, fvbmCouplings(cfg, weights));
        String act = g.op("Add", "conditionals.act", g.op("MatMul", "conditionals.vs", "v", s),
                g.constant("visible_bias", new long[] {d}, g.weights("visible_bias")));
        g.activation(act, "p", Activation.SIGMOID);
        g.output("p", d);
        return g.model();
    }

    /**
     * The FVBM's v to {@code energy} E(v) = -(b . v + v^T S v / 2) = -b . v - sum_{i<j} S_ij v_i v_j,
     * so log p(v) = -E(v) - log Z: a {@code MatMul} of v by b [d, 1], of v by S, the
     * {@code Mul} by v, {@code ReduceSum}, the half, {@code Add} and {@code Neg}.
     */
    private static byte[] fvbmEnergy(FvbmConfig cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_fvbm_energy", weights);
        int d = cfg.inputDim();
        g.input("v", d);
        String vb = g.op("MatMul", "energy.bias", "v", g.constant("visible_bias.column", new long[] {d, 1}, g.weights("visible_bias")));
        String vs = g.op("MatMul", "energy.vs", "v", g.constant("couplings", new long[] {d, d}, fvbmCouplings(cfg, weights)));
        String pair = g.op("Mul", "energy.pairs", g.rowSum(g.op("Mul", "energy.vsv", vs, "v"), "energy.quadratic"),
                g.constant("energy.half", new long[] {1}, new float[] {0.5f}));
        g.op("Neg", "energy", g.op("Add", "energy.minus", vb, pair));
        g.output("energy", 1);
        return g.model();
    }
}
