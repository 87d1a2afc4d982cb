package dev.elbo4j.nn;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;

/**
 * {@link ImageNet} with a label: an optional conv stack on x (Rx rows), the
 * {@link ConditionalMlp} whose first layer also takes y (R = k Rx rows), and an optional
 * transposed-conv stack on its R output rows.
 */
public final class ConditionalImageNet implements ConditionalNetwork {
    private final ConvStack front, back;
    private final ConditionalMlp dense;

    /**
     * A network of {@code front}, then {@code dense}, then {@code back}; at least one stack is present.
     *
     * @param front conv stack on x before the dense layers, or null
     * @param dense the dense layers, the first of which takes the label
     * @param back transposed-conv stack after them, or null
     * @throws IllegalArgumentException when both stacks are null or neighbouring sizes do not match
     */
    public ConditionalImageNet(ConvStack front, ConditionalMlp dense, ConvStack back) {
        if (front == null && back == null) throw new IllegalArgumentException("an image network needs a conv stack (else use the ConditionalMlp)");
        if (front != null && front.out() != dense.in()) {
            throw new IllegalArgumentException("the conv stack gives " + front.out() + " values, the dense layers take " + dense.in());
        }
        if (back != null && back.in() != dense.out()) {
            throw new IllegalArgumentException("the dense layers give " + dense.out() + " values, the transposed-conv stack takes " + back.in());
        }
        this.front = front;
        this.dense = dense;
        this.back = back;
    }

    /** The conv stack before the dense layers, or null. */
    public ConvStack front() {
        return front;
    }

    /** The dense layers, the first of which takes the label. */
    public ConditionalMlp dense() {
        return dense;
    }

    /** The transposed-conv stack after the dense layers, or null. */
    public ConvStack back() {
        return back;
    }

    @Override
    public int in() {
        return front != null ? front.in() : dense.in();
    }

    @Override
    public int out() {
        return back != null ? back.out() : dense.out();
    }

    @Override
    public int classes() {
        return dense.classes();
    }

    @Override
    public void declare(Parameters.Builder p) {
        if (front != null) front.declare(p);
        dense.declare(p);
        if (back != null) back.declare(p);
    }

    @Override
    public Workspace workspace(Backend be, DType dtype, int maxRows, boolean training) {
        return Workspace.chainOf(front == null ? null : () -> front.workspace(be, dtype, maxRows, training),
                () -> dense.workspace(be, dtype, maxRows, training),
                back == null ? null : () -> back.workspace(be, dtype, maxRows, training));
    }

    private Workspace denseWs(Workspace ws) {
        return ws.part(front == null ? 0 : 1);
    }

    @Override
    public Tensor forward(Parameters p, Workspace ws, Tensor x, Tensor y) {
        Tensor h = front == null ? x : front.forward(p, ws.part(0), x);
        h = dense.forward(p, denseWs(ws), h, y);
        return back == null ? h : back.forward(p, ws.part(front == null ? 1 : 2), h);
    }

    @Override
    public void backward(Parameters p, Workspace ws, Tensor x, Tensor y, Tensor dx) {
        int rows = y.rows();
        Workspace dw = denseWs(ws);
        Tensor denseIn = front == null ? x : ws.part(0).output(x.rows());
        if (back != null) back.backward(p, ws.part(front == null ? 1 : 2), dw.output(rows), dw.outputGrad(rows));
        dense.backward(p, dw, denseIn, y, front == null ? dx : ws.part(0).outputGrad(x.rows()));
        if (front != null) front.backward(p, ws.part(0), x, dx);
    }
}
