package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.elbo4j.backend.cuda.Parity.floats;
import static dev.elbo4j.backend.cuda.Parity.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * NaN and infinite inputs give NaN exactly where the CPU reference's {@code Math.max} does: the
 * log-sum-exp of the classification kernels and the softplus of the RBM take their maximum as
 * Java does (common.cuh {@code java_max}, {@code java_max0}; {@code fmax} drops a NaN). Every
 * output is compared element by element: NaN where the reference is NaN, else within 1e-6 relative.
 */
class NanParityTest {
    private static final float NAN = Float.NaN, INF = Float.POSITIVE_INFINITY;
    /** Rows of 3 logits: NaN first, last, alone, beside +inf and -inf, all NaN; and a finite row. */
    private static final float[] LOGITS = {
        NAN, 1, 2,   1, 2, NAN,   0, NAN, 0,   INF, NAN, 0,   -INF, -INF, NAN,   NAN, NAN, NAN,   -INF, 1, INF,   0.5f, -1, 2,
    };
    private static final int B = LOGITS.length / 3, C = 3;
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void backends() {
        gpu = GpuAvailable.backend();
        cpu = new CpuBackend();
    }

    private static void assertSameNans(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) != Float.isNaN(a)) fail(what + "[" + i + "]: expected " + e + ", got " + a);
            if (Float.isNaN(e) || e == a) continue;
            assertTrue(Math.abs(e - a) <= 1e-6 * Math.abs(e), what + "[" + i + "]: expected " + e + ", got " + a);
        }
    }

    @Test
    void softmaxCrossEntropy() {
        float[] target = new float[B * C];
        for (int b = 0; b < B; b++) target[b * C + b % C] = 1;
        Tensor cl = cpu.alloc(DType.F32, B), cg = cpu.alloc(DType.F32, B, C);
        cpu.softmaxCrossEntropy(cpu.upload(LOGITS, Shape.of(B, C)), cpu.upload(target, Shape.of(B, C)), 0.5, cl, cg);
        try (Tensor l = gpu.upload(LOGITS, Shape.of(B, C)); Tensor t = gpu.upload(target, Shape.of(B, C));
             Tensor loss = poisoned(gpu, DType.F32, B); Tensor g = poisoned(gpu, DType.F32, B, C)) {
            gpu.softmaxCrossEntropy(l, t, 0.5, loss, g);
            assertSameNans("loss", floats(cpu.download(cl)), gpu.downloadFloats(loss));
            assertSameNans("dLogits", floats(cpu.download(cg)), gpu.downloadFloats(g));
        }
    }

    @Test
    void unlabelledBound() {
        float[] rec = new float[C * B], kl = new float[C * B];
        for (int i = 0; i < rec.length; i++) {
            rec[i] = 90 + i % 7;
            kl[i] = 3 + i % 5;
        }
        Tensor cu = cpu.alloc(DType.F32, B), cw = cpu.alloc(DType.F32, C * B), cg = cpu.alloc(DType.F32, B, C);
        cpu.unlabelledBound(cpu.upload(LOGITS, Shape.of(B, C)), cpu.upload(rec, Shape.of(C * B)), cpu.upload(kl, Shape.of(C * B)),
                0.7, 0.25, 0.5, cu, cw, cg);
        try (Tensor l = gpu.upload(LOGITS, Shape.of(B, C)); Tensor r = gpu.upload(rec, Shape.of(C * B));
             Tensor k = gpu.upload(kl, Shape.of(C * B)); Tensor u = poisoned(gpu, DType.F32, B);
             Tensor w = poisoned(gpu, DType.F32, C * B); Tensor g = poisoned(gpu, DType.F32, B, C)) {
            gpu.unlabelledBound(l, r, k, 0.7, 0.25, 0.5, u, w, g);
            assertSameNans("u", floats(cpu.download(cu)), gpu.downloadFloats(u));
            assertSameNans("weights", floats(cpu.download(cw)), gpu.downloadFloats(w));
            assertSameNans("dLogits", floats(cpu.download(cg)), gpu.downloadFloats(g));
        }
    }

    @Test
    void rbmFreeEnergy() {
        // one row per hidden activation: NaN, +inf, -inf, 0 and finite, beside ordinary units
        float[] hAct = {NAN, 1, INF, 1, -INF, 1, 0, 1, -3, 2};
        int rows = 5, hid = 2, vis = 3;
        float[] v = {1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1};
        float[] visBias = {0.1f, -0.2f, 0.3f}, hidBias = {0.05f, -0.05f};
        Tensor out = cpu.alloc(DType.F32, rows);
        cpu.rbmFreeEnergy(cpu.upload(v, Shape.of(rows, vis)), cpu.upload(hAct, Shape.of(rows, hid)), cpu.upload(visBias, Shape.of(vis)),
                cpu.upload(hidBias, Shape.of(hid)), 1.0, null, out);
        try (Tensor gv = gpu.upload(v, Shape.of(rows, vis)); Tensor gh = gpu.upload(hAct, Shape.of(rows, hid));
             Tensor gb = gpu.upload(visBias, Shape.of(vis)); Tensor gc = gpu.upload(hidBias, Shape.of(hid));
             Tensor go = poisoned(gpu, DType.F32, rows)) {
            gpu.rbmFreeEnergy(gv, gh, gb, gc, 1.0, null, go);
            assertSameNans("free energy", floats(cpu.download(out)), gpu.downloadFloats(go));
        }
    }
}
