package dev.elbo4j.export;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ConvTranspose2d;
import dev.elbo4j.nn.Linear;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A PyTorch module (Python source) that reproduces a VAE's encoder and decoder from the exported
 * weights. {@code encoder} and {@code decoder} hold their {@code nn.Linear} layers under "0",
 * "1", ... and, for a conv model, an {@code nn.ModuleList} {@code encoder.conv} of
 * {@code nn.Conv2d} (before the dense layers) and {@code decoder.deconv} of
 * {@code nn.ConvTranspose2d} (after them), named as elbo4j names its layers
 * ({@code encoder.0.weight}, {@code encoder.conv.0.weight}, ...), so the exported safetensors file
 * is the module's state dict. It reads the file with NumPy (no {@code safetensors} package
 * needed); {@code safetensors.torch.load_file} gives the same dict.
 */
public final class TorchModule {
    private TorchModule() {
    }

    /** The source of {@code model.py} for {@code cfg}; {@code image} is one example's shape. */
    public static String source(VaeConfig cfg, int[] image, double scaleMin, double scaleMax) {
        String act = switch (cfg.activation()) {
            case RELU -> "torch.relu";
            case TANH -> "torch.tanh";
            case SIGMOID -> "torch.sigmoid";
            case IDENTITY -> "(lambda h: h)";
        };
        Likelihood.Kind lik = cfg.likelihood().kind();
        String likName = lik == Likelihood.Kind.BERNOULLI ? "bernoulli" : lik == Likelihood.Kind.GAUSSIAN_LEARNED ? "gaussian-learned" : "gaussian";
        Networks.Parts enc = Networks.encoder(cfg), dec = Networks.decoder(cfg);
        String convImage = cfg.conv() == null ? "None" : tuple(cfg.conv().channels(), cfg.conv().height(), cfg.conv().width());
        String planes = "None";
        if (dec.back() != null) {
            ConvTranspose2d first = (ConvTranspose2d) dec.back().getFirst();
            planes = tuple(first.inChannels(), first.geometry().outHeight(), first.geometry().outWidth());
        }
        return String.format(Locale.ROOT, """
                \"\"\"An elbo4j VAE, exported by `elbo4j export`: %s.

                    from model import Elbo4jVae
                    vae = Elbo4jVae.load("model.safetensors")      # an nn.Module in eval mode
                    mu, logvar = vae.encode(x)                      # x: [N, %d] float32, values in [0, 1]
                    mean = vae.decode(mu)                           # [N, %d], the likelihood's mean

                Inputs and outputs are one example per row, flattened row-major from shape %s (channels last).
                elbo4j trains on level / 255 of 256 levels per value; in the data's own units a value v is
                SCALE_MIN + (SCALE_MAX - SCALE_MIN) * v. The encoder's last layer (encoder.%d) holds mu in
                rows 0..%d of its weight and bias and log sigma^2 in rows %d..%d: encode() splits them.
                A conv encoder reads each row as an image of CONV_IMAGE = (C, H, W) (colour rows, stored
                channels last, are permuted to channels first), runs ENCODER_CONV (nn.Conv2d: in, out,
                kernel, stride, padding) with the activation after each, and flattens (flatten(1)) into
                the dense layers. A transposed-conv decoder reads the dense output as DECODER_PLANES =
                (C, H, W), runs DECODER_DECONV (nn.ConvTranspose2d: in, out, kernel, stride, padding,
                output_padding) with the activation after each but the last, and flattens (colour back to
                channels last).
                \"\"\"
                import json
                import struct

                import numpy as np
                import torch
                from torch import nn

                ENCODER_SIZES = %s
                DECODER_SIZES = %s
                ENCODER_CONV = %s
                DECODER_DECONV = %s
                CONV_IMAGE = %s
                DECODER_PLANES = %s
                LATENT = %d
                INPUT_DIM = %d
                IMAGE_SHAPE = %s
                LIKELIHOOD = "%s"
                SCALE_MIN, SCALE_MAX = %s, %s
                ACTIVATION = %s


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


                class Network(nn.Module):
                    \"\"\"Dense layers under "0", "1", ...; before them an optional nn.Conv2d stack "conv", after them
                    an optional nn.ConvTranspose2d stack "deconv" (elbo4j's parameter names).\"\"\"

                    def __init__(self, sizes, conv=(), deconv=()):
                        super().__init__()
                        self.dense = len(sizes) - 1
                        if conv:
                            self.conv = nn.ModuleList(nn.Conv2d(i, o, k, stride=s, padding=p) for i, o, k, s, p in conv)
                        for n, (i, o) in enumerate(zip(sizes, sizes[1:])):
                            self.add_module(str(n), nn.Linear(i, o))
                        if deconv:
                            self.deconv = nn.ModuleList(nn.ConvTranspose2d(i, o, k, stride=s, padding=p, output_padding=op)
                                                        for i, o, k, s, p, op in deconv)

                    def forward(self, h):
                        \"\"\"The network's output before the likelihood: no activation after its last layer.\"\"\"
                        if hasattr(self, "conv"):
                            c, height, width = CONV_IMAGE
                            h = h.reshape(-1, height, width, c).permute(0, 3, 1, 2)
                            for conv in self.conv:
                                h = ACTIVATION(conv(h))
                            h = h.flatten(1)
                        deconv = getattr(self, "deconv", None)
                        for n in range(self.dense):
                            h = getattr(self, str(n))(h)
                            if n < self.dense - 1 or deconv is not None:
                                h = ACTIVATION(h)
                        if deconv is not None:
                            h = h.reshape(-1, *DECODER_PLANES)
                            for n, layer in enumerate(deconv):
                                h = layer(h)
                                if n < len(deconv) - 1:
                                    h = ACTIVATION(h)
                            h = h.permute(0, 2, 3, 1).flatten(1)
                        return h


                class Elbo4jVae(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.encoder = Network(ENCODER_SIZES, conv=ENCODER_CONV)
                        self.decoder = Network(DECODER_SIZES, deconv=DECODER_DECONV)
                        if LIKELIHOOD == "gaussian-learned":  # the per-value log sigma^2 of p(x|z)
                            self.decoder.register_parameter("logvar", nn.Parameter(torch.zeros(INPUT_DIM)))

                    def encode(self, x):
                        \"\"\"(mu, logvar) of q(z|x), each [N, LATENT].\"\"\"
                        h = self.encoder(x)
                        return h[:, :LATENT], h[:, LATENT:]

                    def decode(self, z):
                        \"\"\"The mean of p(x|z), [N, D].\"\"\"
                        out = self.decoder(z)
                        return torch.sigmoid(out) if LIKELIHOOD == "bernoulli" else out

                    def forward(self, x):
                        mu, logvar = self.encode(x)
                        return self.decode(mu), mu, logvar

                    @classmethod
                    def load(cls, path):
                        m = cls()
                        m.load_state_dict(read_safetensors(path))
                        return m.eval()
                """,
                cfg, cfg.inputDim(), cfg.inputDim(), Arrays.toString(image), enc.dense().size() - 1,
                cfg.latent() - 1, cfg.latent(), 2 * cfg.latent() - 1,
                sizes(enc.dense()), sizes(dec.dense()), convs(enc.front(), false), convs(dec.back(), true), convImage, planes,
                cfg.latent(), cfg.inputDim(), Arrays.toString(image), likName, Double.toString(scaleMin), Double.toString(scaleMax), act);
    }

    /** The dense layers' sizes: in, hidden..., out. */
    private static String sizes(List<Linear> dense) {
        List<Integer> s = new ArrayList<>();
        s.add(dense.getFirst().in());
        for (Linear l : dense) s.add(l.out());
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
