package dev.elbo4j.export;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.model.Autoencoder;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.Cvae;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.M2;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Nice;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.ConditionalImageNet;
import dev.elbo4j.nn.ConditionalLinear;
import dev.elbo4j.nn.ConditionalMlp;
import dev.elbo4j.nn.ConditionalNetwork;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ConvStack;
import dev.elbo4j.nn.ImageNet;
import dev.elbo4j.nn.Linear;
import dev.elbo4j.nn.Mlp;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.TiedLinear;
import dev.elbo4j.nn.TiedMlp;

import java.util.ArrayList;
import java.util.List;

/**
 * A model's networks as the exporters walk them: the layers of the very networks the model
 * classes build ({@link Vae#encoderNetwork}, {@link Autoencoder#encoderNetwork},
 * {@link Cvae#encoderNetwork}, {@link M2#classifierNetwork}, ...: names, sizes, activations, conv
 * geometries), so the exported graphs follow the model rather than a second description of it.
 */
final class Networks {
    /**
     * One dense layer, {@code y = act(x W^T + label U^T + b)}.
     *
     * @param name        the layer's name (its graph nodes' prefix)
     * @param weight      the weight's parameter name: its own [out, in] ({@code name.weight}), or for a
     *                    tied layer the owner's, stored [in, out] and used as {@code x W}
     * @param tied        whether the weight is borrowed and transposed ({@link TiedLinear})
     * @param labelWeight U [out, classes], {@code name.label_weight}, for the first layer of a
     *                    conditional network ({@link ConditionalLinear}); null otherwise
     * @param classes     the label's width, 0 without a label
     * @param bias        the bias's parameter name: {@code name.bias} for the layers of a network
     */
    record Dense(String name, int in, int out, Activation activation, String weight, boolean tied, String labelWeight, int classes,
                 String bias) {
        static Dense of(Linear l) {
            return new Dense(l.name(), l.in(), l.out(), l.activation(), l.name() + ".weight", false, null, 0, l.name() + ".bias");
        }

        static Dense of(TiedLinear l) {
            return new Dense(l.name(), l.in(), l.out(), l.activation(), l.weight(), true, null, 0, l.name() + ".bias");
        }

        static Dense of(ConditionalLinear l) {
            return new Dense(l.name(), l.in(), l.out(), l.activation(), l.name() + ".weight", false, l.name() + ".label_weight",
                    l.classes(), l.name() + ".bias");
        }
    }

    /**
     * @param front the conv layers before the dense ones (NCHW; an encoder), or null
     * @param dense the dense layers, in order
     * @param back  the transposed-conv layers after the dense ones (a decoder), or null
     */
    record Parts(List<ConvLayer> front, List<Dense> dense, List<ConvLayer> back) {
        /** The label's width (the first dense layer's), 0 for an unconditional network. */
        int classes() {
            return dense.getFirst().classes();
        }
    }

    private Networks() {
    }

    /** The network from the input to the code or the posterior's statistics (for M2 q(z|x,y), not the classifier). */
    static Parts encoder(ModelConfig cfg) {
        return switch (cfg) {
            case VaeConfig v -> of(Vae.encoderNetwork(v));
            case AutoencoderConfig a -> of(Autoencoder.encoderNetwork(a));
            case CvaeConfig c -> of(Cvae.encoderNetwork(c));
            case M2Config m -> of(M2.encoderNetwork(m));
            default -> throw new IllegalArgumentException("no encoder to export for a '" + cfg.type() + "' model");
        };
    }

    /** The network from the code to the likelihood's logits or means (the reconstruction). */
    static Parts decoder(ModelConfig cfg) {
        return switch (cfg) {
            case VaeConfig v -> of(Vae.decoderNetwork(v));
            case AutoencoderConfig a -> a.tied() ? of(Autoencoder.tiedDecoderNetwork(a)) : of(Autoencoder.decoderNetwork(a));
            case CvaeConfig c -> of(Cvae.decoderNetwork(c));
            case M2Config m -> of(M2.decoderNetwork(m));
            default -> throw new IllegalArgumentException("no decoder to export for a '" + cfg.type() + "' model");
        };
    }

    /** NICE's coupling i: the shift MLP m_i ({@link Nice#couplingNetwork}). */
    static List<Dense> coupling(NiceConfig cfg, int i) {
        return dense(Nice.couplingNetwork(cfg, i));
    }

    /**
     * An RBM's two conditionals as dense layers over its one weight W [V, H] ({@code weight}),
     * without their sigmoid: hidden, v W + c ({@code hidden_bias}; W used as stored, [in, out]),
     * and visible, h W^T + b ({@code visible_bias}; W as [out, in]).
     */
    static Dense rbmHidden(RbmConfig cfg) {
        return rbmHidden("", cfg.inputDim(), cfg.hidden());
    }

    /** See {@link #rbmHidden}. */
    static Dense rbmVisible(RbmConfig cfg) {
        return rbmVisible("", cfg.inputDim(), cfg.hidden());
    }

    /** The hidden conditional's dense layer of the RBM whose parameters start with {@code prefix} (a DBN's {@code layer<l>.}). */
    static Dense rbmHidden(String prefix, int vis, int hid) {
        return new Dense(prefix + "hidden", vis, hid, Activation.IDENTITY, prefix + "weight", true, null, 0, prefix + "hidden_bias");
    }

    /** The visible conditional's, as {@link #rbmHidden(String, int, int)}. */
    static Dense rbmVisible(String prefix, int vis, int hid) {
        return new Dense(prefix + "visible", hid, vis, Activation.IDENTITY, prefix + "weight", false, null, 0, prefix + "visible_bias");
    }

    /** A DBN's layer l: the prefix of its parameters, {@code layer<l>.} ({@link dev.elbo4j.model.Dbn#parameterLayout}). */
    static String dbnPrefix(int l) {
        return "layer" + l + ".";
    }

    /** M2's classifier q(y|x), to logits. */
    static Parts classifier(M2Config cfg) {
        return of(M2.classifierNetwork(cfg));
    }

    private static Parts of(Network n) {
        if (n instanceof Mlp m) return new Parts(null, dense(m), null);
        ImageNet i = (ImageNet) n;
        return new Parts(layers(i.front()), dense(i.dense()), layers(i.back()));
    }

    private static Parts of(ConditionalNetwork n) {
        if (n instanceof ConditionalMlp m) return new Parts(null, dense(m), null);
        ConditionalImageNet i = (ConditionalImageNet) n;
        return new Parts(layers(i.front()), dense(i.dense()), layers(i.back()));
    }

    private static Parts of(TiedMlp t) {
        return new Parts(null, t.layers().stream().map(Dense::of).toList(), null);
    }

    private static List<Dense> dense(Mlp m) {
        return m.layers().stream().map(Dense::of).toList();
    }

    private static List<Dense> dense(ConditionalMlp m) {
        List<Dense> d = new ArrayList<>();
        d.add(Dense.of(m.first()));
        for (Linear l : m.rest()) d.add(Dense.of(l));
        return List.copyOf(d);
    }

    private static List<ConvLayer> layers(ConvStack s) {
        return s == null ? null : s.layers();
    }
}
