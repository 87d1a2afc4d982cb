package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.List;

/**
 * A stack of {@link ConvLayer}s on images stored one per row. Inside, images are NCHW; a stack
 * may take its input channels-last ({@code channelsLastIn}: rows of H x W x C values, the layout of
 * elbo4j's colour data) and give its output channels-last ({@code channelsLastOut}), with one
 * permutation at that end. With one channel the two layouts are the same and nothing is permuted.
 */
public final class ConvStack {
    /** Index of layer 0's kept buffer among the workspace's scratch buffers. */
    private static final int KEPT = 4;
    private final List<ConvLayer> layers;
    private final boolean permuteIn, permuteOut;
    private final int inChannels, outChannels;

    /**
     * A stack of {@code layers} in order.
     *
     * @param layers          at least one, each one's input size the previous one's output size
     * @param channelsLastIn  whether the input rows are H x W x C (else C x H x W)
     * @param channelsLastOut whether the output rows are H x W x C (else C x H x W)
     */
    public ConvStack(List<ConvLayer> layers, boolean channelsLastIn, boolean channelsLastOut) {
        if (layers.isEmpty()) throw new IllegalArgumentException("a conv stack needs at least one layer");
        for (int i = 1; i < layers.size(); i++) {
            if (layers.get(i).in() != layers.get(i - 1).out()) {
                throw new IllegalArgumentException("conv layer " + i + " takes " + layers.get(i).in() + " values per image, layer "
                        + (i - 1) + " gives " + layers.get(i - 1).out());
            }
        }
        this.layers = List.copyOf(layers);
        ConvLayer first = this.layers.getFirst(), last = this.layers.getLast();
        this.inChannels = first instanceof Conv2d c ? c.geometry().channels() : ((ConvTranspose2d) first).inChannels();
        this.outChannels = last instanceof Conv2d c ? c.outChannels() : last.geometry().channels();
        this.permuteIn = channelsLastIn && inChannels > 1;
        this.permuteOut = channelsLastOut && outChannels > 1;
    }

    /** The layers, in order; unmodifiable. */
    public List<ConvLayer> layers() {
        return layers;
    }

    /** Values per input row: the first layer's input size. */
    public int in() {
        return layers.getFirst().in();
    }

    /** Values per output row: the last layer's output size. */
    public int out() {
        return layers.getLast().out();
    }

    /** Declares every layer's parameters, in order, into a model's layout. */
    public void declare(Parameters.Builder p) {
        for (ConvLayer l : layers) l.declare(p);
    }

    private int index(int layer) {
        return layer + (permuteIn ? 1 : 0);
    }

    /** Buffers for up to {@code maxRows} images: each layer's output (and gradient), the permuted ends, the shared scratch. */
    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        int n = layers.size() + (permuteIn ? 1 : 0) + (permuteOut ? 1 : 0);
        int[] widths = new int[n];
        int k = 0;
        if (permuteIn) widths[k++] = in();
        for (ConvLayer l : layers) widths[k++] = l.out();
        if (permuteOut) widths[k] = out();
        // The four shared buffers, then each layer's kept buffer (training only).
        long[] scratch = new long[KEPT + layers.size()];
        for (ConvLayer l : layers) {
            long[] s = l.scratchElements(maxRows);
            for (int i = 0; i < KEPT; i++) scratch[i] = Math.max(scratch[i], training || i == ConvLayer.COLS || i == ConvLayer.ROWS ? s[i] : 0);
        }
        for (int i = 0; i < layers.size(); i++) scratch[KEPT + i] = training ? layers.get(i).keptElements(maxRows) : 0;
        return new Workspace(be, dtype, maxRows, training, widths, scratch);
    }

    /** Layer i's kept buffer: in a training workspace where the layer keeps something, else null. */
    private Tensor kept(Workspace ws, int i) {
        return ws.training() && layers.get(i).keptElements(1) > 0 ? ws.scratch(KEPT + i) : null;
    }

    /** Runs the stack on x (rows x in); the result is {@code ws.output(rows)}. */
    public Tensor forward(Parameters p, Workspace ws, Tensor x) {
        int rows = ws.check(x.rows());
        if (x.cols() != in()) throw new IllegalArgumentException("conv stack input " + x.shape() + " needs rows of " + in());
        Backend be = p.backend();
        Tensor in = x;
        if (permuteIn) {
            in = ws.act(0, rows);
            be.toChannelsFirst(x.reshape(rows * (in() / inChannels), inChannels), in() / inChannels, in);
        }
        for (int i = 0; i < layers.size(); i++) {
            Tensor y = ws.act(index(i), rows);
            layers.get(i).forward(p, ws, in, y, kept(ws, i));
            in = y;
        }
        if (permuteOut) {
            Tensor out = ws.act(index(layers.size()), rows);
            int pixels = out() / outChannels;
            be.toChannelsLast(in, pixels, out.reshape(rows * pixels, outChannels));
            in = out;
        }
        return in;
    }

    /**
     * Backpropagates {@code ws.outputGrad(rows)} (filled by the caller) through the stack, writing
     * parameter gradients and, if dx is not null, the input gradient (in the input's layout).
     */
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor dx) {
        int rows = ws.check(x.rows());
        Backend be = p.backend();
        if (permuteOut) {
            int last = index(layers.size()), pixels = out() / outChannels;
            be.toChannelsFirst(ws.grad(last, rows).reshape(rows * pixels, outChannels), pixels, ws.grad(last - 1, rows));
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            int a = index(i);
            Tensor in = a == 0 ? x : ws.act(a - 1, rows);
            Tensor dIn = i > 0 ? ws.grad(a - 1, rows) : permuteIn ? (dx == null ? null : ws.grad(0, rows)) : dx;
            layers.get(i).backward(p, ws, in, ws.act(a, rows), ws.grad(a, rows), dIn, kept(ws, i));
        }
        if (permuteIn && dx != null) {
            int pixels = in() / inChannels;
            be.toChannelsLast(ws.grad(0, rows), pixels, dx.reshape(rows * pixels, inChannels));
        }
    }
}
