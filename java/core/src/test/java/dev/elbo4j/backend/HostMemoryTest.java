package dev.elbo4j.backend;

import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Allocations are checked against the heap before they are made. */
class HostMemoryTest {

    @Test
    void aRequestBeyondTheHeapIsRefusedWithTheFigures() {
        long max = Runtime.getRuntime().maxMemory();
        HostMemory.require(1 << 20, "a megabyte");
        HostMemory.ShortfallException e = assertThrows(HostMemory.ShortfallException.class,
                () -> HostMemory.require(2 * max, "the test's request"));
        assertTrue(e.getMessage().startsWith("the test's request needs " + HostMemory.format(2 * max) + ", the JVM may use "),
                e.getMessage());
        assertEquals(2 * max, e.needed());
        assertTrue(e.suggestedMaxHeap() >= 2 * max, "a heap that would hold it: " + e.suggestedMaxHeap());
        assertThrows(HostMemory.ShortfallException.class, () -> HostMemory.require(HostMemory.bytes(Long.MAX_VALUE / 2, 4), "overflow"));
    }

    /** The CPU backend checks before it allocates: a tensor larger than the heap is one line, not an OutOfMemoryError. */
    @Test
    void theCpuBackendChecksBeforeAllocating() {
        int rows = Integer.MAX_VALUE - 16; // 17 GB of F64
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() < rows * 8L, "a heap below 17 GB");
        try (CpuBackend be = new CpuBackend()) {
            var e = assertThrows(HostMemory.ShortfallException.class, () -> be.alloc(DType.F64, Shape.of(rows)));
            assertTrue(e.getMessage().startsWith("a CPU tensor of " + rows + " F64 values needs "), e.getMessage());
        }
    }

    @Test
    void formats() {
        assertEquals("12.0 GB", HostMemory.format(12_000_000_000L));
        assertEquals("350 MB", HostMemory.format(350_000_000L));
        assertEquals("1 kB", HostMemory.format(10));
    }
}
