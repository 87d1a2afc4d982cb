package dev.elbo4j.export;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Conv2d;
import dev.elbo4j.nn.ConvLayer;
import dev.elbo4j.nn.ConvTranspose2d;
import dev.elbo4j.nn.Linear;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * ONNX graphs (IR version 8, opset 13) of a VAE's encoder and decoder, written as protobuf by
 * hand ({@link Protobuf}). Each dense layer is a {@code Gemm} with {@code transB = 1} (weights
 * [out, in], as stored) followed by the hidden activation ({@code Relu}, {@code Tanh},
 * {@code Sigmoid}, or none). The encoder's last layer holds mu and log sigma^2 as two row blocks
 * of its weight; the graph splits it into two {@code Gemm}s with outputs {@code mu} and
 * {@code logvar}, each [N, Z]. The decoder maps {@code z} [N, Z] to {@code mean} [N, D]: the
 * sigmoid of the logits for a Bernoulli likelihood, the output itself for a Gaussian one. The
 * batch dimension is symbolic.
 *
 * <p>A conv encoder starts with a {@code Reshape} of x to [N, C, H, W] (for colour data, stored
 * channels last, to [N, H, W, C] and a {@code Transpose} to NCHW), then one {@code Conv} per
 * layer (weights [OC, C, KH, KW], as stored) with its activation, and a {@code Flatten} into the
 * dense layers. A transposed-conv decoder reshapes the dense output to [N, C0, H0, W0], runs one
 * {@code ConvTranspose} per layer (weights [C_in, C_out, KH, KW], with the output_padding the
 * layer's sizes imply), the last without activation, then (colour) transposes back to channels
 * last and flattens.
 */
public final class Onnx {
    private static final int FLOAT = 1, INT64 = 7;

    private Onnx() {
    }

    /** The encoder: input {@code x} [N, D]; outputs {@code mu} and {@code logvar} [N, Z]. */
    public static byte[] encoder(VaeConfig cfg, Function<String, float[]> weights) {
        Graph g = new Graph("elbo4j_encoder");
        Networks.Parts net = Networks.encoder(cfg);
        int z = cfg.latent();
        String h = "x";
        g.input("x", cfg.inputDim());
        if (net.front() != null) {
            int c = cfg.conv().channels(), ht = cfg.conv().height(), w = cfg.conv().width();
            if (c > 1) {
                h = g.reshape("encoder.image", h, -1, ht, w, c);
                h = g.transpose("encoder.nchw", h, 0, 3, 1, 2);
            } else {
                h = g.reshape("encoder.image", h, -1, c, ht, w);
            }
            for (ConvLayer l : net.front()) h = g.conv(l, h, weights);
            h = g.flatten("encoder.flatten", h);
        }
        List<Linear> dense = net.dense();
        for (Linear l : dense.subList(0, dense.size() - 1)) h = g.layer(l, h, weights);
        Linear last = dense.getLast();
        String name = last.name();
        float[] w = weights.apply(name + ".weight"), b = weights.apply(name + ".bias");
        int in = last.in();
        g.gemm(name + ".mu", h, Arrays.copyOfRange(w, 0, z * in), Arrays.copyOfRange(b, 0, z), z, in, "mu");
        g.gemm(name + ".logvar", h, Arrays.copyOfRange(w, z * in, 2 * z * in), Arrays.copyOfRange(b, z, 2 * z), z, in, "logvar");
        g.output("mu", z);
        g.output("logvar", z);
        return g.model();
    }

    /** The decoder: input {@code z} [N, Z]; output {@code mean} [N, D]. */
    public static byte[] decoder(VaeConfig cfg, Function<String, float[]> weights) {
        Graph g = new Graph("elbo4j_decoder");
        Networks.Parts net = Networks.decoder(cfg);
        String h = "z";
        g.input("z", cfg.latent());
        for (Linear l : net.dense()) h = g.layer(l, h, weights);
        if (net.back() != null) {
            ConvTranspose2d first = (ConvTranspose2d) net.back().getFirst();
            ConvGeometry g0 = first.geometry();
            h = g.reshape("decoder.planes", h, -1, first.inChannels(), g0.outHeight(), g0.outWidth());
            for (ConvLayer l : net.back()) h = g.conv(l, h, weights);
            if (cfg.conv().channels() > 1) h = g.transpose("decoder.nhwc", h, 0, 2, 3, 1);
            h = g.flatten("decoder.flatten", h);
        }
        g.node(cfg.likelihood().kind() == Likelihood.Kind.BERNOULLI ? "Sigmoid" : "Identity", "mean", new String[] {h}, "mean");
        g.output("mean", cfg.inputDim());
        return g.model();
    }

    /** A graph under construction. */
    private static final class Graph {
        private final String name;
        private final Protobuf graph = new Protobuf();

        Graph(String name) {
            this.name = name;
        }

        String layer(Linear l, String in, Function<String, float[]> weights) {
            String y = l.name() + ".out";
            gemm(l.name(), in, weights.apply(l.name() + ".weight"), weights.apply(l.name() + ".bias"), l.out(), l.in(), y);
            return activation(l.name(), y, l.activation());
        }

        String activation(String prefix, String y, Activation act) {
            String op = switch (act) {
                case RELU -> "Relu";
                case TANH -> "Tanh";
                case SIGMOID -> "Sigmoid";
                case IDENTITY -> null;
            };
            if (op == null) return y;
            node(op, prefix + ".act", new String[] {y}, prefix + ".act");
            return prefix + ".act";
        }

        /** A Conv2d as {@code Conv}, a ConvTranspose2d as {@code ConvTranspose}, each with its bias and activation. */
        String conv(ConvLayer l, String in, Function<String, float[]> weights) {
            ConvGeometry g = l.geometry();
            boolean transposed = l instanceof ConvTranspose2d;
            String prefix = l.name();
            Activation act = l.activation();
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
            return activation(prefix, y, act);
        }

        String reshape(String prefix, String in, long... shape) {
            int64Initializer(prefix + ".shape", shape);
            node("Reshape", prefix, new String[] {in, prefix + ".shape"}, prefix);
            return prefix;
        }

        String transpose(String prefix, String in, long... perm) {
            graph.message(1, new Protobuf().string(1, in).string(2, prefix).string(3, prefix).string(4, "Transpose")
                    .message(5, ints("perm", perm)));
            return prefix;
        }

        String flatten(String prefix, String in) {
            node("Flatten", prefix, new String[] {in}, prefix);
            return prefix;
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

        void gemm(String prefix, String in, float[] w, float[] b, int out, int inSize, String y) {
            if (w.length != out * inSize || b.length != out) {
                throw new IllegalArgumentException(prefix + ": weight " + w.length + " / bias " + b.length + " values, expected "
                        + out + "x" + inSize + " / " + out);
            }
            initializer(prefix + ".W", new long[] {out, inSize}, w);
            initializer(prefix + ".b", new long[] {out}, b);
            Protobuf n = new Protobuf().string(1, in).string(1, prefix + ".W").string(1, prefix + ".b").string(2, y)
                    .string(3, prefix).string(4, "Gemm")
                    .message(5, new Protobuf().string(1, "transB").varint(3, 1).varint(20, 2));
            graph.message(1, n);
        }

        void node(String op, String nodeName, String[] inputs, String output) {
            Protobuf n = new Protobuf();
            for (String i : inputs) n.string(1, i);
            n.string(2, output).string(3, nodeName).string(4, op);
            graph.message(1, n);
        }

        void initializer(String n, long[] dims, float[] v) {
            ByteBuffer raw = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(v);
            tensor(n, dims, FLOAT, raw.array());
        }

        void int64Initializer(String n, long[] v) {
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

        void input(String n, int width) {
            graph.message(11, valueInfo(n, width));
        }

        void output(String n, int width) {
            graph.message(12, valueInfo(n, width));
        }

        private static Protobuf valueInfo(String n, int width) {
            Protobuf shape = new Protobuf().message(1, new Protobuf().string(2, "N")).message(1, new Protobuf().varint(1, width));
            Protobuf tensor = new Protobuf().varint(1, FLOAT).message(2, shape);
            return new Protobuf().string(1, n).message(2, new Protobuf().message(1, tensor));
        }

        byte[] model() {
            graph.string(2, name);
            return new Protobuf().varint(1, 8).string(2, "elbo4j").string(3, "0.1.0")
                    .message(7, graph).message(8, new Protobuf().string(1, "").varint(2, 13)).toByteArray();
        }
    }
}
