package dev.elbo4j.export;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.VaeConfig;

import java.util.Arrays;
import java.util.Locale;

/**
 * A PyTorch module (Python source) that reproduces a VAE's encoder and decoder from the exported
 * weights: {@code encoder} and {@code decoder} are {@code nn.ModuleList}s of {@code nn.Linear}
 * named as elbo4j names its layers ({@code encoder.0.weight}, ...), so the exported safetensors
 * file is the module's state dict. It reads the file with NumPy (no {@code safetensors} package
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
                \"\"\"
                import json
                import struct

                import numpy as np
                import torch
                from torch import nn

                ENCODER_SIZES = %s
                DECODER_SIZES = %s
                LATENT = %d
                IMAGE_SHAPE = %s
                LIKELIHOOD = "%s"
                SCALE_MIN, SCALE_MAX = %s, %s


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


                class Elbo4jVae(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.encoder = nn.ModuleList(nn.Linear(i, o) for i, o in zip(ENCODER_SIZES, ENCODER_SIZES[1:]))
                        self.decoder = nn.ModuleList(nn.Linear(i, o) for i, o in zip(DECODER_SIZES, DECODER_SIZES[1:]))
                        if LIKELIHOOD == "gaussian-learned":  # the per-value log sigma^2 of p(x|z)
                            self.decoder.register_parameter("logvar", nn.Parameter(torch.zeros(DECODER_SIZES[-1])))

                    @staticmethod
                    def _run(layers, h):
                        for i, layer in enumerate(layers):
                            h = layer(h)
                            if i < len(layers) - 1:
                                h = %s(h)
                        return h

                    def encode(self, x):
                        \"\"\"(mu, logvar) of q(z|x), each [N, LATENT].\"\"\"
                        h = self._run(self.encoder, x)
                        return h[:, :LATENT], h[:, LATENT:]

                    def decode(self, z):
                        \"\"\"The mean of p(x|z), [N, D].\"\"\"
                        out = self._run(self.decoder, z)
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
                cfg, cfg.inputDim(), cfg.inputDim(), Arrays.toString(image), cfg.encoderSizes().length - 2,
                cfg.latent() - 1, cfg.latent(), 2 * cfg.latent() - 1,
                Arrays.toString(cfg.encoderSizes()), Arrays.toString(cfg.decoderSizes()), cfg.latent(), Arrays.toString(image),
                likName, Double.toString(scaleMin), Double.toString(scaleMax), act);
    }
}
