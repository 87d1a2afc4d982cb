package dev.elbo4j.export;

import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.FvbmConfig;
import dev.elbo4j.model.RbmConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The RBM's and the DBN's {@code model.py}. {@code Elbo4jRbm}: parameters {@code weight} [V, H],
 * {@code visible_bias} and {@code hidden_bias} under elbo4j's names; {@code hidden(v)} =
 * p(h = 1 | v), {@code visible(h)} = p(v = 1 | h), {@code free_energy(v)} and
 * {@code gibbs(v, u_h, u_v)} (one sweep with the caller's uniforms, as gibbs.onnx), as
 * {@link dev.elbo4j.model.Rbm} and the graphs compute them. {@code Elbo4jDbn}: one
 * {@code Elbo4jRbm} per layer under {@code layer0}, {@code layer1}, ...; {@code up(v)} (every
 * layer's mean-field features), {@code down(h)} (the mean-field pass to p(v)) and {@code top()}
 * (the top layer's RBM, where the sampling chains run), as
 * {@link dev.elbo4j.model.Dbn}. {@code Elbo4jFvbm}: {@code visible_bias} and {@code weight} [d, d];
 * {@code conditionals(v)}, {@code energy(v)} and, enumerating the 2^d states, {@code log_z()}, as
 * {@link dev.elbo4j.model.Fvbm}. Each class is an {@code Elbo4jModule}, the nn.Module whose
 * {@code load(path)} every class of the file shares.
 */
final class TorchRbm {
    private TorchRbm() {
    }

    static String source(RbmConfig cfg, int[] image, double scaleMin, double scaleMax) {
        return String.format(Locale.ROOT, RBM_DOC, cfg, cfg.inputDim(), cfg.hidden()) + String.format(Locale.ROOT, DATA_DOC, Arrays.toString(image))
                + TorchModule.READER
                + String.format(Locale.ROOT, """

                        VISIBLE = %d
                        HIDDEN = %d
                        SCALE_MIN, SCALE_MAX = %s, %s
                        """, cfg.inputDim(), cfg.hidden(), Double.toString(scaleMin), Double.toString(scaleMax))
                + MODULE + RBM;
    }

    static String source(DbnConfig cfg, int[] image, double scaleMin, double scaleMax) {
        List<Integer> sizes = new ArrayList<>();
        sizes.add(cfg.inputDim());
        for (int h : cfg.hidden()) sizes.add(h);
        return String.format(Locale.ROOT, DBN_DOC, cfg, cfg.inputDim()) + String.format(Locale.ROOT, DATA_DOC, Arrays.toString(image))
                + TorchModule.READER
                + String.format(Locale.ROOT, """

                        SIZES = %s
                        SCALE_MIN, SCALE_MAX = %s, %s
                        """, sizes, Double.toString(scaleMin), Double.toString(scaleMax))
                + MODULE + RBM + DBN;
    }

    static String source(FvbmConfig cfg, int[] image, double scaleMin, double scaleMax) {
        return String.format(Locale.ROOT, FVBM_DOC, cfg, cfg.inputDim()) + String.format(Locale.ROOT, DATA_DOC, Arrays.toString(image))
                + TorchModule.READER
                + String.format(Locale.ROOT, """

                        VISIBLE = %d
                        SCALE_MIN, SCALE_MAX = %s, %s
                        """, cfg.inputDim(), Double.toString(scaleMin), Double.toString(scaleMax))
                + MODULE + FVBM;
    }

    private static final String FVBM_DOC = """
            \"""An elbo4j fully visible Boltzmann machine, exported by `elbo4j export`: %1$s.

                from model import Elbo4jFvbm
                fvbm = Elbo4jFvbm.load("model.safetensors")  # an nn.Module in eval mode
                p = fvbm.conditionals(v)                      # p(v_i = 1 | v_-i) for every i: v [N, %2$d] in [0, 1], p [N, %2$d]
                e = fvbm.energy(v)                            # E(v) = -b . v - sum_{i<j} S_ij v_i v_j, [N]
                log_p = -fvbm.energy(v) - fvbm.log_z()        # log Z by enumerating the 2^%2$d states

            p(v) = exp(-E(v)) / Z with b `visible_bias` and S = (W + W^T) / 2 with a zero diagonal, W `weight` [d, d]
            (elbo4j's training keeps W symmetric with a zero diagonal; S is what it reads).
            """;

    private static final String RBM_DOC = """
            \"""An elbo4j RBM, exported by `elbo4j export`: %1$s.

                from model import Elbo4jRbm
                rbm = Elbo4jRbm.load("model.safetensors")   # an nn.Module in eval mode
                p_h = rbm.hidden(v)                          # p(h = 1 | v) = sigmoid(v W + c): v [N, %2$d] in [0, 1], p_h [N, %3$d]
                p_v = rbm.visible(h)                         # p(v = 1 | h) = sigmoid(h W^T + b), [N, %2$d]
                f = rbm.free_energy(v)                       # F(v) = -v b - sum_j softplus(v W + c)_j, [N]
                h, p_v, v = rbm.gibbs(v)                     # one Gibbs sweep (u_h, u_v: the uniforms, else drawn)

            W is `weight` [V, H], b `visible_bias`, c `hidden_bias`. log p(v) = -F(v) - log Z; elbo4j's
            `eval` estimates log Z by AIS.
            """;

    private static final String DBN_DOC = """
            \"""An elbo4j deep belief net, exported by `elbo4j export`: %1$s.

                from model import Elbo4jDbn
                dbn = Elbo4jDbn.load("model.safetensors")   # an nn.Module in eval mode
                feats = dbn.up(v)                            # [p(h0|v), p(h1|p(h0|v)), ...]: v [N, %2$d] in [0, 1]
                p_v = dbn.down(feats[-1])                    # the mean-field pass down from the top layer, [N, %2$d]
                p_v = dbn.reconstruct(v)                     # the two, as elbo4j's `reconstruct`
                h, p_v, v = dbn.top().gibbs(v)               # one Gibbs sweep of the top RBM (v [N, SIZES[-2]])

            Layer l (`layer<l>.weight` [V_l, H_l], `layer<l>.visible_bias`, `layer<l>.hidden_bias`) is an RBM on
            the probabilities of the layer below (mean field, no samples), sizes SIZES bottom up. elbo4j's samples run
            Gibbs chains in the top RBM and then sample binary units on the way down; down() passes probabilities.
            """;

    private static final String DATA_DOC = """
            Rows are examples flattened row-major from shape %s, values level / 255 (binarised in
            training); in the data's own units SCALE_MIN + (SCALE_MAX - SCALE_MIN) v.
            \"""
            """;

    /** The base of the file's modules: {@code load(path)}, once for all its classes. */
    private static final String MODULE = """


            class Elbo4jModule(nn.Module):
                \"""An nn.Module with load(path): the module of this file's sizes, its parameters read from path, in eval mode.\"""

                @classmethod
                def load(cls, path):
                    m = cls()
                    m.load_state_dict(read_safetensors(path))
                    return m.eval()
            """;

    private static final String RBM = """


            class Elbo4jRbm(Elbo4jModule):
                def __init__(self, visible=None, hidden=None):
                    super().__init__()
                    visible = VISIBLE if visible is None else visible
                    hidden = HIDDEN if hidden is None else hidden
                    self.weight = nn.Parameter(torch.zeros(visible, hidden))
                    self.visible_bias = nn.Parameter(torch.zeros(visible))
                    self.hidden_bias = nn.Parameter(torch.zeros(hidden))

                def hidden(self, v):
                    return torch.sigmoid(v @ self.weight + self.hidden_bias)

                def visible(self, h):
                    return torch.sigmoid(h @ self.weight.T + self.visible_bias)

                def free_energy(self, v):
                    return -(v @ self.visible_bias) - nn.functional.softplus(v @ self.weight + self.hidden_bias).sum(1)

                def gibbs(self, v, u_h=None, u_v=None):
                    \"""One Gibbs sweep: h = (u_h < p(h|v)), p_v = p(v|h), v_next = (u_v < p_v); uniforms drawn when not given.\"""
                    p_h = self.hidden(v)
                    h = ((torch.rand_like(p_h) if u_h is None else u_h) < p_h).to(v.dtype)
                    p_v = self.visible(h)
                    v_next = ((torch.rand_like(p_v) if u_v is None else u_v) < p_v).to(v.dtype)
                    return h, p_v, v_next

                def forward(self, v):
                    return self.hidden(v)
            """;

    private static final String FVBM = """


            class Elbo4jFvbm(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.visible_bias = nn.Parameter(torch.zeros(VISIBLE))
                    self.weight = nn.Parameter(torch.zeros(VISIBLE, VISIBLE))

                def couplings(self):
                    \"""S = (W + W^T) / 2 with a zero diagonal.\"""
                    s = (self.weight + self.weight.T) / 2
                    return s - torch.diag(torch.diagonal(s))

                def conditionals(self, v):
                    return torch.sigmoid(v @ self.couplings() + self.visible_bias)

                def energy(self, v):
                    return -(v @ self.visible_bias) - 0.5 * ((v @ self.couplings()) * v).sum(1)

                def log_z(self):
                    states = (torch.arange(2 ** VISIBLE)[:, None] >> torch.arange(VISIBLE) & 1).to(self.weight.dtype)
                    return torch.logsumexp(-self.energy(states), 0)

                def forward(self, v):
                    return self.conditionals(v)
            """;

    private static final String DBN = """


            class Elbo4jDbn(Elbo4jModule):
                def __init__(self):
                    super().__init__()
                    self.layers = len(SIZES) - 1
                    for l in range(self.layers):
                        self.add_module(f"layer{l}", Elbo4jRbm(SIZES[l], SIZES[l + 1]))

                def up(self, v):
                    \"""Every layer's p(h = 1 | the layer below's probabilities), bottom up.\"""
                    out = []
                    for l in range(self.layers):
                        v = getattr(self, f"layer{l}").hidden(v)
                        out.append(v)
                    return out

                def down(self, h):
                    \"""The probabilities of each layer's visible units from the top down; p(v) at the bottom.\"""
                    for l in reversed(range(self.layers)):
                        h = getattr(self, f"layer{l}").visible(h)
                    return h

                def reconstruct(self, v):
                    return self.down(self.up(v)[-1])

                def top(self):
                    \"""The top layer's RBM, where elbo4j's sampling chains run.\"""
                    return getattr(self, f"layer{self.layers - 1}")

                def forward(self, v):
                    return self.up(v)[-1]
            """;
}
