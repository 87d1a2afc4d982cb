package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Corruption;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The autoencoder.cu launches of {@link CudaBackend} over the fake CUDA libraries (kernels are
 * recorded, not run), as {@link CudaBackendHostTest} does for the other groups: argument checks
 * before any launch, grid sizes and argument lists.
 */
class AutoencoderCudaHostTest extends FakeBackendTest {

    private static long address(Tensor t) {
        return ((DeviceTensor) t).address();
    }

    @Test
    void corruptLaunch() {
        int rows = 7, d = 785;
        Tensor x = be.alloc(DType.F32, rows, d), out = be.alloc(DType.F32, rows, d);
        RngKey key = new RngKey(0x1122334455667788L, Streams.CORRUPT, 0x00ab_cdef_1234_5678L);
        be.corrupt(Corruption.MASK, 0.3, key, x, out);
        assertEquals("elbo4j_corrupt_f32", probe.lastKernel());
        assertEquals(Kernels.BLOCK_ELEMENTWISE, probe.lastConfig(3));
        long philoxBlocks = Kernels.ceilDiv((long) rows * d, 4);
        assertTrue(probe.lastConfig(0) >= 1 && probe.lastConfig(0) <= Kernels.ceilDiv(philoxBlocks, Kernels.BLOCK_ELEMENTWISE),
                "at most one thread per Philox block: " + probe.lastConfig(0));
        assertEquals(address(x), probe.lastArg(0));
        assertEquals(address(out), probe.lastArg(1));
        assertEquals((long) rows * d, probe.lastArg(2));
        assertEquals(Corruption.MASK.ordinal(), probe.lastArgInt(3));
        assertEquals(0.3, probe.lastArgDouble(4));
        assertEquals(key.key0(), probe.lastArgInt(5));
        assertEquals(key.key1(), probe.lastArgInt(6));
        assertEquals(Streams.CORRUPT, probe.lastArgInt(7));
        assertEquals(key.step(), probe.lastArg(8));
        assertEquals(0, probe.lastArg(9), "no device step bound");
        be.corrupt(Corruption.GAUSSIAN, 0.5, key, x, x);  // in place is allowed
        assertEquals(Corruption.GAUSSIAN.ordinal(), probe.lastArgInt(3));
        assertEquals(address(x), probe.lastArg(1));
    }

    @Test
    void sparsityLaunches() {
        int b = 64, z = 20;
        Tensor code = be.alloc(DType.F32, b, z), q = be.alloc(DType.F32, z), kl = be.alloc(DType.F32, z);
        be.sparsityForward(code, 0.05, q, kl);
        assertEquals("elbo4j_sparsity_forward_f32", probe.lastKernel());
        assertEquals(1, probe.lastConfig(0), "a row-chunked column sum: one 32-column tile, one chunk of 64 rows");
        assertEquals(Kernels.COLS_TILE_X, probe.lastConfig(3));
        assertEquals(Kernels.COLS_TILE_Y, probe.lastConfig(4));
        assertEquals(address(code), probe.lastArg(0));
        assertEquals(0, probe.lastArg(1), "one chunk: no partials, no second pass");
        assertEquals(address(q), probe.lastArg(2));
        assertEquals(address(kl), probe.lastArg(3));
        assertEquals(b, probe.lastArgInt(4));
        assertEquals(z, probe.lastArgInt(5));
        assertEquals(Kernels.MIN_CHUNK_ROWS, probe.lastArgInt(6));
        assertEquals(0.05, probe.lastArgDouble(7));
        Tensor tall = be.alloc(DType.F32, 1000, z);  // 8 chunks of 128 rows: the finishing pass comes last
        be.sparsityForward(tall, 0.05, q, kl);
        assertEquals("elbo4j_sparsity_finish_f32", probe.lastKernel());
        assertEquals(address(q), probe.lastArg(1));
        assertEquals(address(kl), probe.lastArg(2));
        assertEquals(8, probe.lastArgInt(3));
        assertEquals(z, probe.lastArgInt(4));
        assertEquals(1000, probe.lastArgInt(5));
        be.sparsityBackward(q, 0.05, 0.25, code);
        assertEquals("elbo4j_sparsity_backward_f32", probe.lastKernel());
        assertEquals(Kernels.ceilDiv(b * z, Kernels.BLOCK_ELEMENTWISE), probe.lastConfig(0));
        assertEquals(address(q), probe.lastArg(0));
        assertEquals(address(code), probe.lastArg(1));
        assertEquals(b, probe.lastArgInt(2));
        assertEquals(z, probe.lastArgInt(3));
        assertEquals(0.05, probe.lastArgDouble(4));
        assertEquals(0.25, probe.lastArgDouble(5));
    }

    @Test
    void invalidCallsThrowBeforeAnyLaunch() {
        Tensor x = be.alloc(DType.F32, 4, 6), code = be.alloc(DType.F32, 4, 3), q = be.alloc(DType.F32, 3), kl = be.alloc(DType.F32, 3);
        RngKey key = new RngKey(1, Streams.CORRUPT, 0);
        long launches = probe.launches();
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.MASK, 0.2, key, x, be.alloc(DType.F32, 6, 4)));
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.MASK, 1.0, key, x, be.alloc(DType.F32, 4, 6)));
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.NONE, 0.2, key, x, be.alloc(DType.F32, 4, 6)));
        Tensor buf = be.alloc(DType.F32, 4 * 6 + 1);
        assertThrows(IllegalArgumentException.class, () -> be.corrupt(Corruption.MASK, 0.2, key, buf.view(0, 4, 6), buf.view(1, 4, 6)),
                "an output overlapping the input without being it");
        assertThrows(UnsupportedOperationException.class, () -> be.corrupt(Corruption.MASK, 0.2, key, be.alloc(DType.F64, 4, 6),
                be.alloc(DType.F64, 4, 6)));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 0, q, kl));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 0.1, be.alloc(DType.F32, 4), kl));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityForward(code, 0.1, q, q));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityBackward(be.alloc(DType.F32, 4), 0.1, 1, code));
        assertThrows(IllegalArgumentException.class, () -> be.sparsityBackward(q, 1.5, 1, code));
        assertEquals(launches, probe.launches(), "no kernel ran for an invalid call");
    }
}
