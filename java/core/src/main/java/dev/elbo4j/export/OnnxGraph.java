package dev.elbo4j.export;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.nn.Conv2d;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.nn.ConvTranspose2d;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * An ONNX graph (IR version 8, opset 13, float32, a symbolic batch dimension N) under
 * construction, written as protobuf by hand ({@link Protobuf}): the nodes {@link Onnx}'s graphs are
 * made of, from whole networks ({@link #front}, {@link #dense}, {@link #back}) down to single
 * operators. Weights come from a function of the parameter name, as stored (PyTorch's layouts).
 */
final class OnnxGraph {
    private static final int FLOAT = 1, INT64 = 7;

    private final String name;
    private final Function<String, float[]> weights;
    private final Protobuf graph = new Protobuf();

    OnnxGraph(String name, Function<String, float[]> weights) {
        this.name = name;
        this.weights = weights;
    }

    /**
     * A conv encoder's front on the rows {@code x}: a {@code Reshape} to [N, C, H, W] (colour rows,
     * stored channels last, to [N, H, W, C] and a {@code Transpose} to NCHW), one {@code Conv} per
     * layer with its activation, and a {@code Flatten}. Returns x itself for a network without one.
     */
    String front(Networks.Parts net, ConvLayout image, String x) {
        if (net.front() == null) return x;
        int c = image.channels(), ht = image.height(), w = image.width();
        String h;
        if (c > 1) {
            h = reshape("encoder.image", x, -1, ht, w, c);
            h = transpose("encoder.nchw", h, 0, 3, 1, 2);
        } else {
            h = reshape("encoder.image", x, -1, c, ht, w);
        }
        for (ConvLayer l : net.front()) h = conv(l, h);
        return flatten("encoder.flatten", h);
    }

    /**
     * A transposed-conv decoder's back on the dense output h: a {@code Reshape} to the first
     * layer's planes [N, C0, H0, W0], one {@code ConvTranspose} per layer (with output_padding)
     * and its activation, then (colour) a {@code Transpose} to channels last and a
     * {@code Flatten}. Returns h itself for a network without one.
     */
    String back(Networks.Parts net, ConvLayout image, String h) {
        if (net.back() == null) return h;
        ConvTranspose2d first = (ConvTranspose2d) net.back().getFirst();
        ConvGeometry g0 = first.geometry();
        h = reshape("decoder.planes", h, -1, first.inChannels(), g0.outHeight(), g0.outWidth());
        for (ConvLayer l : net.back()) h = conv(l, h);
        if (image.channels() > 1) h = transpose("decoder.nhwc", h, 0, 2, 3, 1);
        return flatten("decoder.flatten", h);
    }

    /** The dense layers of {@code layers} in order on h (the label joining the first where it takes one); returns the last output. */
    String dense(List<Networks.Dense> layers, String h, String label) {
        for (Networks.Dense l : layers) h = dense(l, h, label, 0, l.out(), l.name() + ".out");
        return h;
    }

    /**
     * Rows [from, to) of dense layer l on h (and the label, for a conditional layer) as
     * {@code y = act(h W^T + label U^T + b)}: a {@code Gemm} of h (transB = 1, or 0 for a tied
     * layer's borrowed [in, out] weight) with the bias, then for the label a second {@code Gemm}
     * whose C input is the first's output, then the activation. Returns the activation's output
     * ({@code y} itself where there is none).
     */
    String dense(Networks.Dense l, String h, String label, int from, int to, String y) {
        float[] w = weights.apply(l.weight()), b = weights.apply(l.bias());
        int in = l.in(), out = to - from;
        if (w.length != l.in() * l.out() || b.length != l.out()) {
            throw new IllegalArgumentException(l.name() + ": weight " + w.length + " / bias " + b.length + " values, expected "
                    + l.out() + "x" + l.in() + " / " + l.out());
        }
        if (l.tied() && (from != 0 || to != l.out())) throw new IllegalArgumentException(l.name() + ": a tied layer is written whole");
        String prefix = from == 0 && to == l.out() ? l.name() : l.name() + "." + y;
        String pre = l.activation() == Activation.IDENTITY ? y : prefix + ".pre";
        String xw = l.labelWeight() == null ? pre : prefix + ".x";
        initializer(prefix + ".W", l.tied() ? new long[] {in, out} : new long[] {out, in},
                l.tied() ? w : Arrays.copyOfRange(w, from * in, to * in));
        initializer(prefix + ".b", new long[] {out}, Arrays.copyOfRange(b, from, to));
        gemm(prefix, h, prefix + ".W", prefix + ".b", !l.tied(), xw);
        if (l.labelWeight() != null) {
            int c = l.classes();
            float[] u = weights.apply(l.labelWeight());
            if (u.length != l.out() * c) {
                throw new IllegalArgumentException(l.labelWeight() + ": " + u.length + " values, expected " + l.out() + "x" + c);
            }
            initializer(prefix + ".U", new long[] {out, c}, Arrays.copyOfRange(u, from * c, to * c));
            gemm(prefix + ".label", label, prefix + ".U", xw, true, pre);
        }
        return activation(pre, y, l.activation());
    }

    /** The activation as {@code Relu}, {@code Tanh} or {@code Sigmoid} from x to y; for the identity, x itself. */
    String activation(String x, String y, Activation act) {
        String op = switch (act) {
            case RELU -> "Relu";
            case TANH -> "Tanh";
            case SIGMOID -> "Sigmoid";
            case IDENTITY -> null;
        };
        if (op == null) return x;
        node(op, y, new String[] {x}, y);
        return y;
    }

    /** A Conv2d as {@code Conv}, a ConvTranspose2d as {@code ConvTranspose}, each with its bias and activation. */
    private String conv(ConvLayer l, String in) {
        ConvGeometry g = l.geometry();
        boolean transposed = l instanceof ConvTranspose2d;
        String prefix = l.name();
        long[] wDims = transposed
                ? new long[] {((ConvTranspose2d) l).inChannels(), g.channels(), g.kernelH(), g.kernelW()}
                : new long[] {((Conv2d) l).outChannels(), g.channels(), g.kernelH(), g.kernelW()};
        int biasSize = transposed ? g.channels() : ((Conv2d) l).outChannels();
        float[] w = weights.apply(prefix + ".weight"), b = weights.apply(prefix + ".bias");
        if (w.length != wDims[0] * wDims[1] * wDims[2] * wDims[3] || b.length != biasSize) {
            throw new IllegalArgumentException(prefix + ": weight " + w.length + " / bias " + b.length + " values, expected "
                    + Arrays.toString(wDims) + " / " + biasSize);
        }
        initializer(prefix + ".W", wDims, w);
        initializer(prefix + ".b", new long[] {biasSize}, b);
        String y = prefix + ".out";
        Protobuf n = new Protobuf().string(1, in).string(1, prefix + ".W").string(1, prefix + ".b").string(2, y)
                .string(3, prefix).string(4, transposed ? "ConvTranspose" : "Conv")
                .message(5, ints("kernel_shape", g.kernelH(), g.kernelW()))
                .message(5, ints("strides", g.stride(), g.stride()))
                .message(5, ints("pads", g.padding(), g.padding(), g.padding(), g.padding()));
        if (l instanceof ConvTranspose2d t) n.message(5, ints("output_padding", t.outputPadding()));
        graph.message(1, n);
        return activation(y, prefix + ".act", l.activation());
    }

    private String reshape(String prefix, String in, long... shape) {
        int64Initializer(prefix + ".shape", shape);
        node("Reshape", prefix, new String[] {in, prefix + ".shape"}, prefix);
        return prefix;
    }

    private String transpose(String prefix, String in, long... perm) {
        graph.message(1, new Protobuf().string(1, in).string(2, prefix).string(3, prefix).string(4, "Transpose")
                .message(5, ints("perm", perm)));
        return prefix;
    }

    private String flatten(String prefix, String in) {
        node("Flatten", prefix, new String[] {in}, prefix);
        return prefix;
    }

    /** Binary samples y = (u &lt; p) as float32 0 / 1: a {@code Less} and a {@code Cast}. */
    String bernoulli(String u, String p, String y) {
        node("Less", y + ".less", new String[] {u, p}, y + ".less");
        graph.message(1, new Protobuf().string(1, y + ".less").string(2, y).string(3, y).string(4, "Cast")
                .message(5, intAttribute("to", FLOAT)));
        return y;
    }

    /** {@code Softmax} over the last axis, x to y. */
    String softmax(String x, String y) {
        node("Softmax", y, new String[] {x}, y);
        return y;
    }

    /** {@code Gather} of the columns {@code columns} of x (axis 1), in that order. */
    String columns(String prefix, String x, int[] columns) {
        long[] idx = new long[columns.length];
        for (int i = 0; i < idx.length; i++) idx[i] = columns[i];
        int64Initializer(prefix + ".index", idx);
        graph.message(1, new Protobuf().string(1, x).string(1, prefix + ".index").string(2, prefix).string(3, prefix)
                .string(4, "Gather").message(5, intAttribute("axis", 1)));
        return prefix;
    }

    /** {@code Concat} of the inputs' columns (axis 1). */
    String concat(String y, String... inputs) {
        Protobuf n = new Protobuf();
        for (String i : inputs) n.string(1, i);
        graph.message(1, n.string(2, y).string(3, y).string(4, "Concat").message(5, intAttribute("axis", 1)));
        return y;
    }

    /** {@code ReduceSum} over axis 1, keeping it: [N, k] to [N, 1]. */
    String rowSum(String x, String y) {
        int64Initializer(y + ".axes", new long[] {1});
        node("ReduceSum", y, new String[] {x, y + ".axes"}, y);
        return y;
    }

    /** An elementwise operator ({@code Add}, {@code Sub}, {@code Mul}, {@code Neg}, {@code Softplus}, ...) of the inputs, with broadcasting. */
    String op(String op, String y, String... inputs) {
        node(op, y, inputs, y);
        return y;
    }

    /** A float constant of shape {@code dims} (an initializer) named n. */
    String constant(String n, long[] dims, float[] v) {
        initializer(n, dims, v);
        return n;
    }

    private static Protobuf intAttribute(String name, long v) {
        return new Protobuf().string(1, name).varint(3, v).varint(20, 2);
    }

    private static Protobuf ints(String name, long... v) {
        Protobuf a = new Protobuf().string(1, name);
        for (long x : v) a.varint(8, x);
        return a.varint(20, 7);
    }

    private static Protobuf ints(String name, int... v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = v[i];
        return ints(name, l);
    }

    /** {@code y = a B^T + c} (transB) or {@code a B + c}; B and c are names of initializers or other outputs. */
    private void gemm(String nodeName, String a, String b, String c, boolean transB, String y) {
        Protobuf n = new Protobuf().string(1, a).string(1, b).string(1, c).string(2, y).string(3, nodeName).string(4, "Gemm");
        if (transB) n.message(5, new Protobuf().string(1, "transB").varint(3, 1).varint(20, 2));
        graph.message(1, n);
    }

    /** A node of {@code op} from inputs to one output; also used to give an output its graph name ({@code Identity}). */
    void node(String op, String nodeName, String[] inputs, String output) {
        Protobuf n = new Protobuf();
        for (String i : inputs) n.string(1, i);
        n.string(2, output).string(3, nodeName).string(4, op);
        graph.message(1, n);
    }

    private void initializer(String n, long[] dims, float[] v) {
        ByteBuffer raw = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(v);
        tensor(n, dims, FLOAT, raw.array());
    }

    private void int64Initializer(String n, long[] v) {
        ByteBuffer raw = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(v);
        tensor(n, new long[] {v.length}, INT64, raw.array());
    }

    private void tensor(String n, long[] dims, int type, byte[] raw) {
        Protobuf t = new Protobuf();
        for (long d : dims) t.varint(1, d);
        t.varint(2, type).string(8, n).bytes(9, raw);
        graph.message(5, t);
    }

    /** The weights of parameter n, as stored. */
    float[] weights(String n) {
        return weights.apply(n);
    }

    /** A float input [N, width]. */
    void input(String n, int width) {
        graph.message(11, valueInfo(n, width));
    }

    /** An int64 input [N]. */
    void indexInput(String n) {
        Protobuf shape = new Protobuf().message(1, new Protobuf().string(2, "N"));
        Protobuf tensor = new Protobuf().varint(1, INT64).message(2, shape);
        graph.message(11, new Protobuf().string(1, n).message(2, new Protobuf().message(1, tensor)));
    }

    /**
     * The int64 labels y [N] as one-hot float rows [N, classes]: a {@code Reshape} to [N, 1], an
     * {@code Equal} against the constant 0, 1, ..., classes - 1 and a {@code Cast} to float. A label
     * outside 0..classes-1 gives a row of zeros.
     */
    String oneHot(String y, int classes, String out) {
        String column = reshape(out + ".column", y, -1, 1);
        long[] range = new long[classes];
        for (int c = 0; c < classes; c++) range[c] = c;
        int64Initializer(out + ".classes", range);
        node("Equal", out + ".equal", new String[] {column, out + ".classes"}, out + ".equal");
        graph.message(1, new Protobuf().string(1, out + ".equal").string(2, out).string(3, out).string(4, "Cast")
                .message(5, intAttribute("to", FLOAT)));
        return out;
    }

    /** A float output [N, width]. */
    void output(String n, int width) {
        graph.message(12, valueInfo(n, width));
    }

    private static Protobuf valueInfo(String n, int width) {
        Protobuf shape = new Protobuf().message(1, new Protobuf().string(2, "N")).message(1, new Protobuf().varint(1, width));
        Protobuf tensor = new Protobuf().varint(1, FLOAT).message(2, shape);
        return new Protobuf().string(1, n).message(2, new Protobuf().message(1, tensor));
    }

    /** The serialized ModelProto. */
    byte[] model() {
        graph.string(2, name);
        return new Protobuf().varint(1, 8).string(2, "elbo4j").string(3, "0.1.0")
                .message(7, graph).message(8, new Protobuf().string(1, "").varint(2, 13)).toByteArray();
    }
}
