package dev.elbo4j.nn;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.ConvGeometry;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Conv2d and ConvTranspose2d in F64: the weight, bias and input gradients of the loss
 * sum(g . y) against central finite differences, at odd sizes, stride 1 and 2, padding 0 and 1,
 * and a stack taking colour images channels last.
 */
class ConvLayerGradientTest {
    private final CpuBackend be = new CpuBackend();

    private static ConvLayer layer(String kind, ConvGeometry g, int channels, Activation act) {
        return kind.equals("conv") ? new Conv2d("l", g, channels, act) : new ConvTranspose2d("l", g, channels, act);
    }

    /** g is the convolution's geometry; {@code channels} the conv's output or the deconv's input channels. */
    @ParameterizedTest(name = "{0} {1}x{2}x{3} -> {4} k{5} s{6} p{7} {8}")
    @CsvSource({
            "conv,   2, 7, 5, 3, 3, 1, 0, tanh",
            "conv,   3, 7, 6, 2, 3, 2, 1, sigmoid",
            "conv,   1, 9, 9, 4, 4, 2, 1, tanh",
            "conv,   2, 5, 5, 2, 1, 1, 0, identity",
            "deconv, 3, 7, 5, 2, 3, 1, 1, tanh",
            "deconv, 2, 8, 8, 3, 4, 2, 1, sigmoid",
            "deconv, 1, 10, 7, 2, 3, 2, 0, tanh"})
    void gradientsMatchFiniteDifferences(String kind, int c, int h, int w, int channels, int k, int s, int p, String act) {
        ConvGeometry g = ConvGeometry.of(c, h, w, k, s, p);
        check(new ConvStack(List.of(layer(kind, g, channels, Activation.parse(act))), false, false), 3);
    }

    @Test
    void colourStackPermutesItsEnds() {
        // conv on 3 channels stored H x W x C, then a deconv back to 3 channels written H x W x C.
        ConvGeometry g1 = ConvGeometry.of(3, 5, 6, 3, 2, 1);
        ConvLayer conv = new Conv2d("a", g1, 4, Activation.TANH);
        ConvLayer deconv = new ConvTranspose2d("b", g1, 4, Activation.SIGMOID);
        check(new ConvStack(List.of(conv, deconv), true, true), 2);
    }

    @Test
    void colourInputIsReadChannelsLast() {
        // A 1x1 convolution with weight e_c picks channel c: reading H x W x C rows, output pixel q is x[q*3 + c].
        ConvGeometry g = ConvGeometry.of(3, 2, 3, 1, 1, 0);
        ConvStack stack = new ConvStack(List.of(new Conv2d("a", g, 1, Activation.IDENTITY)), true, false);
        Parameters.Builder pb = new Parameters.Builder();
        stack.declare(pb);
        try (Parameters params = pb.build(be, DType.F64, 1); Workspace ws = stack.workspace(be, DType.F64, 1, false)) {
            be.write(params.value("a.weight"), new double[]{0, 0, 1});
            be.write(params.value("a.bias"), new double[]{0});
            double[] x = Rand.normal(3, 18, 1);
            double[] y = be.download(stack.forward(params, ws, be.upload(x, Shape.of(1, 18))));
            for (int q = 0; q < 6; q++) assertEquals(x[q * 3 + 2], y[q], 0, "pixel " + q);
        }
    }

    private void check(ConvStack stack, int batch) {
        Parameters.Builder pb = new Parameters.Builder();
        stack.declare(pb);
        try (Parameters params = pb.build(be, DType.F64, 7); Workspace ws = stack.workspace(be, DType.F64, batch, true)) {
            Tensor x = be.upload(Rand.normal(11, batch * stack.in(), 1), Shape.of(batch, stack.in()));
            double[] gy = Rand.normal(12, batch * stack.out(), 1);
            Tensor dx = be.alloc(DType.F64, batch, stack.in());
            DoubleSupplier loss = () -> {
                double[] y = be.download(stack.forward(params, ws, x));
                double l = 0;
                for (int i = 0; i < y.length; i++) l += gy[i] * y[i];
                return l;
            };
            loss.getAsDouble();
            be.write(ws.outputGrad(batch), gy);
            be.fill(params.grads(), Double.NaN);  // every gradient must be overwritten
            stack.backward(params, ws, x, dx);
            double[] grads = be.download(params.grads()), dxs = be.download(dx);
            assertTrue(java.util.Arrays.stream(grads).anyMatch(v -> v != 0));
            // The loss is a sum of O(100) terms of O(1): h = 1e-5 keeps rounding in the quotients near 1e-11,
            // so gradients as small as 1e-5 still check to 1e-5 relative; a wrong index gives O(1) errors.
            GradCheck.check("params", be, params.values(), grads, loss, 1e-5, 1e-5);
            GradCheck.check("x", be, x, dxs, loss, 1e-5, 1e-5);
        }
    }
}
