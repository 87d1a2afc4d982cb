package dev.elbo4j.export;

import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ImageNet;
import dev.elbo4j.nn.Linear;
import dev.elbo4j.nn.Mlp;
import dev.elbo4j.nn.Network;

import java.util.List;

/**
 * A VAE's encoder and decoder as the exporters walk them: the layers of the very networks
 * {@link Vae} builds (names, sizes, activations, conv geometries), so the exported graphs follow
 * the model rather than a second description of it.
 */
final class Networks {
    /**
     * @param front the conv layers before the dense ones (NCHW; the encoder), or null
     * @param dense the dense layers, in order
     * @param back  the transposed-conv layers after the dense ones (the decoder), or null
     */
    record Parts(List<ConvLayer> front, List<Linear> dense, List<ConvLayer> back) {
    }

    private Networks() {
    }

    static Parts encoder(VaeConfig cfg) {
        return parts(Vae.encoderNetwork(cfg));
    }

    static Parts decoder(VaeConfig cfg) {
        return parts(Vae.decoderNetwork(cfg));
    }

    private static Parts parts(Network n) {
        if (n instanceof Mlp m) return new Parts(null, m.layers(), null);
        ImageNet i = (ImageNet) n;
        return new Parts(i.front() == null ? null : i.front().layers(), i.dense().layers(), i.back() == null ? null : i.back().layers());
    }
}
