package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.elbo4j.backend.cuda.KernelArgs.Kind.F32;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.F64;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.I32;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.I64;
import static dev.elbo4j.backend.cuda.KernelArgs.Kind.PTR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelArgsTest {

    @Test
    void packsValuesAsTheirCBits() {
        KernelArgs a = new KernelArgs().ptr(0xdead_beef_0000L).i32(-1).i64(-2).f32(1.5f).f64(-0.25);
        assertArrayEquals(new KernelArgs.Kind[]{PTR, I32, I64, F32, F64}, a.kinds());
        assertEquals(0xdead_beef_0000L, a.bits(0));
        assertEquals(0xffff_ffffL, a.bits(1), "an int is zero-extended into its slot");
        assertEquals(-2L, a.bits(2));
        assertEquals(Float.floatToRawIntBits(1.5f), (int) a.bits(3));
        assertEquals(0, a.bits(3) >>> 32);
        assertEquals(Double.doubleToRawLongBits(-0.25), a.bits(4));
        assertEquals(5, a.count());
        assertEquals(0, a.clear().count());
        assertThrows(IndexOutOfBoundsException.class, () -> a.bits(0));
    }

    @Test
    void rejectsTooManyArguments() {
        KernelArgs a = new KernelArgs();
        for (int i = 0; i < KernelArgs.MAX_ARGS; i++) a.i32(i);
        assertThrows(IllegalStateException.class, () -> a.i32(0));
    }

    @Test
    void specCheckNamesTheKernelAndThePosition() {
        KernelSpec k = KernelSpec.of("x.cu", "elbo4j_x", 64, PTR, I32, F64);
        k.check(new KernelArgs().ptr(1).i32(2).f64(3));
        IllegalStateException count = assertThrows(IllegalStateException.class, () -> k.check(new KernelArgs().ptr(1)));
        assertTrue(count.getMessage().startsWith("elbo4j_x takes 3 arguments, got 1"), count.getMessage());
        IllegalStateException kind = assertThrows(IllegalStateException.class,
                () -> k.check(new KernelArgs().ptr(1).i32(2).f32(3)));
        assertTrue(kind.getMessage().startsWith("elbo4j_x argument 2 must be F64, got F32"), kind.getMessage());
    }

    @Test
    void everyKernelFitsTheArgumentBlock() {
        for (KernelSpec k : Kernels.ALL) {
            assertTrue(k.params().size() <= KernelArgs.MAX_ARGS, k.name());
            assertTrue(k.name().startsWith("elbo4j_"), k.name());
        }
        assertEquals(Kernels.ALL.size(), Kernels.ALL.stream().map(KernelSpec::name).distinct().count());
    }

    @Test
    void gridSizing() {
        assertEquals(1, Kernels.blocks(0, 256, 100));
        assertEquals(1, Kernels.blocks(256, 256, 100));
        assertEquals(2, Kernels.blocks(257, 256, 100));
        assertEquals(100, Kernels.blocks(Integer.MAX_VALUE, 256, 100));
        // the kernels index elements in 32 bits (common.cuh row_col): a larger launch is refused
        assertThrows(IllegalArgumentException.class, () -> Kernels.blocks(1L << 31, 256, 100));
        assertEquals(1, Kernels.nextPow2(1));
        assertEquals(8, Kernels.nextPow2(5));
        assertEquals(8, Kernels.nextPow2(8));
        // A row of Z touches at most ceil(Z/4) + 1 Philox blocks; the group covers them, capped at a warp.
        int[][] groups = {{1, 2}, {3, 2}, {4, 2}, {5, 4}, {20, 8}, {50, 16}, {64, 32}, {1000, 32}};
        for (int[] g : groups) assertEquals(g[1], Kernels.latentGroup(g[0]), "Z = " + g[0]);
        for (int z = 1; z <= 200; z++) {
            int g = Kernels.latentGroup(z);
            assertTrue(g == 32 || g >= Kernels.ceilDiv(z, 4) + 1, "Z = " + z);
            assertEquals(0, 32 % g);
        }
        assertEquals(1, Kernels.reduceBlocks(0));
        assertEquals(1, Kernels.reduceBlocks(1024));
        assertEquals(2, Kernels.reduceBlocks(1025));
        assertEquals(Kernels.REDUCE_MAX_BLOCKS, Kernels.reduceBlocks(Integer.MAX_VALUE));
        assertEquals(1, Kernels.rowsPerBlock(1));
        assertEquals(1, Kernels.rowsPerBlock(1024));
        assertEquals(2, Kernels.rowsPerBlock(1025));
        assertEquals(5, Kernels.rowsPerBlock(4097));
        for (int rows : Arrays.asList(1, 7, 129, 4097, 100_000)) {
            int rpb = Kernels.rowsPerBlock(rows);
            assertTrue(Kernels.ceilDiv(rows, rpb) <= Kernels.MAX_ROW_BLOCKS, "rows " + rows);
        }
    }
}
