package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cpu.CpuBackend;
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

import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU parity of {@code kernels/fvbm.cu} against {@code CpuFvbm}: the states' log-probabilities
 * exact (the same double additions), log Z and the moments within 1e-12 (sums in another order;
 * CUDA's double {@code exp} against Java's), and so the gradient and the rows' loss within a few
 * float ulps. Odd sizes (d up to 13, so 8192 states: more than one pass of every block), x binary
 * with some fractional entries (the formulas take any x). Every output starts as NaN. Skips
 * without a GPU.
 */
class CudaFvbmParityTest {
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    static Stream<Arguments> sizes() {
        List<Arguments> a = new ArrayList<>();
        for (int d : new int[]{1, 2, 5, 9, 13}) for (int r : new int[]{1, 7, 33}) a.add(Arguments.of(d, r));
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void stepMatchesTheCpuReference(int d, int rows) {
        float[] b = floats(Rand.normal(d, d, 0.7)), w = floats(Rand.normal(d + 100L, d * d, 0.5));
        float[] x = floats(Rand.uniform(rows * 31L + d, rows * d, 0, 1));
        for (int i = 0; i < x.length; i++) x[i] = i % 11 == 3 ? x[i] : (x[i] < 0.4f ? 1 : 0);
        int states = 1 << d, scratch = states + d * d + 1;
        Tensor cs = cpu.alloc(DType.F64, scratch), cl = cpu.alloc(DType.F32, rows), cdb = cpu.alloc(DType.F32, d),
                cdw = cpu.alloc(DType.F32, d, d);
        cpu.fvbmStep(cpu.upload(x, Shape.of(rows, d)), cpu.upload(b, Shape.of(d)), cpu.upload(w, Shape.of(d, d)), cs, cl, cdb, cdw);
        try (Tensor gx = gpu.upload(x, Shape.of(rows, d)); Tensor gb = gpu.upload(b, Shape.of(d)); Tensor gw = gpu.upload(w, Shape.of(d, d));
             Tensor gs = poisoned(gpu, DType.F64, scratch); Tensor gl = poisoned(gpu, DType.F32, rows);
             Tensor gdb = poisoned(gpu, DType.F32, d); Tensor gdw = poisoned(gpu, DType.F32, d, d)) {
            gpu.fvbmStep(gx, gb, gw, gs, gl, gdb, gdw);
            String what = "d " + d + ", " + rows + " rows";
            double[] es = cpu.download(cs), as = gpu.download(gs);
            for (int st = 0; st < states; st++) {
                assertEquals(Double.doubleToLongBits(es[st]), Double.doubleToLongBits(as[st]), what + ": log-probability of state " + st);
            }
            for (int k = states; k < scratch; k++) assertEquals(es[k], as[k], 1e-12 * Math.max(1, Math.abs(es[k])), what + ": scratch " + k);
            assertClose(what + ": rowLoss", cpu.download(cl), gpu.download(gl));
            assertClose(what + ": dBias", cpu.download(cdb), gpu.download(gdb));
            assertClose(what + ": dWeight", cpu.download(cdw), gpu.download(gdw));
        }
    }

    /** Within 2 float ulps of the expected value, or 1e-6 absolute (a gradient that cancels to near 0). */
    private static void assertClose(String what, double[] e, double[] a) {
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], Math.max(2 * Math.ulp((float) e[i]), 1e-6), what + " [" + i + "]");
        }
    }
}
