package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;

/**
 * CPU reference of {@code kernels/conv.cu}: im2col and its adjoint col2im, the channels-last /
 * channels-first permutations, and the per-channel bias + activation of NCHW images (forward and
 * backward). Each output element is written by one thread from a fixed-order computation, so the
 * results do not depend on how rows are split across cores.
 */
final class CpuConv {
    private CpuConv() {
    }

    private static void sameDtype(String op, CpuTensor a, CpuTensor b) {
        if (a.dtype() != b.dtype()) throw new IllegalArgumentException(op + ": " + a.dtype() + " and " + b.dtype() + " tensors");
    }

    private static void checkImages(String op, String name, CpuTensor x, ConvGeometry g) {
        if (x.rows() < 1 || x.cols() != g.inputSize()) {
            throw new IllegalArgumentException(op + ": " + name + " " + x.shape() + " must be B x " + g.inputSize()
                    + " for " + g);
        }
    }

    private static void checkCols(String op, CpuTensor cols, int batch, ConvGeometry g) {
        if (cols.rows() != batch * g.outPixels() || cols.cols() != g.patchSize()) {
            throw new IllegalArgumentException(op + ": cols " + cols.shape() + " must be " + batch * g.outPixels() + " x "
                    + g.patchSize() + " for a batch of " + batch + " and " + g);
        }
    }

    /** See {@link dev.elbo4j.backend.Backend#im2col}. */
    static void im2col(CpuTensor x, ConvGeometry g, CpuTensor cols) {
        sameDtype("im2col", x, cols);
        checkImages("im2col", "x", x, g);
        int batch = x.rows();
        checkCols("im2col", cols, batch, g);
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, image = g.inputSize(), outPixels = g.outPixels();
        boolean f64 = x.isF64();
        CpuParallel.rows(batch * outPixels, patch, (from, to) -> {
            for (int r = from; r < to; r++) {
                int b = r / outPixels, pix = r % outPixels, y0 = (pix / ow) * s - p, x0 = (pix % ow) * s - p;
                int src = x.off + b * image, dst = cols.off + r * patch;
                for (int ch = 0; ch < c; ch++) {
                    for (int i = 0; i < kh; i++) {
                        int yy = y0 + i;
                        boolean rowIn = yy >= 0 && yy < h;
                        for (int j = 0; j < kw; j++, dst++) {
                            int xx = x0 + j;
                            boolean in = rowIn && xx >= 0 && xx < w;
                            int at = src + ch * hw + yy * w + xx;
                            if (f64) cols.d[dst] = in ? x.d[at] : 0.0;
                            else cols.f[dst] = in ? x.f[at] : 0f;
                        }
                    }
                }
            }
        });
    }

    /**
     * For each input coordinate 0..size-1 along one axis, the kernel offsets that read it, in
     * increasing order, and the output coordinate of each: taps[c] = {k0, o0, k1, o1, ...} with
     * o = (c + padding - k) / stride whole and in [0, out). Precomputed so col2im's inner loop
     * has no division; the order (and so the sum) is that of a loop over every k.
     */
    private static int[][] taps(int size, int kernel, int stride, int padding, int out) {
        int[][] taps = new int[size][];
        int[] buf = new int[2 * kernel];
        for (int c = 0; c < size; c++) {
            int n = 0;
            for (int k = 0; k < kernel; k++) {
                int t = c + padding - k;
                if (t < 0 || t % stride != 0 || t / stride >= out) continue;
                buf[n++] = k;
                buf[n++] = t / stride;
            }
            taps[c] = java.util.Arrays.copyOf(buf, n);
        }
        return taps;
    }

    /** See {@link dev.elbo4j.backend.Backend#col2im}. */
    static void col2im(CpuTensor cols, ConvGeometry g, CpuTensor dx) {
        sameDtype("col2im", cols, dx);
        checkImages("col2im", "dx", dx, g);
        int batch = dx.rows();
        checkCols("col2im", cols, batch, g);
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), oh = g.outHeight(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, outPixels = g.outPixels();
        int[][] yTaps = taps(h, kh, s, p, oh), xTaps = taps(w, kw, s, p, ow);
        boolean f64 = dx.isF64();
        // One row of work per (image, channel) plane; every pixel gathers from the windows reading it,
        // kernel row outer, kernel column inner, both increasing.
        CpuParallel.rows(batch * c, hw * kh * kw, (from, to) -> {
            for (int plane = from; plane < to; plane++) {
                int b = plane / c, ch = plane % c, out = dx.off + plane * hw;
                int base = cols.off + b * outPixels * patch + ch * kh * kw;
                for (int yy = 0; yy < h; yy++) {
                    int[] ty = yTaps[yy];
                    for (int xx = 0; xx < w; xx++) {
                        int[] tx = xTaps[xx];
                        double sum = 0;
                        for (int a = 0; a < ty.length; a += 2) {
                            int rowOff = base + ty[a] * kw, pixRow = ty[a + 1] * ow;
                            for (int e = 0; e < tx.length; e += 2) {
                                int at = rowOff + (pixRow + tx[e + 1]) * patch + tx[e];
                                sum += f64 ? cols.d[at] : cols.f[at];
                            }
                        }
                        if (f64) dx.d[out + yy * w + xx] = sum;
                        else dx.f[out + yy * w + xx] = (float) sum;
                    }
                }
            }
        });
    }

    private static int checkPermute(String op, CpuTensor rows, int pixels, CpuTensor images) {
        sameDtype(op, rows, images);
        boolean shared = (rows.f != null && rows.f == images.f) || (rows.d != null && rows.d == images.d);
        if (shared && overlaps(rows, images)) throw new IllegalArgumentException(op + ": rows and images must not overlap");
        int batch = images.rows(), ch = rows.cols();
        if (pixels < 1 || batch < 1 || rows.rows() != batch * pixels || images.cols() != ch * pixels) {
            throw new IllegalArgumentException(op + ": rows " + rows.shape() + " and images " + images.shape()
                    + " are not (B*P) x C and B x (C*P) with P = " + pixels);
        }
        return batch;
    }

    private static boolean overlaps(CpuTensor a, CpuTensor b) {
        return a.off < b.off + b.size() && b.off < a.off + a.size();
    }

    /** See {@link dev.elbo4j.backend.Backend#toChannelsFirst}. */
    static void toChannelsFirst(CpuTensor rows, int pixels, CpuTensor images) {
        int batch = checkPermute("toChannelsFirst", rows, pixels, images), ch = rows.cols(), image = ch * pixels;
        boolean f64 = rows.isF64();
        CpuParallel.rows(batch, image, (from, to) -> {
            for (int b = from; b < to; b++) {
                for (int c = 0; c < ch; c++) {
                    int dst = images.off + b * image + c * pixels, src = rows.off + b * image + c;
                    for (int px = 0; px < pixels; px++) {
                        if (f64) images.d[dst + px] = rows.d[src + px * ch];
                        else images.f[dst + px] = rows.f[src + px * ch];
                    }
                }
            }
        });
    }

    /** See {@link dev.elbo4j.backend.Backend#toChannelsLast}. */
    static void toChannelsLast(CpuTensor images, int pixels, CpuTensor rows) {
        int batch = checkPermute("toChannelsLast", rows, pixels, images), ch = rows.cols(), image = ch * pixels;
        boolean f64 = rows.isF64();
        CpuParallel.rows(batch, image, (from, to) -> {
            for (int b = from; b < to; b++) {
                for (int px = 0; px < pixels; px++) {
                    int dst = rows.off + b * image + px * ch, src = images.off + b * image + px;
                    for (int c = 0; c < ch; c++) {
                        if (f64) rows.d[dst + c] = images.d[src + c * pixels];
                        else rows.f[dst + c] = images.f[src + c * pixels];
                    }
                }
            }
        });
    }

    private static int planePixels(String op, CpuTensor y, int channels, CpuTensor bias) {
        if (channels < 1 || y.cols() % channels != 0) {
            throw new IllegalArgumentException(op + ": rows of " + y.cols() + " are not " + channels + " channel planes");
        }
        if (bias != null && bias.size() != channels) {
            throw new IllegalArgumentException(op + ": bias " + bias.shape() + " must have " + channels + " elements");
        }
        if (bias != null) sameDtype(op, y, bias);
        return y.cols() / channels;
    }

    /** See {@link dev.elbo4j.backend.Backend#channelBiasActivation}. */
    static void channelBiasActivation(CpuTensor y, CpuTensor bias, int channels, Activation act) {
        int pixels = planePixels("channelBiasActivation", y, channels, bias);
        boolean f64 = y.isF64();
        CpuParallel.rows(y.rows() * channels, pixels, (from, to) -> {
            for (int plane = from; plane < to; plane++) {
                int c = plane % channels, o = y.off + plane * pixels;
                if (f64) {
                    double add = bias == null ? 0 : bias.d[bias.off + c];
                    for (int px = 0; px < pixels; px++) y.d[o + px] = act.apply(y.d[o + px] + add);
                } else {
                    float add = bias == null ? 0f : bias.f[bias.off + c];
                    switch (act) {
                        case RELU -> {
                            for (int px = 0; px < pixels; px++) y.f[o + px] = Math.max(y.f[o + px] + add, 0f);
                        }
                        case IDENTITY -> {
                            for (int px = 0; px < pixels; px++) y.f[o + px] += add;
                        }
                        default -> {
                            for (int px = 0; px < pixels; px++) y.f[o + px] = (float) act.apply(y.f[o + px] + add);
                        }
                    }
                }
            }
        });
    }

    /** See {@link dev.elbo4j.backend.Backend#channelBiasActivationBackward}. */
    static void channelBiasActivationBackward(CpuTensor y, CpuTensor dy, int channels, Activation act, CpuTensor dBias) {
        int pixels = planePixels("channelBiasActivationBackward", y, channels, dBias);
        sameDtype("channelBiasActivationBackward", y, dy);
        if (dy.rows() != y.rows() || dy.cols() != y.cols()) {
            throw new IllegalArgumentException("channelBiasActivationBackward: dy " + dy.shape() + " must match y " + y.shape());
        }
        boolean f64 = y.isF64();
        int batch = y.rows();
        if (act != Activation.IDENTITY) {
            CpuParallel.rows(batch * channels, pixels, (from, to) -> {
                for (int plane = from; plane < to; plane++) {
                    int oy = y.off + plane * pixels, og = dy.off + plane * pixels;
                    for (int px = 0; px < pixels; px++) {
                        if (f64) dy.d[og + px] *= act.derivativeFromOutput(y.d[oy + px]);
                        else dy.f[og + px] *= (float) act.derivativeFromOutput(y.f[oy + px]);
                    }
                }
            });
        }
        if (dBias == null) return;
        CpuParallel.rows(channels, batch * pixels, (from, to) -> {
            for (int c = from; c < to; c++) {
                double s = 0;
                for (int b = 0; b < batch; b++) {
                    int o = dy.off + (b * channels + c) * pixels;
                    for (int px = 0; px < pixels; px++) s += f64 ? dy.d[o + px] : dy.f[o + px];
                }
                dBias.set(c, s);
            }
        });
    }
}
