package dev.elbo4j.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One layer of a conv architecture string: {@code CxK[sS][pP]}, C channels (a conv layer's
 * output channels; a transposed-conv layer's input channels), a K x K kernel, stride S (default 1),
 * padding P (default 0). "32x4s2p1" is 32 channels, 4 x 4, stride 2, padding 1.
 *
 * @param channels C: output planes of a conv layer, input planes of a transposed-conv layer
 * @param kernel   K, the side of the square kernel
 * @param stride   S, the step of the window (default 1)
 * @param padding  P, zeros added on every side (default 0)
 */
public record ConvLayerSpec(int channels, int kernel, int stride, int padding) {
    private static final Pattern TOKEN = Pattern.compile("(\\d{1,6})x(\\d{1,3})(?:s(\\d{1,3}))?(?:p(\\d{1,3}))?");

    /**
     * Checks the numbers: channels, kernel and stride at least 1, padding at least 0.
     *
     * @throws IllegalArgumentException naming the token when one is out of range
     */
    public ConvLayerSpec {
        if (channels < 1 || kernel < 1 || stride < 1 || padding < 0) {
            throw new IllegalArgumentException("layer " + token(channels, kernel, stride, padding)
                    + ": channels, kernel and stride must be >= 1 and padding >= 0");
        }
    }

    private static String token(int c, int k, int s, int p) {
        return c + "x" + k + (s != 1 ? "s" + s : "") + (p != 0 ? "p" + p : "");
    }

    /** The token, in its shortest form ("32x4s2p1", "16x3"). */
    @Override
    public String toString() {
        return token(channels, kernel, stride, padding);
    }

    /** Parses one token; the message names it and the grammar. */
    public static ConvLayerSpec parse(String token) {
        Matcher m = TOKEN.matcher(token.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("bad layer '" + token + "' (expected CxK[sS][pP], e.g. 32x4s2p1)");
        }
        return new ConvLayerSpec(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                m.group(3) == null ? 1 : Integer.parseInt(m.group(3)), m.group(4) == null ? 0 : Integer.parseInt(m.group(4)));
    }

    /** Parses comma-separated tokens ("32x4s2p1,64x4s2p1"); at least one. */
    public static List<ConvLayerSpec> parseList(String layers) {
        if (layers == null || layers.isBlank()) throw new IllegalArgumentException("no layers (expected e.g. 32x4s2p1,64x4s2p1)");
        List<ConvLayerSpec> out = new ArrayList<>();
        for (String t : layers.split(",", -1)) out.add(parse(t));
        return List.copyOf(out);
    }

    /** The tokens joined by commas: the inverse of {@link #parseList}. */
    public static String join(List<ConvLayerSpec> layers) {
        StringBuilder b = new StringBuilder();
        for (ConvLayerSpec l : layers) b.append(b.isEmpty() ? "" : ",").append(l);
        return b.toString();
    }
}
