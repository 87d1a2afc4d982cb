package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A stack of {@link Linear} layers: hidden layers with one activation, the last with its own
 * (identity for the encoder's Gaussian statistics and the decoder's logits or means).
 */
public final class Mlp implements Network {
    private final List<Linear> layers;

    /**
     * Layers {@code prefix.0} to {@code prefix.(n-2)} for n sizes, activated with {@code hidden} except the
     * last, which uses {@code last}.
     *
     * @param prefix parameter name prefix ("encoder", "decoder"): layer i is "prefix.i"
     * @param sizes  in, hidden..., out (at least two)
     */
    public Mlp(String prefix, int[] sizes, Activation hidden, Activation last) {
        if (sizes.length < 2) {
            throw new IllegalArgumentException(prefix + " needs at least an input and an output size");
        }
        List<Linear> l = new ArrayList<>();
        for (int i = 0; i + 1 < sizes.length; i++) {
            l.add(new Linear(prefix + "." + i, sizes[i], sizes[i + 1], i + 2 == sizes.length ? last : hidden));
        }
        this.layers = List.copyOf(l);
    }

    /** The layers, input side first; unmodifiable. */
    public List<Linear> layers() {
        return layers;
    }

    @Override
    public int in() {
        return layers.getFirst().in();
    }

    @Override
    public int out() {
        return layers.getLast().out();
    }

    @Override
    public void declare(Parameters.Builder p) {
        for (Linear l : layers) l.declare(p);
    }

    /** Buffers for up to {@code maxRows} rows; gradient buffers only for {@code training}. */
    @Override
    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        int[] widths = new int[layers.size()];
        boolean[] relu = new boolean[widths.length];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = layers.get(i).out();
            relu[i] = layers.get(i).activation() == Activation.RELU;
        }
        return new Workspace(be, dtype, maxRows, training, widths, relu);
    }

    /**
     * Runs the stack on x (rows x in); the result is {@code ws.output(rows)}. A ReLU layer of a training
     * workspace also stores its mask where the backend keeps masks, for {@link #backward}.
     */
    @Override
    public Tensor forward(Parameters p, Workspace ws, Tensor x) {
        int rows = ws.check(x.rows());
        Tensor in = x;
        for (int i = 0; i < layers.size(); i++) {
            Tensor y = ws.act(i, rows);
            Tensor mask = ws.mask(i, rows);
            if (mask != null) ws.masked(i, layers.get(i).forwardMasked(p, in, y, mask));
            else layers.get(i).forward(p, in, y);
            in = y;
        }
        return in;
    }

    /**
     * Backpropagates {@code ws.outputGrad(rows)} (filled by the caller) through the stack,
     * writing parameter gradients and, if dx is not null, the input gradient. Where the layer below
     * is ReLU and its forward stored a mask, a layer's dx comes out as the layer below's
     * pre-activation gradient with that layer's bias gradient ({@link Linear#backwardReluInput}), and
     * the layer below skips its own derivative ({@link Linear#backwardPre}): the same sums in the same
     * order, one pass fewer.
     */
    @Override
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor dx) {
        int rows = ws.check(x.rows());
        boolean pre = false;   // ws.grad(i) already holds layer i's pre-activation gradient
        for (int i = layers.size() - 1; i >= 0; i--) {
            Linear layer = layers.get(i);
            Tensor in = i == 0 ? x : ws.act(i - 1, rows);
            Tensor dIn = i == 0 ? dx : ws.grad(i - 1, rows);
            Tensor mask = i == 0 ? null : ws.storedMask(i - 1, rows);
            if (mask != null) {
                layer.backwardReluInput(p, in, ws.act(i, rows), ws.grad(i, rows), dIn, pre, layers.get(i - 1), mask);
                pre = true;
            } else {
                if (pre) layer.backwardPre(p, in, ws.act(i, rows), ws.grad(i, rows), dIn);
                else layer.backward(p, in, ws.act(i, rows), ws.grad(i, rows), dIn);
                pre = false;
            }
        }
    }
}
