package dev.elbo4j.backend;

/**
 * The shape of one 2-D convolution (dilation 1, one stride and one padding for both axes): an
 * input of {@code channels} planes of {@code height x width} pixels, a {@code kernelH x kernelW}
 * window moved by {@code stride}, the input padded with {@code padding} zeros on every side. The
 * output has {@link #outHeight()} x {@link #outWidth()} pixels per output channel.
 *
 * <p>The same geometry describes a transposed convolution the other way round: its input is the
 * convolution's output grid ({@code outHeight x outWidth}) and its output the convolution's input
 * ({@code channels x height x width}); see {@link #transposed}.
 *
 * @param channels C, input planes
 * @param height   H, input rows
 * @param width    W, input columns
 * @param kernelH  KH, kernel rows
 * @param kernelW  KW, kernel columns
 * @param stride   the window's step along both axes
 * @param padding  zeros added on every side of the input
 */
public record ConvGeometry(int channels, int height, int width, int kernelH, int kernelW, int stride, int padding) {

    /**
     * Checks the geometry: every size, the kernel and the stride at least 1, {@code padding} in [0,
     * min(kernelH, kernelW)), the kernel no larger than the padded image, and an image and a patch of at most
     * 2^31-1 elements.
     *
     * @throws IllegalArgumentException naming the size that breaks one of those
     */
    public ConvGeometry {
        positive("channels", channels);
        positive("height", height);
        positive("width", width);
        positive("kernel height", kernelH);
        positive("kernel width", kernelW);
        positive("stride", stride);
        if (padding < 0) throw new IllegalArgumentException("convolution padding must be >= 0, got " + padding);
        if (padding >= kernelH || padding >= kernelW) {
            throw new IllegalArgumentException("convolution padding " + padding + " must be smaller than the kernel "
                    + kernelH + "x" + kernelW + " (a window of padding only would see no pixel)");
        }
        if ((long) height + 2L * padding < kernelH || (long) width + 2L * padding < kernelW) {
            throw new IllegalArgumentException("a " + kernelH + "x" + kernelW + " kernel does not fit a " + height + "x" + width
                    + " image with padding " + padding);
        }
        if ((long) channels * height * width > Integer.MAX_VALUE
                || (long) channels * kernelH * kernelW > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("convolution of " + channels + "x" + height + "x" + width + " with a "
                    + kernelH + "x" + kernelW + " kernel is too large");
        }
    }

    /** A square kernel. */
    public static ConvGeometry of(int channels, int height, int width, int kernel, int stride, int padding) {
        return new ConvGeometry(channels, height, width, kernel, kernel, stride, padding);
    }

    /**
     * The geometry of a transposed convolution from an {@code inH x inW} grid to
     * {@code channels} planes of ({@code (in - 1) stride - 2 padding + kernel + outputPadding}) pixels,
     * PyTorch's ConvTranspose2d output size; {@code 0 <= outputPadding < stride}.
     */
    public static ConvGeometry transposed(int channels, int inH, int inW, int kernel, int stride, int padding,
                                          int outputPadding) {
        positive("input height", inH);
        positive("input width", inW);
        positive("stride", stride);
        if (outputPadding < 0 || outputPadding >= stride) {
            throw new IllegalArgumentException("output padding must be in [0, stride " + stride + "), got " + outputPadding);
        }
        long h = (long) (inH - 1) * stride - 2L * padding + kernel + outputPadding;
        long w = (long) (inW - 1) * stride - 2L * padding + kernel + outputPadding;
        if (h < 1 || w < 1 || h > Integer.MAX_VALUE || w > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a transposed convolution of a " + inH + "x" + inW + " grid with kernel "
                    + kernel + ", stride " + stride + ", padding " + padding + " has no valid output size");
        }
        ConvGeometry g = of(channels, (int) h, (int) w, kernel, stride, padding);
        if (g.outHeight() != inH || g.outWidth() != inW) throw new AssertionError(g + " does not invert " + inH + "x" + inW);
        return g;
    }

    private static void positive(String what, int v) {
        if (v < 1) throw new IllegalArgumentException("convolution " + what + " must be >= 1, got " + v);
    }

    /** floor((height + 2 padding - kernelH) / stride) + 1. */
    public int outHeight() {
        return (height + 2 * padding - kernelH) / stride + 1;
    }

    /** floor((width + 2 padding - kernelW) / stride) + 1. */
    public int outWidth() {
        return (width + 2 * padding - kernelW) / stride + 1;
    }

    /** Pixels of one output plane, outHeight x outWidth. */
    public int outPixels() {
        return outHeight() * outWidth();
    }

    /** Pixels of one input plane, height x width. */
    public int inPixels() {
        return height * width;
    }

    /** Elements of one input image, channels x height x width (a row of the NCHW input). */
    public int inputSize() {
        return channels * height * width;
    }

    /** Elements of one patch, channels x kernelH x kernelW (a row of the im2col matrix). */
    public int patchSize() {
        return channels * kernelH * kernelW;
    }

    /** For messages: "CxHxW k KHxKW s S p P -> OHxOW". */
    @Override
    public String toString() {
        return channels + "x" + height + "x" + width + " k" + kernelH + "x" + kernelW + " s" + stride + " p" + padding
                + " -> " + outHeight() + "x" + outWidth();
    }
}
