package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * PyTorch's {@code nn.Conv2d} (dilation 1, one group) with a fused activation:
 * y = act(conv(x, W) + b) on NCHW rows, W stored [OC, C, KH, KW] and b [OC] under
 * {@code <name>.weight} and {@code <name>.bias}. Computed as im2col + one GEMM
 * (docs/CONV.md): cols = im2col(x), rows = cols W^T ((B*OH*OW) x OC), y = rows in NCHW order. In a
 * training workspace cols is the layer's own kept buffer, which the backward pass reuses for dW.
 */
public final class Conv2d implements ConvLayer {
    private final String name, weight, bias;
    private final ConvGeometry g;
    private final int outChannels;
    private final Activation act;

    /**
     * A layer {@code name} of geometry {@code g} with {@code outChannels} output planes.
     *
     * @throws IllegalArgumentException when {@code outChannels} is below 1 or an output image would pass 2^31-1
     *     elements
     */
    public Conv2d(String name, ConvGeometry g, int outChannels, Activation act) {
        if (outChannels < 1) throw new IllegalArgumentException("layer " + name + " needs >= 1 output channels, got " + outChannels);
        if ((long) outChannels * g.outPixels() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("layer " + name + ": " + outChannels + " channels of " + g.outPixels() + " pixels is too large");
        }
        this.name = name;
        this.weight = name + ".weight";
        this.bias = name + ".bias";
        this.g = g;
        this.outChannels = outChannels;
        this.act = act;
    }

    /** Declares W and b with PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C KH KW. */
    @Override
    public void declare(Parameters.Builder p) {
        double bound = 1 / Math.sqrt(g.patchSize());
        p.add(weight, Shape.of(outChannels, g.channels(), g.kernelH(), g.kernelW()), Parameters.Init.uniform(bound));
        p.add(bias, Shape.of(outChannels), Parameters.Init.uniform(bound));
    }

    @Override
    public ConvGeometry geometry() {
        return g;
    }

    /** OC, the output planes. */
    public int outChannels() {
        return outChannels;
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

    @Override
    public int in() {
        return g.inputSize();
    }

    @Override
    public int out() {
        return outChannels * g.outPixels();
    }

    @Override
    public long[] scratchElements(int rows) {
        long pixels = (long) rows * g.outPixels(), cols = pixels * g.patchSize(), r = pixels * outChannels;
        return new long[]{cols, cols, r, 0};
    }

    /** im2col(x) from the forward pass, so the backward pass does not compute it again. */
    @Override
    public long keptElements(int rows) {
        return (long) rows * g.outPixels() * g.patchSize();
    }

    private Tensor w(Parameters p) {
        return p.value(weight).reshape(outChannels, g.patchSize());
    }

    private Tensor cols(Workspace ws, Tensor kept, int pixels) {
        return kept == null ? ws.scratch(COLS, pixels, g.patchSize()) : kept.view(0, Shape.of(pixels, g.patchSize()));
    }

    @Override
    public void forward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor kept) {
        Backend be = p.backend();
        int b = x.rows(), pixels = b * g.outPixels();
        Tensor cols = cols(ws, kept, pixels), rows = ws.scratch(ROWS, pixels, outChannels);
        be.im2col(x, g, cols);
        be.gemm(false, true, 1, cols, w(p), 0, rows);
        be.toChannelsFirst(rows, g.outPixels(), y);
        be.channelBiasActivation(y, p.value(bias), outChannels, act);
    }

    /** dW = dRows^T im2col(x) (the forward's, when kept), db = sum of dPre per channel, dx = col2im(dRows W). */
    @Override
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dy, Tensor dx, Tensor kept) {
        Backend be = p.backend();
        int b = x.rows(), pixels = b * g.outPixels();
        be.channelBiasActivationBackward(y, dy, outChannels, act, p.grad(bias));
        Tensor dRows = ws.scratch(ROWS, pixels, outChannels), cols = cols(ws, kept, pixels);
        be.toChannelsLast(dy, g.outPixels(), dRows);
        if (kept == null) be.im2col(x, g, cols);
        be.gemm(true, false, 1, dRows, cols, 0, p.grad(weight).reshape(outChannels, g.patchSize()));
        if (dx != null) {
            Tensor dCols = ws.scratch(COLS2, pixels, g.patchSize());
            be.gemm(false, false, 1, dRows, w(p), 0, dCols);
            be.col2im(dCols, g, dx);
        }
    }
}
