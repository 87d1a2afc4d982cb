package dev.elbo4j.export;

import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.backend.Activation;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Function;

/**
 * ONNX graphs (IR version 8, opset 13) of a VAE's encoder and decoder, written as protobuf by
 * hand ({@link Protobuf}). Each layer is a {@code Gemm} with {@code transB = 1} (weights [out, in],
 * as stored) followed by the hidden activation ({@code Relu}, {@code Tanh}, {@code Sigmoid}, or
 * none). The encoder's last layer holds mu and log sigma^2 as two row blocks of its weight; the
 * graph splits it into two {@code Gemm}s with outputs {@code mu} and {@code logvar}, each
 * [N, Z]. The decoder maps {@code z} [N, Z] to {@code mean} [N, D]: the sigmoid of the logits for
 * a Bernoulli likelihood, the output itself for a Gaussian one. The batch dimension is symbolic.
 */
public final class Onnx {
    private static final int FLOAT = 1;

    private Onnx() {
    }

    /** The encoder: input {@code x} [N, D]; outputs {@code mu} and {@code logvar} [N, Z]. */
    public static byte[] encoder(VaeConfig cfg, Function<String, float[]> weights) {
        Graph g = new Graph("elbo4j_encoder");
        int[] sizes = cfg.encoderSizes();
        int z = cfg.latent();
        String h = "x";
        g.input("x", sizes[0]);
        int last = sizes.length - 2;
        for (int i = 0; i < last; i++) h = g.layer("encoder." + i, h, weights, sizes[i], sizes[i + 1], cfg.activation());
        String name = "encoder." + last;
        float[] w = weights.apply(name + ".weight"), b = weights.apply(name + ".bias");
        int in = sizes[last];
        g.gemm(name + ".mu", h, Arrays.copyOfRange(w, 0, z * in), Arrays.copyOfRange(b, 0, z), z, in, "mu");
        g.gemm(name + ".logvar", h, Arrays.copyOfRange(w, z * in, 2 * z * in), Arrays.copyOfRange(b, z, 2 * z), z, in, "logvar");
        g.output("mu", z);
        g.output("logvar", z);
        return g.model();
    }

    /** The decoder: input {@code z} [N, Z]; output {@code mean} [N, D]. */
    public static byte[] decoder(VaeConfig cfg, Function<String, float[]> weights) {
        Graph g = new Graph("elbo4j_decoder");
        int[] sizes = cfg.decoderSizes();
        String h = "z";
        g.input("z", sizes[0]);
        for (int i = 0; i + 1 < sizes.length; i++) {
            boolean lastLayer = i + 2 == sizes.length;
            h = g.layer("decoder." + i, h, weights, sizes[i], sizes[i + 1], lastLayer ? Activation.IDENTITY : cfg.activation());
        }
        g.node(cfg.likelihood().kind() == Likelihood.Kind.BERNOULLI ? "Sigmoid" : "Identity", "mean", new String[] {h}, "mean");
        g.output("mean", sizes[sizes.length - 1]);
        return g.model();
    }

    /** A graph under construction. */
    private static final class Graph {
        private final String name;
        private final Protobuf graph = new Protobuf();

        Graph(String name) {
            this.name = name;
        }

        String layer(String prefix, String in, Function<String, float[]> weights, int inSize, int outSize, Activation act) {
            String y = prefix + ".out";
            gemm(prefix, in, weights.apply(prefix + ".weight"), weights.apply(prefix + ".bias"), outSize, inSize, y);
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
            Protobuf t = new Protobuf();
            for (long d : dims) t.varint(1, d);
            t.varint(2, FLOAT).string(8, n).bytes(9, raw.array());
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
