package dev.elbo4j.export;

import dev.elbo4j.model.NiceConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * NICE's {@code model.py}: {@code Elbo4jNice}, whose {@code coupling} (an {@code nn.ModuleList} of
 * {@code nn.ModuleList}s of {@code nn.Linear}) and {@code scale} (an {@code nn.ParameterDict} of
 * {@code even} and {@code odd}) carry elbo4j's parameter names, so the exported safetensors file
 * is its state dict. {@code forward(x)} gives (z, log p(x)) as {@link dev.elbo4j.model.Nice} and
 * {@code forward.onnx} compute them, {@code inverse(z)} gives x.
 */
final class TorchNice {
    private TorchNice() {
    }

    static String source(NiceConfig cfg, int[] image) {
        List<String> sizes = new ArrayList<>();
        for (int i = 0; i < cfg.couplings(); i++) {
            List<Integer> s = new ArrayList<>();
            List<Networks.Dense> layers = Networks.coupling(cfg, i);
            s.add(layers.getFirst().in());
            for (Networks.Dense l : layers) s.add(l.out());
            sizes.add(s.toString());
        }
        return String.format(Locale.ROOT, DOC, cfg, cfg.inputDim(), Arrays.toString(image)) + TorchModule.READER
                + String.format(Locale.ROOT, """

                        COUPLING_SIZES = [%s]
                        INPUT_DIM = %d
                        PRIOR = "%s"
                        """, String.join(", ", sizes), cfg.inputDim(), cfg.priorName())
                + MODULE;
    }

    private static final String DOC = """
            \"""An elbo4j NICE flow, exported by `elbo4j export`: %1$s.

                from model import Elbo4jNice
                nice = Elbo4jNice.load("model.safetensors")   # an nn.Module in eval mode
                z, log_px = nice(x)                           # x: [N, %2$d] float32, dequantized (below); z [N, %2$d], log_px [N]
                x = nice.inverse(z)                           # the exact inverse; samples: nice.inverse(nice.sample_prior(n))

            Rows are examples flattened row-major from shape %3$s. x is split into its even columns (0, 2, ...)
            and odd ones; coupling i (COUPLING_SIZES, ReLU between layers) adds m_i(even) to the odd half for even i,
            m_i(odd) to the even half for odd i; then each half is multiplied by exp(scale.even / scale.odd) and the
            halves are put back in column order: z. log p(x) = sum_d log p_H(z_d) + sum(scale), p_H the standard
            PRIOR (logistic or normal); the couplings have unit Jacobian.

            log p(x) is a density over [0, 1]^D in the units elbo4j trains on: a pixel level p (0..255) becomes
            x = (p + u) / 256, u ~ U(0, 1) (dequantize()). Bits per dimension of the 256 levels:
            (D log 256 - log p(x)) / (D log 2). elbo4j clamps samples to [0, 1] for display; inverse() does not.
            \"""
            """;

    private static final String MODULE = """


            class Elbo4jNice(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.coupling = nn.ModuleList(nn.ModuleList(nn.Linear(i, o) for i, o in zip(s, s[1:]))
                                                  for s in COUPLING_SIZES)
                    self.scale = nn.ParameterDict({"even": nn.Parameter(torch.zeros((INPUT_DIM + 1) // 2)),
                                                   "odd": nn.Parameter(torch.zeros(INPUT_DIM // 2))})

                @classmethod
                def load(cls, path):
                    m = cls()
                    m.load_state_dict(read_safetensors(path))
                    return m.eval()

                def shift(self, i, h):
                    \"""m_i(h): coupling i's MLP, ReLU between its layers.\"""
                    layers = self.coupling[i]
                    for n, layer in enumerate(layers):
                        h = layer(h)
                        if n < len(layers) - 1:
                            h = torch.relu(h)
                    return h

                @staticmethod
                def interleave(even, odd):
                    x = torch.empty(even.shape[0], INPUT_DIM, dtype=even.dtype)
                    x[:, 0::2], x[:, 1::2] = even, odd
                    return x

                def forward(self, x):
                    \"""(z, log p(x)): z = f(x) [N, D], log p(x) [N].\"""
                    h = [x[:, 0::2], x[:, 1::2]]
                    for i in range(len(self.coupling)):
                        h[1 - i % 2] = h[1 - i % 2] + self.shift(i, h[i % 2])
                    z = self.interleave(h[0] * torch.exp(self.scale["even"]), h[1] * torch.exp(self.scale["odd"]))
                    if PRIOR == "logistic":
                        log_prior = -nn.functional.softplus(z) - nn.functional.softplus(-z)
                    else:
                        log_prior = -0.5 * z * z - 0.5 * np.log(2 * np.pi)
                    return z, log_prior.sum(1) + self.scale["even"].sum() + self.scale["odd"].sum()

                def log_prob(self, x):
                    return self.forward(x)[1]

                def inverse(self, z):
                    \"""x = f^-1(z) [N, D].\"""
                    h = [z[:, 0::2] * torch.exp(-self.scale["even"]), z[:, 1::2] * torch.exp(-self.scale["odd"])]
                    for i in reversed(range(len(self.coupling))):
                        h[1 - i % 2] = h[1 - i % 2] - self.shift(i, h[i % 2])
                    return self.interleave(h[0], h[1])

                @staticmethod
                def sample_prior(n, generator=None):
                    \"""n draws of z from p_H, [n, D].\"""
                    if PRIOR == "logistic":
                        u = torch.rand(n, INPUT_DIM, generator=generator).clamp(1e-7, 1 - 1e-7)
                        return torch.log(u) - torch.log1p(-u)
                    return torch.randn(n, INPUT_DIM, generator=generator)

                @staticmethod
                def dequantize(levels, generator=None):
                    \"""x = (p + u) / 256 for pixel levels p (0..255), u ~ U(0, 1).\"""
                    return (levels.float() + torch.rand(levels.shape, generator=generator)) / 256
            """;
}
