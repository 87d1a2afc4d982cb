package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/conv.cu}, the CUDA side of {@link dev.elbo4j.backend.Backend}'s
 * conv ops (semantics in its javadoc; docs/CONV.md; CPU reference {@code CpuConv}). Every call checks
 * dtypes (F32; F64 is {@link UnsupportedOperationException}, as for the rest of the backend), shapes
 * and overlaps before it enqueues anything. The kernels index in 32 bits, which every tensor allows
 * ({@link dev.elbo4j.tensor.Shape} holds at most 2^31 - 1 elements).
 */
final class CudaConv {
    /** Elements of one channel a work item of the bias gradient sums, at least (16 per thread of its 256). */
    static final int CHANNEL_CHUNK_ELEMENTS = 4096;
    /** Chunks each channel's B x P elements are cut into, at most (their partials: chunks x C doubles). */
    static final int MAX_CHANNEL_CHUNKS = 256;

    private CudaConv() {
    }

    /**
     * Elements per chunk of the per-channel bias gradient over {@code batch} images of {@code pixels}
     * pixels per plane (each channel's B x P elements in the order image, pixel): a function of the
     * shape alone, so the sum's bits are; {@link #CHANNEL_CHUNK_ELEMENTS}, or more where that would
     * make more than {@link #MAX_CHANNEL_CHUNKS} chunks.
     */
    static int chunkElements(int batch, int pixels) {
        long total = Math.max(1L, (long) batch * pixels);
        return (int) Math.max(CHANNEL_CHUNK_ELEMENTS, Kernels.ceilDiv(total, MAX_CHANNEL_CHUNKS));
    }

    /** Chunks of {@link #chunkElements}. */
    static int channelChunks(int batch, int pixels) {
        return (int) Kernels.ceilDiv(Math.max(1L, (long) batch * pixels), chunkElements(batch, pixels));
    }

    private static void checkImages(String op, String name, DeviceTensor x, ConvGeometry g) {
        if (x.rows() < 1 || x.cols() != g.inputSize()) {
            throw new IllegalArgumentException(op + ": " + name + " " + x.shape() + " must be B x " + g.inputSize()
                    + " for " + g);
        }
    }

    private static void checkCols(String op, DeviceTensor cols, int batch, ConvGeometry g) {
        if ((long) cols.rows() != (long) batch * g.outPixels() || cols.cols() != g.patchSize()) {
            throw new IllegalArgumentException(op + ": cols " + cols.shape() + " must be " + (long) batch * g.outPixels()
                    + " x " + g.patchSize() + " for a batch of " + batch + " and " + g);
        }
    }

    private static void geometryArgs(KernelArgs a, int batch, ConvGeometry g) {
        a.i32(batch).i32(g.channels()).i32(g.height()).i32(g.width()).i32(g.kernelH()).i32(g.kernelW())
                .i32(g.stride()).i32(g.padding()).i32(g.outHeight()).i32(g.outWidth());
    }

    private static int elementwiseGrid(CudaBackend be, KernelSpec k, long work) {
        return Kernels.blocks(work, Kernels.BLOCK_ELEMENTWISE, be.wave(k));
    }

    static void im2col(CudaBackend be, Tensor x, ConvGeometry g, Tensor cols) {
        DeviceTensor dx = be.f32(x, "x"), dc = be.f32(cols, "cols");
        checkImages("im2col", "x", dx, g);
        int batch = dx.rows();
        checkCols("im2col", dc, batch, g);
        if (dc.overlaps(dx)) throw new IllegalArgumentException("im2col: x and cols must not overlap");
        be.prepare();
        KernelArgs a = be.args().clear().ptr(dx.address()).ptr(dc.address());
        geometryArgs(a, batch, g);
        be.launch(Kernels.IM2COL, elementwiseGrid(be, Kernels.IM2COL, dc.size()));
    }

    static void col2im(CudaBackend be, Tensor cols, ConvGeometry g, Tensor dx) {
        DeviceTensor dc = be.f32(cols, "cols"), out = be.f32(dx, "dx");
        checkImages("col2im", "dx", out, g);
        int batch = out.rows();
        checkCols("col2im", dc, batch, g);
        if (dc.overlaps(out)) throw new IllegalArgumentException("col2im: cols and dx must not overlap");
        be.prepare();
        KernelArgs a = be.args().clear().ptr(dc.address()).ptr(out.address());
        geometryArgs(a, batch, g);
        be.launch(Kernels.COL2IM, elementwiseGrid(be, Kernels.COL2IM, out.size()));
    }

    private static int checkPermute(String op, DeviceTensor rows, int pixels, DeviceTensor images) {
        if (rows.overlaps(images)) throw new IllegalArgumentException(op + ": rows and images must not overlap");
        int batch = images.rows(), ch = rows.cols();
        if (pixels < 1 || batch < 1 || (long) rows.rows() != (long) batch * pixels
                || (long) images.cols() != (long) ch * pixels) {
            throw new IllegalArgumentException(op + ": rows " + rows.shape() + " and images " + images.shape()
                    + " are not (B*P) x C and B x (C*P) with P = " + pixels);
        }
        return batch;
    }

    /** dst[b] = src[b]^T for {@code batch} row-major matrices of {@code r} x {@code c}. */
    private static void transpose(CudaBackend be, DeviceTensor src, DeviceTensor dst, int batch, int r, int c) {
        be.prepare();
        KernelArgs a = be.args().clear();
        if (src.size() == 0) return;
        long items = batch * Kernels.ceilDiv(r, 32) * Kernels.ceilDiv(c, 32);
        a.ptr(src.address()).ptr(dst.address()).i32(batch).i32(r).i32(c);
        be.launch(Kernels.CHANNELS_TRANSPOSE, Kernels.blocks(items, 1, be.wave(Kernels.CHANNELS_TRANSPOSE)));
    }

    static void toChannelsFirst(CudaBackend be, Tensor rows, int pixels, Tensor images) {
        DeviceTensor r = be.f32(rows, "rows"), im = be.f32(images, "images");
        int batch = checkPermute("toChannelsFirst", r, pixels, im);
        transpose(be, r, im, batch, pixels, r.cols());
    }

    static void toChannelsLast(CudaBackend be, Tensor images, int pixels, Tensor rows) {
        DeviceTensor im = be.f32(images, "images"), r = be.f32(rows, "rows");
        int batch = checkPermute("toChannelsLast", r, pixels, im);
        transpose(be, im, r, batch, r.cols(), pixels);
    }

    private static int planePixels(String op, DeviceTensor y, int channels, DeviceTensor bias) {
        if (channels < 1 || y.cols() % channels != 0) {
            throw new IllegalArgumentException(op + ": rows of " + y.cols() + " are not " + channels + " channel planes");
        }
        if (bias != null && bias.size() != channels) {
            throw new IllegalArgumentException(op + ": bias " + bias.shape() + " must have " + channels + " elements");
        }
        return y.cols() / channels;
    }

    static void channelBiasActivation(CudaBackend be, Tensor y, Tensor bias, int channels, Activation act) {
        DeviceTensor dy = be.f32(y, "y"), db = bias == null ? null : be.f32(bias, "bias");
        int pixels = planePixels("channelBiasActivation", dy, channels, db);
        if (db != null && db.overlaps(dy)) throw new IllegalArgumentException("channelBiasActivation: bias overlaps y");
        be.prepare();
        KernelArgs a = be.args().clear();
        if (dy.size() == 0) return;
        // Launched for the identity without a bias too: y + 0 turns -0 into +0, as CpuConv does.
        a.ptr(dy.address()).ptr(db == null ? 0 : db.address()).i32(dy.rows()).i32(channels).i32(pixels)
                .i32(CudaLinear.activationCode(act));
        long work = pixels % 4 == 0 ? dy.size() / 4 : dy.size();
        be.launch(Kernels.CHANNEL_BIAS_ACT, elementwiseGrid(be, Kernels.CHANNEL_BIAS_ACT, work));
    }

    static void channelBiasActivationBackward(CudaBackend be, Tensor y, Tensor dy, int channels, Activation act,
                                              Tensor dBias) {
        String op = "channelBiasActivationBackward";
        DeviceTensor vy = be.f32(y, "y"), g = be.f32(dy, "dy"), db = dBias == null ? null : be.f32(dBias, "dBias");
        int pixels = planePixels(op, vy, channels, db);
        if (g.rows() != vy.rows() || g.cols() != vy.cols()) {
            throw new IllegalArgumentException(op + ": dy " + g.shape() + " must match y " + vy.shape());
        }
        // The kernel reads y and writes dy through __restrict__ pointers: they must be distinct memory.
        if (g.overlaps(vy)) throw new IllegalArgumentException(op + ": dy must not overlap y");
        if (db != null && (db.overlaps(vy) || db.overlaps(g))) throw new IllegalArgumentException(op + ": dBias overlaps y or dy");
        be.prepare();
        KernelArgs a = be.args().clear();
        int batch = vy.rows();
        if (vy.size() == 0) {
            if (db != null) be.fill(db, 0);  // an empty sum, as CpuConv writes it
            return;
        }
        if (db == null && act == Activation.IDENTITY) return;
        int chunkElements = chunkElements(batch, pixels), chunks = channelChunks(batch, pixels);
        long partial = db != null && chunks > 1 ? be.columnScratch((long) chunks * channels * Double.BYTES) : 0;
        a.ptr(vy.address()).ptr(g.address()).ptr(partial).ptr(db == null ? 0 : db.address()).i32(batch)
                .i32(channels).i32(pixels).i32(chunkElements).i32(CudaLinear.activationCode(act));
        be.launch(Kernels.CHANNEL_BIAS_ACT_BACKWARD,
                Kernels.blocks((long) chunks * channels, 1, be.wave(Kernels.CHANNEL_BIAS_ACT_BACKWARD)));
        if (db != null && chunks > 1) {
            CudaColumns.sumPartials(be, partial, db.address(), chunks, channels, 1.0);
        }
    }
}
