package dev.elbo4j.export;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
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
 * z [N, Z] to {@code mean} [N, D].</li>
 * <li>Autoencoder: {@code encoder.onnx} x to {@code code} [N, Z] (after the code layer's
 * activation: the sigmoid for a sparse one); {@code decoder.onnx} code to
 * {@code reconstruction} [N, D] (the sigmoid of the logits for the Bernoulli loss, the
 * values themselves for MSE). A tied decoder's layers use the encoder's weights, transposed.</li>
 * <li>CVAE: as the VAE, each graph with a second input {@code y} [N, C], the one-hot label as
 * floats, which joins the first dense layer ({@code y U^T} added to {@code x W^T + b}).</li>
 * <li>M2: the CVAE's two graphs and {@code classifier.onnx}, x to {@code logits} [N, C] and
 * {@code probs} [N, C], their softmax: q(y|x).</li>
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

    /** The graphs of {@code cfg}'s model by file name, in the order they are written; {@code weights} by parameter name. */
    public static Map<String, byte[]> graphs(ModelConfig cfg, Function<String, float[]> weights) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        switch (cfg) {
            case VaeConfig v -> {
                m.put("encoder.onnx", gaussianEncoder(v, v.inputDim(), v.latent(), v.conv(), weights));
                m.put("decoder.onnx", decoder(v, "z", v.latent(), v.inputDim(), v.conv(), bernoulli(v.likelihood()), "mean", weights));
            }
            case AutoencoderConfig a -> {
                m.put("encoder.onnx", codeEncoder(a, weights));
                m.put("decoder.onnx", decoder(a, "code", a.latent(), a.inputDim(), a.conv(),
                        a.reconstruction() == AutoencoderConfig.Reconstruction.BERNOULLI, "reconstruction", weights));
            }
            case CvaeConfig c -> {
                m.put("encoder.onnx", gaussianEncoder(c, c.inputDim(), c.latent(), c.conv(), weights));
                m.put("decoder.onnx", decoder(c, "z", c.latent(), c.inputDim(), c.conv(), bernoulli(c.likelihood()), "mean", weights));
            }
            case M2Config c -> {
                m.put("classifier.onnx", classifier(c, weights));
                m.put("encoder.onnx", gaussianEncoder(c, c.inputDim(), c.latent(), null, weights));
                m.put("decoder.onnx", decoder(c, "z", c.latent(), c.inputDim(), null, bernoulli(c.likelihood()), "mean", weights));
            }
            default -> throw new IllegalArgumentException("no ONNX graphs for a '" + cfg.type() + "' model");
        }
        return m;
    }

    private static boolean bernoulli(Likelihood l) {
        return l.kind() == Likelihood.Kind.BERNOULLI;
    }

    /** x (and, conditional, y) to {@code mu} and {@code logvar}, the last layer's two row blocks. */
    private static byte[] gaussianEncoder(ModelConfig cfg, int inputDim, int latent, ConvLayout conv, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_encoder", weights);
        Networks.Parts net = Networks.encoder(cfg);
        String label = inputs(g, net, "x", inputDim);
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
        inputs(g, net, "x", cfg.inputDim());
        String h = g.dense(net.dense(), g.front(net, cfg.conv(), "x"), null);
        g.node("Identity", "code", new String[] {h}, "code");
        g.output("code", cfg.latent());
        return g.model();
    }

    /** {@code in} (and, conditional, y) to {@code out}: the sigmoid of the logits where {@code sigmoid}, else the output itself. */
    private static byte[] decoder(ModelConfig cfg, String in, int latent, int inputDim, ConvLayout conv, boolean sigmoid, String out,
                                  Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_decoder", weights);
        Networks.Parts net = Networks.decoder(cfg);
        String label = inputs(g, net, in, latent);
        String h = g.back(net, conv, g.dense(net.dense(), in, label));
        g.node(sigmoid ? "Sigmoid" : "Identity", out, new String[] {h}, out);
        g.output(out, inputDim);
        return g.model();
    }

    /** M2's x to {@code logits} and their softmax {@code probs}. */
    private static byte[] classifier(M2Config cfg, Function<String, float[]> weights) {
        OnnxGraph g = new OnnxGraph("elbo4j_classifier", weights);
        Networks.Parts net = Networks.classifier(cfg);
        g.input("x", cfg.inputDim());
        String h = g.dense(net.dense(), "x", null);
        g.node("Identity", "logits", new String[] {h}, "logits");
        g.softmax("logits", "probs");
        g.output("logits", cfg.classes());
        g.output("probs", cfg.classes());
        return g.model();
    }

    /** Declares {@code in} [N, width] and, for a conditional network, {@code y} [N, C]; returns "y" or null. */
    private static String inputs(OnnxGraph g, Networks.Parts net, String in, int width) {
        g.input(in, width);
        if (net.classes() == 0) return null;
        g.input("y", net.classes());
        return "y";
    }
}
