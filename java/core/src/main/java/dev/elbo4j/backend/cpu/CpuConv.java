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
    /** The 4-wide kernel rows' copies and additions (conv layers with 4 x 4 kernels), the ReLU backward. */
    private static final F32Math MATH = F32Math.best();

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
        boolean f64 = x.isF64();
        CpuParallel.rows(batch * g.outPixels(), g.patchSize(), (from, to) -> {
            if (f64) im2colF64(x.d, x.off, g, cols.d, cols.off, from, to);
            else if (g.kernelW() == 4) im2colPadded4(x.f, x.off, g, cols.f, cols.off, from, to);
            else im2colF32(x.f, x.off, g, cols.f, cols.off, from, to);
        });
    }

    /** Rows of the zero-padded planes {@link #im2colPadded4} and {@link #col2im} work in: every window inside. */
    private static int paddedHeight(ConvGeometry g) {
        return Math.max(g.padding() + g.height(), (g.outHeight() - 1) * g.stride() + g.kernelH());
    }

    /** Columns of the zero-padded planes: every window inside. */
    private static int paddedWidth(ConvGeometry g) {
        return Math.max(g.padding() + g.width(), (g.outWidth() - 1) * g.stride() + g.kernelW());
    }

    /**
     * {@link #im2colF32} for 4-wide kernels: each image is first copied into zero-padded planes
     * (the image at row and column offset p) so that every window, the border ones too, is 4-wide
     * vector copies of whole kernel rows. The same values: the padding reads as the zeros
     * im2colF32 writes.
     */
    private static void im2colPadded4(float[] x, int xOff, ConvGeometry g, float[] cols, int colsOff, int from, int to) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH();
        int s = g.stride(), p = g.padding(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, image = g.inputSize(), outPixels = g.outPixels();
        int wp = paddedWidth(g), plane = paddedHeight(g) * wp;
        float[] xp = new float[c * plane];
        int loaded = -1;
        for (int r = from; r < to; r++) {
            int b = r / outPixels, pix = r % outPixels;
            if (b != loaded) {
                for (int ch = 0; ch < c; ch++) {
                    for (int y = 0; y < h; y++) System.arraycopy(x, xOff + b * image + ch * hw + y * w, xp, ch * plane + (y + p) * wp + p, w);
                }
                loaded = b;
            }
            MATH.im2colInside4(xp, (pix / ow) * s * wp + (pix % ow) * s, plane, wp, c, kh, cols, colsOff + r * patch);
        }
    }

    /**
     * Rows [from, to) of cols: for each channel and kernel row, the kernel columns j in [jLo, jHi)
     * that land inside the image are one contiguous run of the input row, the rest are padding.
     */
    private static void im2colF32(float[] x, int xOff, ConvGeometry g, float[] cols, int colsOff, int from, int to) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, image = g.inputSize(), outPixels = g.outPixels();
        for (int r = from; r < to; r++) {
            int b = r / outPixels, pix = r % outPixels, y0 = (pix / ow) * s - p, x0 = (pix % ow) * s - p;
            int jLo = Math.max(0, -x0), jHi = Math.max(jLo, Math.min(kw, w - x0));
            int dst = colsOff + r * patch;
            if (kw == 4 && jLo == 0 && jHi == 4 && y0 >= 0 && y0 + kh <= h) {
                MATH.im2colInside4(x, xOff + b * image + y0 * w + x0, hw, w, c, kh, cols, dst);
                continue;
            }
            for (int ch = 0; ch < c; ch++) {
                int plane = xOff + b * image + ch * hw;
                for (int i = 0; i < kh; i++, dst += kw) {
                    int yy = y0 + i;
                    if (yy < 0 || yy >= h) {
                        for (int j = 0; j < kw; j++) cols[dst + j] = 0f;
                        continue;
                    }
                    int src = plane + yy * w + x0;
                    for (int j = 0; j < jLo; j++) cols[dst + j] = 0f;
                    for (int j = jLo; j < jHi; j++) cols[dst + j] = x[src + j];
                    for (int j = jHi; j < kw; j++) cols[dst + j] = 0f;
                }
            }
        }
    }

    /** {@link #im2colF32} in F64. */
    private static void im2colF64(double[] x, int xOff, ConvGeometry g, double[] cols, int colsOff, int from, int to) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, image = g.inputSize(), outPixels = g.outPixels();
        for (int r = from; r < to; r++) {
            int b = r / outPixels, pix = r % outPixels, y0 = (pix / ow) * s - p, x0 = (pix % ow) * s - p;
            int jLo = Math.max(0, -x0), jHi = Math.max(jLo, Math.min(kw, w - x0));
            int dst = colsOff + r * patch;
            for (int ch = 0; ch < c; ch++) {
                int plane = xOff + b * image + ch * hw;
                for (int i = 0; i < kh; i++, dst += kw) {
                    int yy = y0 + i;
                    if (yy < 0 || yy >= h) {
                        for (int j = 0; j < kw; j++) cols[dst + j] = 0.0;
                        continue;
                    }
                    int src = plane + yy * w + x0;
                    for (int j = 0; j < jLo; j++) cols[dst + j] = 0.0;
                    for (int j = jLo; j < jHi; j++) cols[dst + j] = x[src + j];
                    for (int j = jHi; j < kw; j++) cols[dst + j] = 0.0;
                }
            }
        }
    }

    /**
     * See {@link dev.elbo4j.backend.Backend#col2im}: each pixel is the sum, in double from 0 and
     * rounded once, of the cols entries of the windows that read it, kernel row outer and kernel
     * column inner, both increasing (what kernels/conv.cu's gather adds up).
     *
     * <p>Computed as a scatter so cols is read once, in order: per image, a double accumulator
     * receives each window's row of cols, windows visited from the last output pixel to the first.
     * A pixel read by windows (oh, ow) at kernel offsets (i, j) = (y + p - oh s, x + p - ow s)
     * therefore receives them with oh decreasing, i.e. i increasing, and within one oh with ow
     * decreasing, i.e. j increasing: the gather's order, so the same additions and the same bits.
     */
    static void col2im(CpuTensor cols, ConvGeometry g, CpuTensor dx) {
        sameDtype("col2im", cols, dx);
        checkImages("col2im", "dx", dx, g);
        int batch = dx.rows();
        checkCols("col2im", cols, batch, g);
        boolean f64 = dx.isF64();
        if (!f64 && g.kernelW() == 4) {
            CpuParallel.rows(batch, g.outPixels() * g.patchSize(), (from, to) -> col2imPadded4(cols, g, dx, from, to));
            return;
        }
        CpuParallel.rows(batch, g.outPixels() * g.patchSize(), (from, to) -> {
            double[] acc = new double[g.inputSize()];
            for (int b = from; b < to; b++) {
                java.util.Arrays.fill(acc, 0.0);
                int image = dx.off + b * g.inputSize();
                if (f64) {
                    col2imScatter(cols.d, cols.off, g, b, acc);
                    System.arraycopy(acc, 0, dx.d, image, acc.length);
                } else {
                    col2imScatter(cols.f, cols.off, g, b, acc);
                    for (int k = 0; k < acc.length; k++) dx.f[image + k] = (float) acc[k];
                }
            }
        });
    }

    /**
     * {@link #col2im} of F32 cols for 4-wide kernels, images [from, to): the accumulator is the
     * image in zero-padded planes (at row and column offset p), so every window, the border ones
     * too, adds whole 4-wide kernel rows; the terms that fall in the padding are dropped when the
     * image is read out. Each pixel receives the same terms in the same order as in
     * {@link #col2imScatter}: the same bits.
     */
    private static void col2imPadded4(CpuTensor cols, ConvGeometry g, CpuTensor dx, int from, int to) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH();
        int s = g.stride(), p = g.padding(), oh = g.outHeight(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w, wp = paddedWidth(g), plane = paddedHeight(g) * wp;
        double[] acc = new double[c * plane];
        float[] cf = cols.f, out = dx.f;
        for (int b = from; b < to; b++) {
            java.util.Arrays.fill(acc, 0.0);
            // Channels in blocks of four, so the planes being added to stay in L1: a pixel's terms
            // come from its own channel only, so their order is still the windows' order.
            for (int c0 = 0; c0 < c; c0 += 4) {
                int n = Math.min(4, c - c0), q0 = cols.off + c0 * kh * 4, a0 = c0 * plane;
                for (int oy = oh - 1; oy >= 0; oy--) {
                    for (int ox = ow - 1; ox >= 0; ox--) {
                        int row = q0 + ((b * oh + oy) * ow + ox) * patch;
                        MATH.col2imInside4(cf, row, n, kh, 0, kh, plane, wp, acc, a0 + oy * s * wp + ox * s);
                    }
                }
            }
            int image = dx.off + b * g.inputSize();
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    int src = ch * plane + (y + p) * wp + p, dst = image + ch * hw + y * w;
                    for (int k = 0; k < w; k++) out[dst + k] = (float) acc[src + k];
                }
            }
        }
    }

    /** Adds image b's windows of F32 cols into acc, last window first. */
    private static void col2imScatter(float[] cols, int colsOff, ConvGeometry g, int b, double[] acc) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), oh = g.outHeight(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w;
        for (int oy = oh - 1; oy >= 0; oy--) {
            int y0 = oy * s - p, iLo = Math.max(0, -y0), iHi = Math.min(kh, h - y0);
            for (int ox = ow - 1; ox >= 0; ox--) {
                int x0 = ox * s - p, jLo = Math.max(0, -x0), jHi = Math.min(kw, w - x0);
                int row = colsOff + ((b * oh + oy) * ow + ox) * patch;
                if (kw == 4 && jLo == 0 && jHi == 4) {
                    MATH.col2imInside4(cols, row, c, kh, iLo, iHi, hw, w, acc, y0 * w + x0);
                    continue;
                }
                for (int ch = 0; ch < c; ch++) {
                    for (int i = iLo; i < iHi; i++) {
                        int a = ch * hw + (y0 + i) * w + x0, q = row + (ch * kh + i) * kw;
                        for (int j = jLo; j < jHi; j++) acc[a + j] += cols[q + j];
                    }
                }
            }
        }
    }

    /** Adds image b's windows of F64 cols into acc, last window first. */
    private static void col2imScatter(double[] cols, int colsOff, ConvGeometry g, int b, double[] acc) {
        int c = g.channels(), h = g.height(), w = g.width(), kh = g.kernelH(), kw = g.kernelW();
        int s = g.stride(), p = g.padding(), oh = g.outHeight(), ow = g.outWidth(), patch = g.patchSize();
        int hw = h * w;
        for (int oy = oh - 1; oy >= 0; oy--) {
            int y0 = oy * s - p, iLo = Math.max(0, -y0), iHi = Math.min(kh, h - y0);
            for (int ox = ow - 1; ox >= 0; ox--) {
                int x0 = ox * s - p, jLo = Math.max(0, -x0), jHi = Math.min(kw, w - x0);
                int row = colsOff + ((b * oh + oy) * ow + ox) * patch;
                for (int ch = 0; ch < c; ch++) {
                    for (int i = iLo; i < iHi; i++) {
                        int a = ch * hw + (y0 + i) * w + x0, q = row + (ch * kh + i) * kw;
                        for (int j = jLo; j < jHi; j++) acc[a + j] += cols[q + j];
                    }
                }
            }
        }
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
                    if (f64) {
                        double[] in = rows.d, out = images.d;
                        for (int px = 0; px < pixels; px++) out[dst + px] = in[src + px * ch];
                    } else {
                        float[] in = rows.f, out = images.f;
                        for (int px = 0; px < pixels; px++) out[dst + px] = in[src + px * ch];
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
                    if (f64) {
                        double[] in = images.d, out = rows.d;
                        for (int c = 0; c < ch; c++) out[dst + c] = in[src + c * pixels];
                    } else {
                        float[] in = images.f, out = rows.f;
                        for (int c = 0; c < ch; c++) out[dst + c] = in[src + c * pixels];
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
        if (dBias == null) {
            if (act == Activation.IDENTITY) return;
            CpuParallel.rows(batch * channels, pixels, (from, to) -> {
                for (int plane = from; plane < to; plane++) activationBackward(y, dy, act, plane * pixels, pixels);
            });
            return;
        }
        // One pass: each thread owns whole channels and, image by image, scales their planes and
        // adds them into that channel's double sum. Per channel the additions keep the documented order
        // (b increasing, then p); four channels' sums advance side by side, as independent chains.
        CpuParallel.rows(channels, batch * pixels, (from, to) -> {
            double[] s = new double[to - from];
            for (int b = 0; b < batch; b++) {
                int base = (b * channels) * pixels;
                if (act != Activation.IDENTITY) {
                    for (int c = from; c < to; c++) activationBackward(y, dy, act, base + c * pixels, pixels);
                }
                int c = from;
                for (; c + 4 <= to; c += 4) {
                    int o = dy.off + base + c * pixels, k = c - from;
                    if (f64) sum4(dy.d, o, pixels, s, k);
                    else sum4(dy.f, o, pixels, s, k);
                }
                for (; c < to; c++) {
                    int o = dy.off + base + c * pixels, k = c - from;
                    double t = s[k];
                    if (f64) {
                        double[] g = dy.d;
                        for (int px = 0; px < pixels; px++) t += g[o + px];
                    } else {
                        float[] g = dy.f;
                        for (int px = 0; px < pixels; px++) t += g[o + px];
                    }
                    s[k] = t;
                }
            }
            for (int c = from; c < to; c++) dBias.set(c, s[c - from]);
        });
    }

    /** dy *= act'(y) on the {@code pixels} elements from offset {@code at} of both tensors. */
    private static void activationBackward(CpuTensor y, CpuTensor dy, Activation act, int at, int pixels) {
        int oy = y.off + at, og = dy.off + at;
        if (y.isF64()) {
            for (int px = 0; px < pixels; px++) dy.d[og + px] *= act.derivativeFromOutput(y.d[oy + px]);
        } else if (act == Activation.RELU) {
            // derivativeFromOutput's y > 0 ? 1 : 0, multiplied in, without the call and the widening.
            MATH.reluDerivativeMul(y.f, oy, dy.f, og, pixels);
        } else {
            for (int px = 0; px < pixels; px++) dy.f[og + px] *= (float) act.derivativeFromOutput(y.f[oy + px]);
        }
    }

    /** s[k..k+3] += the planes of {@code pixels} values from o, o + pixels, ...: each sum in order. */
    private static void sum4(float[] g, int o, int pixels, double[] s, int k) {
        double s0 = s[k], s1 = s[k + 1], s2 = s[k + 2], s3 = s[k + 3];
        int o1 = o + pixels, o2 = o1 + pixels, o3 = o2 + pixels;
        for (int px = 0; px < pixels; px++) {
            s0 += g[o + px];
            s1 += g[o1 + px];
            s2 += g[o2 + px];
            s3 += g[o3 + px];
        }
        s[k] = s0;
        s[k + 1] = s1;
        s[k + 2] = s2;
        s[k + 3] = s3;
    }

    /** {@link #sum4} in F64. */
    private static void sum4(double[] g, int o, int pixels, double[] s, int k) {
        double s0 = s[k], s1 = s[k + 1], s2 = s[k + 2], s3 = s[k + 3];
        int o1 = o + pixels, o2 = o1 + pixels, o3 = o2 + pixels;
        for (int px = 0; px < pixels; px++) {
            s0 += g[o + px];
            s1 += g[o1 + px];
            s2 += g[o2 + px];
            s3 += g[o3 + px];
        }
        s[k] = s0;
        s[k + 1] = s1;
        s[k + 2] = s2;
        s[k + 3] = s3;
    }
}
