package dev.elbo4j.export;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.FvbmConfig;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.ConvTranspose2d;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A PyTorch module (Python source) that reproduces a model's networks from the exported weights:
 * {@code Elbo4jVae}, {@code Elbo4jAutoencoder}, {@code Elbo4jCvae} or {@code Elbo4jM2} (NICE's
 * is {@link TorchNice}, the RBM's and the DBN's {@link TorchRbm}). Its
 * {@code encoder}, {@code decoder} (and M2's {@code classifier}) hold their dense layers under "0",
 * "1", ... ({@code nn.Linear}; a conditional network's first layer a {@code ConditionalLinear}
 * with {@code weight}, {@code label_weight} and {@code bias}; a tied decoder's layers
 * {@code TiedLinear}s holding only their bias) and, for a conv model, an {@code nn.ModuleList}
 * {@code encoder.conv} of {@code nn.Conv2d} (before the dense layers) and {@code decoder.deconv}
 * of {@code nn.ConvTranspose2d} (after them), named as elbo4j names its layers, so the exported
 * safetensors file is the module's state dict. It reads the file with NumPy (no
 * {@code safetensors} package needed); {@code safetensors.torch.load_file} gives the same dict.
 */
public final class TorchModule {
    private TorchModule() {
    }

    /** The source of {@code model.py} for {@code cfg}; {@code image} is one example's shape. */
    public static String source(ModelConfig cfg, int[] image, double scaleMin, double scaleMax) {
        if (cfg instanceof NiceConfig n) return TorchNice.source(n, image);
        if (cfg instanceof RbmConfig r) return TorchRbm.source(r, image, scaleMin, scaleMax);
        if (cfg instanceof DbnConfig d) return TorchRbm.source(d, image, scaleMin, scaleMax);
        if (cfg instanceof FvbmConfig v) return TorchRbm.source(v, image, scaleMin, scaleMax);
        Networks.Parts enc = Networks.encoder(cfg), dec = Networks.decoder(cfg);
        Family f = family(cfg);
        ConvLayout conv = cfg.conv();
        String planes = "None";
        if (dec.back() != null) {
            ConvTranspose2d first = (ConvTranspose2d) dec.back().getFirst();
            planes = tuple(first.inChannels(), first.geometry().outHeight(), first.geometry().outWidth());
        }
        StringBuilder b = new StringBuilder();
        b.append("\"\"\"").append(String.format(Locale.ROOT, f.doc(), cfg, f.inputDim(), f.latent(), f.classes()))
                .append(String.format(Locale.ROOT, DATA_DOC, Arrays.toString(image)));
        if (!(cfg instanceof AutoencoderConfig)) {
            b.append(String.format(Locale.ROOT, GAUSSIAN_DOC, enc.dense().size() - 1, f.latent() - 1, f.latent(), 2 * f.latent() - 1));
        }
        b.append(CONV_DOC).append("\"\"\"\n");
        b.append(READER);
        b.append(String.format(Locale.ROOT, """
                ENCODER_SIZES = %s
                DECODER_SIZES = %s
                ENCODER_CONV = %s
                DECODER_DECONV = %s
                CONV_IMAGE = %s
                DECODER_PLANES = %s
                LATENT = %d
                CLASSES = %d
                INPUT_DIM = %d
                IMAGE_SHAPE = %s
                LIKELIHOOD = "%s"
                SCALE_MIN, SCALE_MAX = %s, %s
                ACTIVATION = %s
                """, sizes(enc.dense()), sizes(dec.dense()), convs(enc.front(), false), convs(dec.back(), true),
                conv == null ? "None" : tuple(conv.channels(), conv.height(), conv.width()), planes, f.latent(), f.classes(), f.inputDim(),
                Arrays.toString(image), f.likelihood(), Double.toString(scaleMin), Double.toString(scaleMax), activation(f.activation())));
        if (cfg instanceof AutoencoderConfig a) {
            b.append("CODE_ACTIVATION = ").append(a.codeActivation() == Activation.IDENTITY ? "None" : activation(a.codeActivation()))
                    .append("\nTIED = ").append(a.tied() ? "True" : "False").append('\n');
        }
        if (cfg instanceof M2Config m) {
            Networks.Parts cls = Networks.classifier(m);
            b.append("CLASSIFIER_SIZES = ").append(sizes(cls.dense())).append('\n');
            b.append("CLASSIFIER_CONV = ").append(convs(cls.front(), false)).append('\n');
        }
        if (cfg instanceof VaeConfig v) b.append("FLOW_STEPS = ").append(v.flowSteps()).append('\n');
        b.append(NETWORK);
        if (cfg instanceof VaeConfig) b.append(PLANAR_FLOW);
        b.append(f.module());
        return b.toString();
    }

    /** What the families differ in: the docstring's head, the sizes, and the top-level module. */
    private record Family(String doc, String module, int inputDim, int latent, int classes, String likelihood, Activation activation) {
    }

    private static Family family(ModelConfig cfg) {
        return switch (cfg) {
            case VaeConfig v -> new Family(VAE_DOC, VAE, v.inputDim(), v.latent(), 0, v.likelihood().id(), v.activation());
            case AutoencoderConfig a -> new Family(AE_DOC, AE, a.inputDim(), a.latent(), 0, a.reconstruction().id(), a.activation());
            case CvaeConfig c -> new Family(CVAE_DOC, CVAE, c.inputDim(), c.latent(), c.classes(), c.likelihood().id(), c.activation());
            case M2Config m -> new Family(M2_DOC, M2, m.inputDim(), m.latent(), m.classes(), m.likelihood().id(), m.activation());
            default -> throw new IllegalArgumentException("no PyTorch module for a '" + cfg.type() + "' model");
        };
    }

    private static String activation(Activation a) {
        return switch (a) {
            case RELU -> "torch.relu";
            case TANH -> "torch.tanh";
            case SIGMOID -> "torch.sigmoid";
            case IDENTITY -> "(lambda h: h)";
        };
    }

    private static final String VAE_DOC = """
            An elbo4j VAE, exported by `elbo4j export`: %1$s.

                from model import Elbo4jVae
                vae = Elbo4jVae.load("model.safetensors")      # an nn.Module in eval mode
                mu, logvar = vae.encode(x)                      # x: [N, %2$d] float32, values in [0, 1]
                mean = vae.decode(mu)                           # [N, %2$d], the likelihood's mean

            With a planar-flow posterior (FLOW_STEPS > 0; docs/FLOWS.md) q(z|x) is N(mu, exp(logvar)) pushed
            through the FLOW_STEPS planar steps of vae.flow (global parameters flow.u, flow.w, flow.b):

                zK, log_det = vae.flow(z0)                      # z0 [N, %3$d] to zK and sum_k log|det_k| [N]
                z0 = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # a sample of q(zK|x): vae.flow(z0)[0];
                # log q(zK|x) = log N(z0; mu, exp(logvar)) - log_det
                code = vae.code(x)                              # elbo4j's code (`latent`, `reconstruct`): vae.flow(mu)[0]
            """;

    private static final String AE_DOC = """
            An elbo4j autoencoder, exported by `elbo4j export`: %1$s.

                from model import Elbo4jAutoencoder
                ae = Elbo4jAutoencoder.load("model.safetensors")  # an nn.Module in eval mode
                code = ae.encode(x)                               # x: [N, %2$d] float32, values in [0, 1]; code [N, %3$d]
                out = ae.decode(code)                             # the reconstruction: sigmoid of the logits (bernoulli), else the values

            The code layer's activation is CODE_ACTIVATION (the sigmoid for a sparse autoencoder, else none).
            With TIED, decoder layer i has only a bias and uses encoder layer (n-1-i)'s weight, transposed.
            """;

    private static final String CVAE_DOC = """
            An elbo4j conditional VAE, exported by `elbo4j export`: %1$s.

                from model import Elbo4jCvae
                cvae = Elbo4jCvae.load("model.safetensors")     # an nn.Module in eval mode
                mu, logvar = cvae.encode(x, y)                  # x: [N, %2$d] float32 in [0, 1]; y: [N, %4$d] one-hot float32
                mean = cvae.decode(mu, y)                       # [N, %2$d], the likelihood's mean
                y = nn.functional.one_hot(labels, %4$d).float()  # from int64 labels

            The label joins the first dense layer of both networks: ConditionalLinear computes
            h W^T + y U^T + b, nn.Linear on [h, y] with its weight split column-wise into W and U (label_weight).
            """;

    private static final String M2_DOC = """
            An elbo4j M2 (semi-supervised VAE), exported by `elbo4j export`: %1$s.

                from model import Elbo4jM2
                m2 = Elbo4jM2.load("model.safetensors")         # an nn.Module in eval mode
                probs = m2.classify(x)                          # q(y|x): x [N, %2$d] float32 in [0, 1]; probs [N, %4$d]
                mu, logvar = m2.encode(x, y)                    # y: [N, %4$d] one-hot float32; without y, the classifier's argmax
                mean = m2.decode(mu, y)                         # [N, %2$d]
                y = nn.functional.one_hot(labels, %4$d).float()  # from int64 labels

            The classifier is CLASSIFIER_SIZES with the activation between layers and the softmax after the last
            (m2.logits(x) before it); with conv layers, CLASSIFIER_CONV (its own weights) runs before them, as
            ENCODER_CONV before the encoder's. The label joins the first dense layer of the encoder and the decoder:
            ConditionalLinear computes h W^T + y U^T + b, nn.Linear on [h, y] with its weight split column-wise.
            """;

    private static final String DATA_DOC = """

            Inputs and outputs are one example per row, flattened row-major from shape %s (channels last).
            elbo4j trains on level / 255 of 256 levels per value; in the data's own units a value v is
            SCALE_MIN + (SCALE_MAX - SCALE_MIN) * v.
            """;

    private static final String GAUSSIAN_DOC = """
            The encoder's last layer (encoder.%d) holds mu in rows 0..%d of its weight and bias and log sigma^2
            in rows %d..%d: encode() splits them.
            """;

    private static final String CONV_DOC = """
            A conv encoder reads each row as an image of CONV_IMAGE = (C, H, W) (colour rows, stored
            channels last, are permuted to channels first), runs ENCODER_CONV (nn.Conv2d: in, out,
            kernel, stride, padding) with the activation after each, and flattens (flatten(1)) into
            the dense layers. A transposed-conv decoder reads the dense output as DECODER_PLANES =
            (C, H, W), runs DECODER_DECONV (nn.ConvTranspose2d: in, out, kernel, stride, padding,
            output_padding) with the activation after each but the last, and flattens (colour back to
            channels last).
            """;

    private static final String IMPORTS = """
            import json
            import struct

            import numpy as np
            import torch
            from torch import nn

            """;

    /** The imports and {@code read_safetensors(path)}, shared by every family's model.py. */
    static final String READER = IMPORTS + """

            def read_safetensors(path):
                \"\"\"The tensors of a safetensors file (F32 only, as elbo4j writes them), by name.\"\"\"
                with open(path, "rb") as f:
                    n = struct.unpack("<Q", f.read(8))[0]
                    header = json.loads(f.read(n))
                    data = f.read()
                out = {}
                for name, e in header.items():
                    if name == "__metadata__":
                        continue
                    a, b = e["data_offsets"]
                    out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"]).copy())
                return out
            """;

    private static final String NETWORK = """


            class ConditionalLinear(nn.Module):
                \"\"\"nn.Linear on the concatenation [h, y] with its weight split column-wise: weight [out, in] for h,
                label_weight [out, classes] for the label y.\"\"\"

                def __init__(self, i, classes, o):
                    super().__init__()
                    self.weight = nn.Parameter(torch.zeros(o, i))
                    self.label_weight = nn.Parameter(torch.zeros(o, classes))
                    self.bias = nn.Parameter(torch.zeros(o))

                def forward(self, h, y):
                    return h @ self.weight.T + y @ self.label_weight.T + self.bias


            class TiedLinear(nn.Module):
                \"\"\"A layer using another nn.Linear's weight, transposed (a tied decoder), with a bias of its own.\"\"\"

                def __init__(self, owner, o):
                    super().__init__()
                    self.owner = [owner]  # a list, not a submodule: the weight stays the owner's state-dict entry alone
                    self.bias = nn.Parameter(torch.zeros(o))

                def forward(self, h):
                    return h @ self.owner[0].weight + self.bias


            class Network(nn.Module):
                \"\"\"Dense layers under "0", "1", ...; before them an optional nn.Conv2d stack "conv", after them
                an optional nn.ConvTranspose2d stack "deconv" (elbo4j's parameter names). With classes, the first
                dense layer also takes the label; with tied_to, the dense layers use that network's weights.\"\"\"

                def __init__(self, sizes, conv=(), deconv=(), classes=0, last=None, tied_to=None):
                    super().__init__()
                    self.dense = len(sizes) - 1
                    self.classes = classes
                    self.last = last
                    if conv:
                        self.conv = nn.ModuleList(nn.Conv2d(i, o, k, stride=s, padding=p) for i, o, k, s, p in conv)
                    for n, (i, o) in enumerate(zip(sizes, sizes[1:])):
                        if n == 0 and classes:
                            layer = ConditionalLinear(i, classes, o)
                        elif tied_to is not None:
                            layer = TiedLinear(getattr(tied_to, str(tied_to.dense - 1 - n)), o)
                        else:
                            layer = nn.Linear(i, o)
                        self.add_module(str(n), layer)
                    if deconv:
                        self.deconv = nn.ModuleList(nn.ConvTranspose2d(i, o, k, stride=s, padding=p, output_padding=op)
                                                    for i, o, k, s, p, op in deconv)

                def forward(self, h, y=None):
                    \"\"\"The network's output before the likelihood: after its last layer the activation `last`, if any.\"\"\"
                    if hasattr(self, "conv"):
                        c, height, width = CONV_IMAGE
                        h = h.reshape(-1, height, width, c).permute(0, 3, 1, 2)
                        for conv in self.conv:
                            h = ACTIVATION(conv(h))
                        h = h.flatten(1)
                    deconv = getattr(self, "deconv", None)
                    for n in range(self.dense):
                        layer = getattr(self, str(n))
                        h = layer(h, y) if n == 0 and self.classes else layer(h)
                        if n < self.dense - 1 or deconv is not None:
                            h = ACTIVATION(h)
                        elif self.last is not None:
                            h = self.last(h)
                    if deconv is not None:
                        h = h.reshape(-1, *DECODER_PLANES)
                        for n, layer in enumerate(deconv):
                            h = layer(h)
                            if n < len(deconv) - 1:
                                h = ACTIVATION(h)
                        h = h.permute(0, 2, 3, 1).flatten(1)
                    return h


            class Elbo4jModule(nn.Module):
                @classmethod
                def load(cls, path):
                    m = cls()
                    m.load_state_dict(read_safetensors(path))
                    return m.eval()

            """;

    private static final String PLANAR_FLOW = """

            class PlanarFlow(nn.Module):
                \"\"\"K planar steps z <- z + u_hat_k tanh(w_k . z + b_k) with u_hat_k = u_k + (m(w_k . u_k) - w_k . u_k) w_k / |w_k|^2,
                m(a) = softplus(a) - 1, so every step is invertible; log|det_k| = log(t^2 + (1 - t^2) softplus(w_k . u_k)), t the tanh.\"\"\"

                def __init__(self, steps, latent):
                    super().__init__()
                    self.u = nn.Parameter(torch.zeros(steps, latent))
                    self.w = nn.Parameter(torch.zeros(steps, latent))
                    self.b = nn.Parameter(torch.zeros(steps))

                def forward(self, z):
                    \"\"\"(z_K [N, Z], sum_k log|det_k| [N]) of z_0 = z.\"\"\"
                    alpha = (self.w * self.u).sum(1)
                    sp = nn.functional.softplus(alpha)
                    u_hat = self.u + ((sp - 1 - alpha) / (self.w * self.w).sum(1))[:, None] * self.w
                    log_det = torch.zeros(z.shape[0], dtype=z.dtype)
                    for k in range(self.b.shape[0]):
                        t = torch.tanh(z @ self.w[k] + self.b[k])
                        z = z + t[:, None] * u_hat[k]
                        log_det = log_det + torch.log(t * t + (1 - t * t) * sp[k])
                    return z, log_det

            """;

    private static final String VAE = """

            class Elbo4jVae(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.encoder = Network(ENCODER_SIZES, conv=ENCODER_CONV)
                    self.decoder = Network(DECODER_SIZES, deconv=DECODER_DECONV)
                    if LIKELIHOOD == "gaussian-learned":  # the per-value log sigma^2 of p(x|z)
                        self.decoder.register_parameter("logvar", nn.Parameter(torch.zeros(INPUT_DIM)))
                    if FLOW_STEPS:  # the planar flow after q0(z|x), its parameters global (flow.u, flow.w, flow.b)
                        self.flow = PlanarFlow(FLOW_STEPS, LATENT)

                def encode(self, x):
                    \"\"\"(mu, logvar) of q(z|x), each [N, LATENT] (with a flow, of q0, before the flow).\"\"\"
                    h = self.encoder(x)
                    return h[:, :LATENT], h[:, LATENT:]

                def code(self, x):
                    \"\"\"elbo4j's code of x: mu, pushed through the flow where there is one.\"\"\"
                    mu = self.encode(x)[0]
                    return self.flow(mu)[0] if FLOW_STEPS else mu

                def decode(self, z):
                    \"\"\"The mean of p(x|z), [N, D].\"\"\"
                    out = self.decoder(z)
                    return torch.sigmoid(out) if LIKELIHOOD == "bernoulli" else out

                def forward(self, x):
                    mu, logvar = self.encode(x)
                    return self.decode(mu), mu, logvar
            """;

    private static final String AE = """

            class Elbo4jAutoencoder(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.encoder = Network(ENCODER_SIZES, conv=ENCODER_CONV, last=CODE_ACTIVATION)
                    self.decoder = Network(DECODER_SIZES, deconv=DECODER_DECONV, tied_to=self.encoder if TIED else None)

                def encode(self, x):
                    \"\"\"The code, [N, LATENT].\"\"\"
                    return self.encoder(x)

                def decode(self, code):
                    \"\"\"The reconstruction, [N, D]: the sigmoid of the logits (bernoulli), the values themselves (mse).\"\"\"
                    out = self.decoder(code)
                    return torch.sigmoid(out) if LIKELIHOOD == "bernoulli" else out

                def forward(self, x):
                    return self.decode(self.encode(x))
            """;

    private static final String DECODE = """

                def decode(self, z, y):
                    \"\"\"The mean of p(x|z,y), [N, D]; y [N, CLASSES] one-hot.\"\"\"
                    out = self.decoder(z, y)
                    return torch.sigmoid(out) if LIKELIHOOD == "bernoulli" else out
            """;

    private static final String CVAE = """

            class Elbo4jCvae(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.encoder = Network(ENCODER_SIZES, conv=ENCODER_CONV, classes=CLASSES)
                    self.decoder = Network(DECODER_SIZES, deconv=DECODER_DECONV, classes=CLASSES)
                    if LIKELIHOOD == "gaussian-learned":  # the per-value log sigma^2 of p(x|z,y)
                        self.decoder.register_parameter("logvar", nn.Parameter(torch.zeros(INPUT_DIM)))

                def encode(self, x, y):
                    \"\"\"(mu, logvar) of q(z|x,y), each [N, LATENT]; y [N, CLASSES] one-hot.\"\"\"
                    h = self.encoder(x, y)
                    return h[:, :LATENT], h[:, LATENT:]
            """ + DECODE + """

                def forward(self, x, y):
                    mu, logvar = self.encode(x, y)
                    return self.decode(mu, y), mu, logvar
            """;

    private static final String M2 = """

            class Elbo4jM2(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.classifier = Network(CLASSIFIER_SIZES, conv=CLASSIFIER_CONV)
                    self.encoder = Network(ENCODER_SIZES, conv=ENCODER_CONV, classes=CLASSES)
                    self.decoder = Network(DECODER_SIZES, deconv=DECODER_DECONV, classes=CLASSES)

                def logits(self, x):
                    \"\"\"The classifier's logits, [N, CLASSES], before the softmax.\"\"\"
                    return self.classifier(x)

                def classify(self, x):
                    \"\"\"q(y|x), [N, CLASSES].\"\"\"
                    return torch.softmax(self.logits(x), dim=1)

                def encode(self, x, y=None):
                    \"\"\"(mu, logvar) of q(z|x,y), each [N, LATENT]; y [N, CLASSES] one-hot, else the classifier's argmax.\"\"\"
                    if y is None:
                        y = nn.functional.one_hot(self.logits(x).argmax(dim=1), CLASSES).to(x.dtype)
                    h = self.encoder(x, y)
                    return h[:, :LATENT], h[:, LATENT:]
            """ + DECODE + """

                def forward(self, x):
                    probs = self.classify(x)
                    mu, logvar = self.encode(x)
                    return probs, mu, logvar
            """;

    /** The dense layers' sizes: in, hidden..., out. */
    private static String sizes(List<Networks.Dense> dense) {
        List<Integer> s = new ArrayList<>();
        s.add(dense.getFirst().in());
        for (Networks.Dense l : dense) s.add(l.out());
        return s.toString();
    }

    /** nn.Conv2d's (in, out, kernel, stride, padding) per layer, or nn.ConvTranspose2d's with output_padding. */
    private static String convs(List<ConvLayer> layers, boolean transposed) {
        if (layers == null) return "[]";
        List<String> out = new ArrayList<>();
        for (ConvLayer l : layers) {
            var g = l.geometry();
            String common = ", " + tuple(g.kernelH(), g.kernelW()) + ", " + g.stride() + ", " + g.padding();
            if (transposed) {
                out.add("(" + ((ConvTranspose2d) l).inChannels() + ", " + g.channels() + common + ", " + tuple(((ConvTranspose2d) l).outputPadding()) + ")");
            } else {
                out.add("(" + g.channels() + ", " + l.out() / g.outPixels() + common + ")");
            }
        }
        return "[" + String.join(", ", out) + "]";
    }

    private static String tuple(int... v) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < v.length; i++) b.append(i > 0 ? ", " : "").append(v[i]);
        return b.append(")").toString();
    }
}
