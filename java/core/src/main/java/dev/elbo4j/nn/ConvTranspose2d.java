package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * PyTorch's {@code nn.ConvTranspose2d} (dilation 1, one group) with a fused activation: the
 * adjoint of the convolution of geometry {@code g}, from C_in planes of g's output grid
 * (OH x OW) to g's input, C_out = g.channels planes of H x W (PyTorch's output_padding is
 * H - ((OH - 1) stride - 2 padding + KH), which g's sizes imply). W is stored [C_in, C_out, KH, KW]
 * and b [C_out] under {@code <name>.weight} and {@code <name>.bias}. Computed as one GEMM + col2im
 * (docs/CONV.md): rows = x channels-last ((B*OH*OW) x C_in), cols = rows W, y = col2im(cols). In a
 * training workspace rows is the layer's own kept buffer, which the backward pass reuses for dW.
 */
public final class ConvTranspose2d implements ConvLayer {
    private final String name, weight, bias;
    private final ConvGeometry g;
    private final int inChannels;
    private final Activation act;

    /**
     * A layer {@code name}, the adjoint of the convolution of geometry {@code g}, taking {@code inChannels}
     * planes.
     *
     * @throws IllegalArgumentException when {@code inChannels} is below 1 or an input image would pass 2^31-1
     *     elements
     */
    public ConvTranspose2d(String name, ConvGeometry g, int inChannels, Activation act) {
        if (inChannels < 1) throw new IllegalArgumentException("layer " + name + " needs >= 1 input channels, got " + inChannels);
        if ((long) inChannels * g.outPixels() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("layer " + name + ": " + inChannels + " channels of " + g.outPixels() + " pixels is too large");
        }
        this.name = name;
        this.weight = name + ".weight";
        this.bias = name + ".bias";
        this.g = g;
        this.inChannels = inChannels;
        this.act = act;
    }

    /**
     * Declares W and b with PyTorch's default for ConvTranspose2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
     * with fan_in = weight.size(1) KH KW = C_out KH KW.
     */
    @Override
    public void declare(Parameters.Builder p) {
        double bound = 1 / Math.sqrt(g.patchSize());
        p.add(weight, Shape.of(inChannels, g.channels(), g.kernelH(), g.kernelW()), Parameters.Init.uniform(bound));
        p.add(bias, Shape.of(g.channels()), Parameters.Init.uniform(bound));
    }

    @Override
    public ConvGeometry geometry() {
        return g;
    }

    /** C_in, the input planes. */
    public int inChannels() {
        return inChannels;
    }

    /** The parameter name prefix: W is {@code name + ".weight"}, b {@code name + ".bias"}. */
    @Override
    public String name() {
        return name;
    }

    @Override
    public Activation activation() {
        return act;
    }

    /**
     * PyTorch's output_padding (rows, columns) for this layer's sizes: how much of the output grid
     * the transposed geometry (in - 1) stride - 2 padding + kernel leaves out where the
     * convolution's floor division dropped a remainder. The two differ on a non-square image.
     */
    public int[] outputPadding() {
        return new int[] {g.height() - ((g.outHeight() - 1) * g.stride() - 2 * g.padding() + g.kernelH()),
                g.width() - ((g.outWidth() - 1) * g.stride() - 2 * g.padding() + g.kernelW())};
    }

    @Override
    public int in() {
        return inChannels * g.outPixels();
    }

    @Override
    public int out() {
        return g.inputSize();
    }

    @Override
    public long[] scratchElements(int rows) {
        long pixels = (long) rows * g.outPixels(), cols = pixels * g.patchSize(), r = pixels * inChannels;
        return new long[]{cols, 0, r, r};
    }

    /** x channels-last from the forward pass, so the backward pass does not permute x again. */
    @Override
    public long keptElements(int rows) {
        return (long) rows * g.outPixels() * inChannels;
    }

    private Tensor rows(Workspace ws, Tensor kept, int pixels) {
        return kept == null ? ws.scratch(ROWS, pixels, inChannels) : kept.view(0, Shape.of(pixels, inChannels));
    }

    private Tensor w(Parameters p) {
        return p.value(weight).reshape(inChannels, g.patchSize());
    }

    @Override
    public void forward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor kept) {
        Backend be = p.backend();
        int b = x.rows(), pixels = b * g.outPixels();
        Tensor rows = rows(ws, kept, pixels), cols = ws.scratch(COLS, pixels, g.patchSize());
        be.toChannelsLast(x, g.outPixels(), rows);
        be.gemm(false, false, 1, rows, w(p), 0, cols);
        be.col2im(cols, g, y);
        be.channelBiasActivation(y, p.value(bias), g.channels(), act);
    }

    /** dW = rows^T im2col(dPre) (rows the forward's, when kept), db = sum of dPre per channel, dx = channels-first(im2col(dPre) W^T). */
    @Override
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dy, Tensor dx, Tensor kept) {
        Backend be = p.backend();
        int b = x.rows(), pixels = b * g.outPixels();
        be.channelBiasActivationBackward(y, dy, g.channels(), act, p.grad(bias));
        Tensor dCols = ws.scratch(COLS, pixels, g.patchSize()), rows = rows(ws, kept, pixels);
        be.im2col(dy, g, dCols);
        if (kept == null) be.toChannelsLast(x, g.outPixels(), rows);
        be.gemm(true, false, 1, rows, dCols, 0, p.grad(weight).reshape(inChannels, g.patchSize()));
        if (dx != null) {
            Tensor dRows = ws.scratch(ROWS2, pixels, inChannels);
            be.gemm(false, true, 1, dCols, w(p), 0, dRows);
            be.toChannelsFirst(dRows, g.outPixels(), dx);
        }
    }
}
