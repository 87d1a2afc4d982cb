package dev.elbo4j.export;

import dev.elbo4j.model.RbmConfig;

import java.util.Arrays;
import java.util.Locale;

/**
 * The RBM's {@code model.py}: {@code Elbo4jRbm}, parameters {@code weight} [V, H],
 * {@code visible_bias} and {@code hidden_bias} under elbo4j's names; {@code hidden(v)} =
 * p(h = 1 | v), {@code visible(h)} = p(v = 1 | h) and {@code free_energy(v)}, as
 * {@link dev.elbo4j.model.Rbm} and the graphs compute them.
 */
final class TorchRbm {
    private TorchRbm() {
    }

    static String source(RbmConfig cfg, int[] image, double scaleMin, double scaleMax) {
        return String.format(Locale.ROOT, DOC, cfg, cfg.inputDim(), cfg.hidden(), Arrays.toString(image)) + TorchModule.READER
                + String.format(Locale.ROOT, """

                        VISIBLE = %d
                        HIDDEN = %d
                        SCALE_MIN, SCALE_MAX = %s, %s
                        """, cfg.inputDim(), cfg.hidden(), Double.toString(scaleMin), Double.toString(scaleMax))
                + MODULE;
    }

    private static final String DOC = """
            \"""An elbo4j RBM, exported by `elbo4j export`: %1$s.

                from model import Elbo4jRbm
                rbm = Elbo4jRbm.load("model.safetensors")   # an nn.Module in eval mode
                p_h = rbm.hidden(v)                          # p(h = 1 | v) = sigmoid(v W + c): v [N, %2$d] in [0, 1], p_h [N, %3$d]
                p_v = rbm.visible(h)                         # p(v = 1 | h) = sigmoid(h W^T + b), [N, %2$d]
                f = rbm.free_energy(v)                       # F(v) = -v b - sum_j softplus(v W + c)_j, [N]

            W is `weight` [V, H], b `visible_bias`, c `hidden_bias`. log p(v) = -F(v) - log Z; elbo4j's
            `evaluate` estimates log Z by AIS. Rows are examples flattened row-major from shape %4$s,
            values level / 255 (binarised in training); in the data's own units SCALE_MIN + (SCALE_MAX - SCALE_MIN) v.
            \"""
            """;

    private static final String MODULE = """


            class Elbo4jRbm(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.weight = nn.Parameter(torch.zeros(VISIBLE, HIDDEN))
                    self.visible_bias = nn.Parameter(torch.zeros(VISIBLE))
                    self.hidden_bias = nn.Parameter(torch.zeros(HIDDEN))

                @classmethod
                def load(cls, path):
                    m = cls()
                    m.load_state_dict(read_safetensors(path))
                    return m.eval()

                def hidden(self, v):
                    return torch.sigmoid(v @ self.weight + self.hidden_bias)

                def visible(self, h):
                    return torch.sigmoid(h @ self.weight.T + self.visible_bias)

                def free_energy(self, v):
                    return -(v @ self.visible_bias) - nn.functional.softplus(v @ self.weight + self.hidden_bias).sum(1)

                def forward(self, v):
                    return self.hidden(v)
            """;
}
