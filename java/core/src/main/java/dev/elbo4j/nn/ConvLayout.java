package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.io.JsonFields;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The convolutional part of a model's encoder and/or decoder, as written on the command line
 * ({@code --encoder conv:32x4s2p1,64x4s2p1 --decoder deconv:64x4s2p1,32x4s2p1}, docs/CONV.md),
 * for images of {@code channels x height x width}. Either list may be empty (that side is fully
 * connected), not both.
 *
 * <p>Encoder: conv layer i maps the previous planes to {@code encoder[i].channels} planes; the
 * last output, flattened, feeds the dense layers. Decoder: the dense layers end in
 * {@code decoder[0].channels} planes, transposed-conv layer i maps {@code decoder[i].channels}
 * planes to {@code decoder[i+1].channels} (the last to the image's channels), and the planes'
 * sizes are worked back from the image: a layer's input grid is the output grid of the
 * convolution of its output, so each layer ends exactly at its output size (PyTorch's
 * output_padding is implied, {@link ConvTranspose2d#outputPadding}).
 *
 * <p>Colour images (3 channels) are stored channels last (H x W x C rows) by elbo4j's readers;
 * the stacks permute them to and from NCHW at the ends.
 *
 * @param channels C, the image planes (1 grey, 3 colour)
 * @param height   H, image rows
 * @param width    W, image columns
 * @param encoder  the conv layers after the input, in order; empty: a fully connected encoder
 * @param decoder  the transposed-conv layers before the output, in order; empty: a fully connected decoder
 */
public record ConvLayout(int channels, int height, int width, List<ConvLayerSpec> encoder, List<ConvLayerSpec> decoder) {
    /** What the encoder and decoder strings start with. */
    public static final String CONV = "conv:", DECONV = "deconv:", MLP = "mlp";

    /**
     * Copies the lists and checks the layout against the image: not both sides empty, positive image sizes, and
     * every layer's geometry valid on the planes it receives.
     *
     * @throws IllegalArgumentException naming the problem (and the layer) when one of those does not hold
     */
    public ConvLayout {
        encoder = List.copyOf(encoder);
        decoder = List.copyOf(decoder);
        if (encoder.isEmpty() && decoder.isEmpty()) throw new IllegalArgumentException("a conv layout needs encoder or decoder layers");
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image shape " + channels + "x" + height + "x" + width + " must be positive");
        }
        // Builds every geometry once, so a layout that does not fit its image fails here.
        encoderLayers(channels, height, width, encoder, "encoder", Activation.RELU);
        decoderLayers(channels, height, width, decoder, "decoder", Activation.RELU, Activation.IDENTITY);
    }

    /**
     * The layout for elbo4j's image shape ([rows, cols], or [rows, cols, 3] channels last) and
     * the two strings ({@code mlp} or null: no layers on that side). Messages start with "encoder"
     * or "decoder" and name the bad token. Returns null when both sides are fully connected.
     */
    public static ConvLayout of(int[] imageShape, String encoder, String decoder) {
        List<ConvLayerSpec> e = parseSide(encoder, CONV, "encoder"), d = parseSide(decoder, DECONV, "decoder");
        if (e.isEmpty() && d.isEmpty()) return null;
        if (imageShape == null || imageShape.length < 2 || imageShape.length > 3) {
            throw new IllegalArgumentException("a conv encoder or decoder needs images; the data has no image shape");
        }
        int c = imageShape.length == 3 ? imageShape[2] : 1;
        return new ConvLayout(c, imageShape[0], imageShape[1], e, d);
    }

    /** "mlp" or null: no layers; else {@code prefix} followed by layer tokens. */
    public static List<ConvLayerSpec> parseSide(String value, String prefix, String side) {
        if (value == null || value.trim().equals(MLP)) return List.of();
        String v = value.trim();
        if (!v.startsWith(prefix)) {
            throw new IllegalArgumentException(side + " '" + value + "' must be " + MLP + " or " + prefix + "LAYERS (e.g. " + prefix
                    + (prefix.equals(CONV) ? "32x4s2p1,64x4s2p1" : "64x4s2p1,32x4s2p1") + ")");
        }
        try {
            return ConvLayerSpec.parseList(v.substring(prefix.length()));
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(side + " '" + value + "': " + ex.getMessage());
        }
    }

    /** Whether the encoder has conv layers. */
    public boolean hasEncoder() {
        return !encoder.isEmpty();
    }

    /** Whether the decoder has transposed-conv layers. */
    public boolean hasDecoder() {
        return !decoder.isEmpty();
    }

    /** The encoder string: "conv:32x4s2p1,64x4s2p1", or "mlp". */
    public String encoderString() {
        return encoder.isEmpty() ? MLP : CONV + ConvLayerSpec.join(encoder);
    }

    /** The decoder string: "deconv:64x4s2p1,32x4s2p1", or "mlp". */
    public String decoderString() {
        return decoder.isEmpty() ? MLP : DECONV + ConvLayerSpec.join(decoder);
    }

    /** D = channels x height x width, the values of one image. */
    public int inputDim() {
        return channels * height * width;
    }

    private static List<ConvLayer> encoderLayers(int c, int h, int w, List<ConvLayerSpec> encoder, String prefix, Activation act) {
        List<ConvLayer> layers = new ArrayList<>();
        for (int i = 0; i < encoder.size(); i++) {
            ConvLayerSpec s = encoder.get(i);
            ConvGeometry g;
            try {
                g = ConvGeometry.of(c, h, w, s.kernel(), s.stride(), s.padding());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("encoder layer " + (i + 1) + " '" + s + "' on " + c + "x" + h + "x" + w + ": " + e.getMessage());
            }
            layers.add(new Conv2d(prefix + ".conv." + i, g, s.channels(), act));
            c = s.channels();
            h = g.outHeight();
            w = g.outWidth();
        }
        return layers;
    }

    private static List<ConvLayer> decoderLayers(int c, int h, int w, List<ConvLayerSpec> decoder, String prefix, Activation act,
                                                 Activation last) {
        ConvLayer[] layers = new ConvLayer[decoder.size()];
        for (int i = decoder.size() - 1; i >= 0; i--) {
            ConvLayerSpec s = decoder.get(i);
            ConvGeometry g;
            try {
                g = ConvGeometry.of(c, h, w, s.kernel(), s.stride(), s.padding());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("decoder layer " + (i + 1) + " '" + s + "' producing " + c + "x" + h + "x" + w + ": "
                        + e.getMessage());
            }
            layers[i] = new ConvTranspose2d(prefix + ".deconv." + i, g, s.channels(), i == decoder.size() - 1 ? last : act);
            c = s.channels();
            h = g.outHeight();
            w = g.outWidth();
        }
        return List.of(layers);
    }

    /** The encoder's conv stack (input channels last for colour images), or null without encoder layers. */
    public ConvStack encoderStack(String prefix, Activation act) {
        return encoder.isEmpty() ? null : new ConvStack(encoderLayers(channels, height, width, encoder, prefix, act), true, false);
    }

    /** The decoder's transposed-conv stack (output channels last for colour), or null without decoder layers. */
    public ConvStack decoderStack(String prefix, Activation act, Activation last) {
        return decoder.isEmpty() ? null : new ConvStack(decoderLayers(channels, height, width, decoder, prefix, act, last), false, true);
    }

    /** A model's encoder: this layout's conv stack (if any) then dense layers in, hidden..., out. */
    public static Network encoder(ConvLayout conv, String prefix, int inputDim, int[] hidden, int out, Activation act, Activation last) {
        ConvStack s = conv == null ? null : conv.encoderStack(prefix, act);
        if (s == null) return new Mlp(prefix, sizes(inputDim, hidden, out), act, last);
        return new ImageNet(s, new Mlp(prefix, sizes(s.out(), hidden, out), act, last), null);
    }

    /** A model's decoder: dense layers latent, hidden..., then this layout's transposed-conv stack (if any). */
    public static Network decoder(ConvLayout conv, String prefix, int latent, int[] hidden, int inputDim, Activation act, Activation last) {
        ConvStack s = conv == null ? null : conv.decoderStack(prefix, act, last);
        if (s == null) return new Mlp(prefix, sizes(latent, hidden, inputDim), act, last);
        return new ImageNet(null, new Mlp(prefix, sizes(latent, hidden, s.in()), act, act), s);
    }

    /** {@link #encoder} whose first dense layer also takes a one-hot label of {@code classes}. */
    public static ConditionalNetwork conditionalEncoder(ConvLayout conv, String prefix, int inputDim, int classes, int[] hidden, int out,
                                                        Activation act, Activation last) {
        ConvStack s = conv == null ? null : conv.encoderStack(prefix, act);
        if (s == null) return new ConditionalMlp(prefix, sizes(inputDim, hidden, out), classes, act, last);
        return new ConditionalImageNet(s, new ConditionalMlp(prefix, sizes(s.out(), hidden, out), classes, act, last), null);
    }

    /** {@link #decoder} whose first dense layer also takes a one-hot label of {@code classes}. */
    public static ConditionalNetwork conditionalDecoder(ConvLayout conv, String prefix, int latent, int classes, int[] hidden, int inputDim,
                                                        Activation act, Activation last) {
        ConvStack s = conv == null ? null : conv.decoderStack(prefix, act, last);
        if (s == null) return new ConditionalMlp(prefix, sizes(latent, hidden, inputDim), classes, act, last);
        return new ConditionalImageNet(null, new ConditionalMlp(prefix, sizes(latent, hidden, s.in()), classes, act, act), s);
    }

    private static int[] sizes(int in, int[] hidden, int out) {
        int[] s = new int[hidden.length + 2];
        s[0] = in;
        System.arraycopy(hidden, 0, s, 1, hidden.length);
        s[s.length - 1] = out;
        return s;
    }

    /** Checks that this layout's images have {@code inputDim} values. */
    public void checkInputDim(int inputDim) {
        if (inputDim() != inputDim) {
            throw new IllegalArgumentException("conv images of " + channels + "x" + height + "x" + width + " have " + inputDim()
                    + " values, the model takes " + inputDim);
        }
    }

    /** Adds "conv_image" [C, H, W], "encoder_conv" and "decoder_conv" (docs/FORMAT.md). */
    public void putJson(Map<String, Object> m) {
        m.put("conv_image", new int[]{channels, height, width});
        m.put("encoder_conv", encoderString());
        m.put("decoder_conv", decoderString());
    }

    /** The inverse of {@link #putJson}: null when {@code m} has no "conv_image" (a fully connected model). */
    public static ConvLayout fromJson(Map<String, Object> m) {
        if (!JsonFields.has(m, "conv_image")) return null;
        int[] img = JsonFields.ints(m, "conv_image");
        if (img.length != 3) throw new IllegalArgumentException("conv_image must be [channels, height, width], got " + img.length + " numbers");
        return new ConvLayout(img[0], img[1], img[2], parseSide(JsonFields.string(m, "encoder_conv"), CONV, "encoder"),
                parseSide(JsonFields.string(m, "decoder_conv"), DECONV, "decoder"));
    }

    @Override
    public String toString() {
        return encoderString() + " / " + decoderString() + " on " + channels + "x" + height + "x" + width;
    }
}
