package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.floats;

/**
 * The dense layer's backward replayed from a graph, where the weight gradient (and on cuBLASLt the
 * bias gradient) runs on the side stream beside dx (SideStream), against the same call run eagerly
 * on one stream: the same bits for dy (the activation's derivative in place), dW, dBias and dx, on
 * the hand-written path and on cuBLASLt, over two replays with new inputs written in between. The
 * outputs are disjoint, so only a missing dependency could change a bit: run it with
 * ELBO4J_EMU_REVERSE=1 too, where the emulator replays the graph's two branches the other way round.
 */
class ForkedBackwardParityTest {
    private static CudaBackend gpu;

    @BeforeAll
    static void backend() {
        gpu = GpuAvailable.backend();
    }

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (boolean lt : new boolean[]{false, true}) {
            a.add(Arguments.of(lt, Activation.RELU, 129, 19, 33));
            a.add(Arguments.of(lt, Activation.TANH, 3, 1, 1025));
            a.add(Arguments.of(lt, Activation.IDENTITY, 65, 784, 40));
        }
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void replayedForkMatchesEagerBits(boolean lt, Activation act, int rows, int in, int out) throws Exception {
        boolean was = gpu.cublasLt();
        if (lt) gpu.setCublasLt(true);
        try (Tensor x = gpu.alloc(DType.F32, Shape.of(rows, in)); Tensor w = gpu.alloc(DType.F32, Shape.of(out, in));
             Tensor y = gpu.alloc(DType.F32, Shape.of(rows, out)); Tensor dy = gpu.alloc(DType.F32, Shape.of(rows, out));
             Tensor dW = gpu.alloc(DType.F32, Shape.of(out, in)); Tensor dB = gpu.alloc(DType.F32, Shape.of(out));
             Tensor dx = gpu.alloc(DType.F32, Shape.of(rows, in))) {
            Runnable backward = () -> gpu.linearBackward(x, w, y, dy, act, dW, dB, dx);
            Tensor[] outs = {dy, dW, dB, dx};
            String[] names = {"dy", "dW", "dBias", "dx"};
            CudaGraph graph = null;
            try {
                for (int round = 0; round < 2; round++) {
                    long seed = 41L * rows + 3L * in + out + act.ordinal() + 1000L * round;
                    float[] hx = Rand.toFloat(Rand.normal(seed, rows * in, 1)), hw = Rand.toFloat(Rand.normal(seed + 1, out * in, 0.5));
                    float[] hy = Rand.toFloat(Rand.normal(seed + 2, rows * out, 1)), hg = Rand.toFloat(Rand.normal(seed + 3, rows * out, 1));
                    if (act == Activation.RELU) for (int i = 0; i < hy.length; i++) hy[i] = Math.max(hy[i], 0f);
                    if (act == Activation.TANH) for (int i = 0; i < hy.length; i++) hy[i] = (float) Math.tanh(hy[i]);
                    gpu.write(x, hx);
                    gpu.write(w, hw);
                    gpu.write(y, hy);
                    gpu.write(dy, hg);
                    for (int i = 1; i < outs.length; i++) gpu.fill(outs[i], Double.NaN);
                    backward.run();
                    float[][] eager = new float[outs.length][];
                    for (int i = 0; i < outs.length; i++) eager[i] = floats(gpu.download(outs[i]));

                    if (graph == null) graph = gpu.capture(backward);  // records; runs nothing
                    gpu.write(dy, hg);
                    for (int i = 1; i < outs.length; i++) gpu.fill(outs[i], Double.NaN);
                    graph.launch();
                    String at = (lt ? "cuBLASLt " : "hand-written ") + act + " " + rows + "x" + in + "->" + out + ", replay " + round;
                    for (int i = 0; i < outs.length; i++) assertBits(names[i] + " " + at, eager[i], floats(gpu.download(outs[i])));
                }
            } finally {
                if (graph != null) graph.close();
            }
        } finally {
            gpu.setCublasLt(was);
        }
    }
}
