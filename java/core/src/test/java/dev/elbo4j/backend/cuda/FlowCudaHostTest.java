package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FakeProbe;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host side of the flow.cu launches over the fake CUDA libraries (kernels are recorded, not
 * run): kernel names, grids, shared memory, argument lists, and shape checks before any launch.
 */
class FlowCudaHostTest {
    private static FakeProbe probe;
    private CudaBackend be;

    @BeforeAll
    static void fakes() {
        probe = new FakeProbe();
    }

    @BeforeEach
    void open() {
        be = new CudaBackend(probe.driver(), probe.blas(), KernelImageTest.fakeFatbin(), 0, "ffm");
    }

    @AfterEach
    void close() {
        be.close();
    }

    private long addr(Tensor t) {
        return ((DeviceTensor) t).address();
    }

    @Test
    void planarLaunches() {
        int b = 5, l = 3, rows = b * l, z = 20, k = 10;
        Tensor z0 = be.alloc(DType.F32, rows, z), u = be.alloc(DType.F32, k, z), w = be.alloc(DType.F32, k, z), bb = be.alloc(DType.F32, k);
        Tensor zk = be.alloc(DType.F32, rows, z), ld = be.alloc(DType.F32, rows), kl = be.alloc(DType.F32, b), lr = be.alloc(DType.F32, rows);
        long before = probe.launches();
        be.planarForward(z0, u, w, bb, zk, ld, kl, lr);
        assertEquals(before + 1, probe.launches(), "one launch: the per-input KL is the same kernel's");
        assertEquals("elbo4j_planar_forward_f32", probe.lastKernel());
        int group = Kernels.planarGroup(z);
        assertEquals(8, group, "Z = 20: 8 lanes of at most 4 elements each");
        assertEquals(addr(kl), probe.lastArg(7));
        assertEquals(b, probe.lastArgInt(8), "a group per input");
        assertEquals(z, probe.lastArgInt(9));
        assertEquals(k, probe.lastArgInt(10));
        assertEquals(l, probe.lastArgInt(11), "its L rows in turn");
        assertEquals(group, probe.lastArgInt(12));
        assertEquals(Kernels.ceilDiv((long) b * group, Kernels.BLOCK_ELEMENTWISE), probe.lastConfig(0));
        assertEquals(k * Kernels.PLANAR_STEP_BYTES, probe.lastConfig(6), "each step's scalars in shared memory");
        before = probe.launches();
        be.planarForward(z0, u, w, bb, zk, ld, null, null);
        assertEquals(before + 1, probe.launches());
        assertEquals("elbo4j_planar_forward_f32", probe.lastKernel());
        assertEquals(0, probe.lastArg(6), "a null logRatio is a null pointer");
        assertEquals(0, probe.lastArg(7), "a null kl is a null pointer");
        assertEquals(rows, probe.lastArgInt(8), "a group per row without kl");
        assertEquals(1, probe.lastArgInt(11));

        Tensor dz = be.alloc(DType.F32, rows, z), du = be.alloc(DType.F32, k, z), dw = be.alloc(DType.F32, k, z), db = be.alloc(DType.F32, k);
        Tensor scratch = be.alloc(DType.F32, rows, k * (2 * z + 2));
        before = probe.launches();
        be.planarBackward(z0, u, w, bb, zk, 0.25, dz, du, dw, db, scratch);
        assertEquals(before + 3, probe.launches(), "rows, the scratch's column partials, then the per-step reduction");
        assertEquals("elbo4j_planar_reduce_f32", probe.lastKernel());
        assertEquals(k, probe.lastConfig(0), "one block per step");
        assertEquals(Kernels.BLOCK_ROW, probe.lastConfig(3));
        assertEquals((2 * z + 2) * Double.BYTES, probe.lastConfig(6), "2Z+2 doubles of shared memory");
        assertEquals(addr(db), probe.lastArg(5));
        assertEquals(Kernels.columnChunks(rows), probe.lastArgInt(6), "the chunks of the column partials");
    }

    @Test
    void planarShapeErrorsLaunchNothing() {
        Tensor z0 = be.alloc(DType.F32, 4, 3), u = be.alloc(DType.F32, 2, 3), w = be.alloc(DType.F32, 2, 3), b = be.alloc(DType.F32, 2);
        Tensor zk = be.alloc(DType.F32, 4, 3), ld = be.alloc(DType.F32, 4);
        long before = probe.launches();
        var e = assertThrows(IllegalArgumentException.class, () -> be.planarForward(z0, be.alloc(DType.F32, 2, 4), w, b, zk, ld, null, null));
        assertTrue(e.getMessage().startsWith("u must be K x Z"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarForward(z0, u, w, b, zk, ld, be.alloc(DType.F32, 3), null));
        assertTrue(e.getMessage().startsWith("kl must have B"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarBackward(z0, u, w, b, zk, 1, be.alloc(DType.F32, 4, 3),
                be.alloc(DType.F32, 2, 3), be.alloc(DType.F32, 2, 3), be.alloc(DType.F32, 2), be.alloc(DType.F32, 4)));
        assertTrue(e.getMessage().startsWith("scratch needs"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> be.planarForward(be.alloc(DType.F64, 4, 3), u, w, b, zk, ld, null, null));
        int tooMany = Kernels.MAX_STATIC_SHARED_BYTES / Kernels.PLANAR_STEP_BYTES + 1;
        Tensor lu = be.alloc(DType.F32, tooMany, 3), lb = be.alloc(DType.F32, tooMany);
        e = assertThrows(IllegalArgumentException.class, () -> be.planarForward(z0, lu, lu, lb, zk, ld, null, null));
        assertTrue(e.getMessage().contains("at most " + (tooMany - 1) + " steps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.planarBackward(z0, lu, lu, lb, zk, 1, be.alloc(DType.F32, 4, 3),
                be.alloc(DType.F32, tooMany, 3), be.alloc(DType.F32, tooMany, 3), be.alloc(DType.F32, tooMany),
                be.alloc(DType.F32, 4, tooMany * 8)));
        assertTrue(e.getMessage().contains("at most " + (tooMany - 1) + " steps"), e.getMessage());
        assertEquals(before, probe.launches(), "no kernel ran for an invalid call");
    }

    @Test
    void niceLaunches() {
        int n = 7, d = 9;
        Tensor x = be.alloc(DType.F32, n, d), a = be.alloc(DType.F32, n, 5), b = be.alloc(DType.F32, n, 4);
        RngKey key = new RngKey(3, Streams.LATENT, 11);
        be.niceSplit(x, key, a, b);
        assertEquals("elbo4j_nice_split_f32", probe.lastKernel());
        assertEquals(1, probe.lastArgInt(5), "has a key");
        assertEquals(Streams.LATENT, probe.lastArgInt(8));
        assertEquals(11, probe.lastArg(9));
        be.niceSplit(x, null, a, b);
        assertEquals(0, probe.lastArgInt(5), "no key: no dequantization");
        be.niceAdd(b, b, -1);
        assertEquals("elbo4j_nice_add_f32", probe.lastKernel());
        assertEquals(n * 4, probe.lastArg(2));
        assertEquals(-1.0, probe.lastArgDouble(3));
        Tensor s = be.alloc(DType.F32, 4), lp = be.alloc(DType.F32, n), dh = be.alloc(DType.F32, n, 4), ds = be.alloc(DType.F32, 4);
        long before = probe.launches();
        be.nicePrior(b, s, true, true, 0.5, lp, dh, ds);
        assertEquals(before + 2, probe.launches(), "rows, then the scale gradient");
        assertEquals("elbo4j_nice_prior_ds_f32", probe.lastKernel());
        assertEquals(0, probe.lastArg(2), "one chunk of rows: no partials");
        assertEquals(1, probe.lastArgInt(7), "logistic");
        assertEquals(0.5, probe.lastArgDouble(8));
        before = probe.launches();
        be.nicePrior(b, s, false, false, 0.5, lp, null, null);
        assertEquals(before + 1, probe.launches(), "no gradient, one launch");
        assertEquals("elbo4j_nice_prior_rows_f32", probe.lastKernel());
        assertEquals(0, probe.lastArgInt(6), "gaussian");
        be.nicePriorSample(key, s, true, b);
        assertEquals("elbo4j_nice_prior_sample_f32", probe.lastKernel());
        assertEquals(Kernels.ceilDiv(n * 4, 4 * Kernels.BLOCK_ELEMENTWISE), probe.lastConfig(0));
        before = probe.launches();
        assertThrows(IllegalArgumentException.class, () -> be.niceSplit(x, null, b, a));
        assertThrows(IllegalArgumentException.class, () -> be.nicePrior(b, be.alloc(DType.F32, 5), true, false, 1, lp, null, null));
        assertEquals(before, probe.launches(), "no kernel ran for an invalid call");
    }
}
