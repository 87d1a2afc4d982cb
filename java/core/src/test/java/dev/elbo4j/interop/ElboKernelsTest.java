package dev.elbo4j.interop;

import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.cuda.KernelArgs;
import dev.elbo4j.backend.cuda.Kernels;
import dev.elbo4j.rng.RngKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The interop API's host side over a {@link RecordingDriver}: every validation path (null pointers,
 * alignment, sizes, dimensions, overlaps, non-finite scalars, a closed object) throws a message
 * naming the argument and launches nothing; valid calls launch the backend's kernels with the
 * backend's launch configuration and argument lists on the caller's stream. The kernels' results
 * on caller-owned buffers are the GPU suite's ({@code InteropParityTest}).
 */
class ElboKernelsTest {
    private static final int B = 3, Z = 5, L = 2, D = 7, R = L * B;
    private static final long STREAM = 0xABCDEF0L;
    private RecordingDriver rec;
    private ElboKernels k;

    @BeforeEach
    void open() {
        rec = new RecordingDriver();
        k = new ElboKernels(rec.driver, 0, new byte[16]);
    }

    /** Buffers at distinct 256-byte-aligned addresses, each exactly the size a call needs. */
    private static DeviceBuffer buf(int slot, long floats) {
        return DeviceBuffer.of(0x10_0000L * (slot + 1), 4 * floats);
    }

    private void assertRejected(String message, Executable call) {
        int before = rec.launches.size();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
        assertEquals(before, rec.launches.size(), "nothing launched after a failed check");
    }

    @Test
    void openWithoutAGpuListsEveryReason() {
        try (ElboKernels real = ElboKernels.open(0)) {
            assertEquals(0, real.device().ordinal());  // a GPU host
        } catch (BackendUnavailableException e) {
            assertFalse(e.reasons().isEmpty());
            assertTrue(e.getMessage().startsWith("cuda interop backend unavailable: "), e.getMessage());
        }
    }

    @Test
    void latentForwardLaunchesTheBackendsKernelOnTheCallersStream() {
        RngKey key = new RngKey(0x1_0000_0002L, 4, 9);
        k.latentForward(buf(0, 2 * B * Z), buf(1, R * Z), buf(2, R * Z), buf(3, B), null, B, Z, L, key, STREAM);
        RecordingDriver.Launch l = rec.launches.getLast();
        assertEquals(Kernels.LATENT_FORWARD.name(), l.kernel());
        assertEquals(Kernels.LATENT_FORWARD.params(), l.kinds());
        assertEquals(STREAM, l.stream());
        int group = Kernels.latentGroup(Z);
        assertEquals(Kernels.blocks(R, Kernels.BLOCK_LATENT / group, 4 * 8), l.grid());
        assertEquals(Kernels.BLOCK_LATENT, l.block());
        long[] want = {0x10_0000L, 0x20_0000L, 0x30_0000L, 0x40_0000L, 0, B, Z, R, group, 2, 1, 4, 9, 0};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], l.arg(i), "argument " + i);
        assertTrue(rec.calls.contains("setCurrentContext"));
    }

    @Test
    void latentBackwardBernoulliAndGaussianLaunchAsTheBackendDoes() {
        k.latentBackward(buf(0, 2 * B * Z), buf(1, R * Z), buf(2, R * Z), 0.5, buf(3, 2 * B * Z), B, Z, L, STREAM);
        RecordingDriver.Launch lb = rec.launches.getLast();
        assertEquals(Kernels.LATENT_BACKWARD.name(), lb.kernel());
        assertEquals(Double.doubleToRawLongBits(0.5), lb.arg(7));
        assertEquals(Kernels.blocks((long) B * Z, Kernels.BLOCK_ELEMENTWISE, 32), lb.grid());

        k.bernoulli(buf(0, R * D), buf(1, B * D), buf(2, R), buf(3, R * D), B, L, D, 0.25f, STREAM);
        RecordingDriver.Launch be = rec.launches.getLast();
        assertEquals(Kernels.BERNOULLI.name(), be.kernel());
        assertEquals(Kernels.BLOCK_ROW, be.block());
        assertEquals(Kernels.ceilDiv(R, Kernels.rowsPerBlock(R)), be.grid());
        long[] want = {0x10_0000L, 0x20_0000L, 0x30_0000L, 0x40_0000L, R, B, D, Kernels.rowsPerBlock(R),
                Float.floatToRawIntBits(0.25f)};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], be.arg(i), "bernoulli argument " + i);

        k.gaussian(buf(0, R * D), buf(1, B * D), buf(2, R), null, B, L, D, -1.0, 1f, STREAM);
        RecordingDriver.Launch g = rec.launches.getLast();
        assertEquals(Kernels.GAUSSIAN.name(), g.kernel());
        assertEquals(0, g.arg(2), "no learned log-variance");
        assertEquals(0, g.arg(4), "no gradient asked for");
        assertEquals(0, g.arg(5), "no column partials");
        assertEquals(0, g.arg(10), "no shared-memory accumulation");
        assertEquals(Double.doubleToRawLongBits(-1.0), g.arg(11));
        assertEquals(Float.floatToRawIntBits((float) Math.exp(1.0)), g.arg(12));
        assertEquals(3, rec.launches.size());
    }

    @Test
    void nullPointersAreNamed() {
        assertRejected("latentForward: stats is a null device pointer (needs 3 x 10 float32)",
                () -> k.latentForward(null, buf(1, R * Z), buf(2, R * Z), null, null, B, Z, L, new RngKey(1, 0, 0), 0));
        assertRejected("latentForward: z is a null device pointer",
                () -> k.latentForward(buf(0, 2 * B * Z), buf(1, R * Z), DeviceBuffer.of(0), null, null, B, Z, L,
                        new RngKey(1, 0, 0), 0));
        assertRejected("bernoulli: rowLoss is a null device pointer (needs 2*3 float32)",
                () -> k.bernoulli(buf(0, R * D), buf(1, B * D), null, null, B, L, D, 1f, 0));
        assertRejected("key is null",
                () -> k.latentForward(buf(0, 2 * B * Z), buf(1, R * Z), buf(2, R * Z), null, null, B, Z, L, null, 0));
    }

    @Test
    void misalignedBuffersAreRejected() {
        assertRejected("bernoulli: x at 0x200002 is not 4-byte aligned",
                () -> k.bernoulli(buf(0, R * D), DeviceBuffer.of(0x20_0002L), buf(2, R), null, B, L, D, 1f, 0));
        assertRejected("latentBackward: dStats at 0x400001 is not 4-byte aligned",
                () -> k.latentBackward(buf(0, 2 * B * Z), buf(1, R * Z), buf(2, R * Z), 1, DeviceBuffer.of(0x40_0001L),
                        B, Z, L, 0));
    }

    @Test
    void buffersTooSmallForTheShapesAreRejected() {
        assertRejected("latentForward: eps holds 116 bytes, needs 120 (2*3 x 5 float32)",
                () -> k.latentForward(buf(0, 2 * B * Z), DeviceBuffer.of(0x20_0000L, 116), buf(2, R * Z), null, null,
                        B, Z, L, new RngKey(1, 0, 0), 0));
        assertRejected("gaussian: dMean holds 4 bytes, needs 168 (2*3 x 7 float32)",
                () -> k.gaussian(buf(0, R * D), buf(1, B * D), buf(2, R), DeviceBuffer.of(0x40_0000L, 4), B, L, D, 0, 1f, 0));
        // Unknown sizes are trusted; bigger buffers are fine.
        k.gaussian(DeviceBuffer.of(0x10_0000L), buf(1, 1000), buf(2, R), null, B, L, D, 0, 1f, 0);
    }

    @Test
    void dimensionsMustBePositiveAndFitTheKernels() {
        assertRejected("bernoulli: dim must be >= 1, got 0",
                () -> k.bernoulli(buf(0, 1), buf(1, 1), buf(2, 1), null, 1, 1, 0, 1f, 0));
        assertRejected("latentBackward: samples must be >= 1, got -2",
                () -> k.latentBackward(buf(0, 1), buf(1, 1), buf(2, 1), 1, buf(3, 1), 1, 1, -2, 0));
        assertRejected("rows (samples x batch) = 4294967296 exceeds 2^31 - 1",
                () -> k.bernoulli(DeviceBuffer.of(0x1000), DeviceBuffer.of(0x2000), DeviceBuffer.of(0x3000), null,
                        1 << 16, 1 << 16, 1, 1f, 0));
    }

    @Test
    void outputsMayNotOverlapOtherArguments() {
        assertRejected("latentForward: output z [0x100000, +120) overlaps stats",
                () -> k.latentForward(buf(0, 2 * B * Z), buf(1, R * Z), DeviceBuffer.of(0x10_0000L), null, null, B, Z, L,
                        new RngKey(1, 0, 0), 0));
        assertRejected("bernoulli: output rowLoss",
                () -> k.bernoulli(buf(0, R * D), buf(1, B * D), DeviceBuffer.of(0x10_0000L + 4L * R * D - 4), null,
                        B, L, D, 1f, 0));
        // Adjacent buffers do not overlap.
        k.bernoulli(buf(0, R * D), buf(1, B * D), DeviceBuffer.of(0x10_0000L + 4L * R * D), null, B, L, D, 1f, 0);
    }

    @Test
    void nonFiniteScalarsAreRejected() {
        assertRejected("bernoulli: gradScale must be finite, got NaN",
                () -> k.bernoulli(buf(0, R * D), buf(1, B * D), buf(2, R), null, B, L, D, Float.NaN, 0));
        assertRejected("latentBackward: klWeight must be finite",
                () -> k.latentBackward(buf(0, 2 * B * Z), buf(1, R * Z), buf(2, R * Z), Double.POSITIVE_INFINITY,
                        buf(3, 2 * B * Z), B, Z, L, 0));
        assertRejected("gaussian: logVar must be finite",
                () -> k.gaussian(buf(0, R * D), buf(1, B * D), buf(2, R), null, B, L, D, Double.NaN, 1f, 0));
    }

    @Test
    void closeReleasesTheContextAndLaterCallsFail() {
        k.close();
        assertTrue(rec.calls.contains("unloadModule") && rec.calls.contains("releasePrimaryContext")
                && rec.calls.contains("close"), rec.calls.toString());
        k.close();  // idempotent
        assertThrows(IllegalStateException.class,
                () -> k.bernoulli(buf(0, R * D), buf(1, B * D), buf(2, R), null, B, L, D, 1f, 0));
        assertFalse(rec.calls.contains("destroyStream") || rec.calls.contains("free"),
                "the caller's stream and memory are never touched: " + rec.calls);
    }

    @Test
    void deviceBuffersFromSegmentsAndAddresses() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64, 16);
            DeviceBuffer b = DeviceBuffer.of(s);
            assertEquals(s.address(), b.address());
            assertEquals(64, b.bytes());
            assertEquals(s.address() + 16, b.plus(16).address());
            assertEquals(48, b.plus(16).bytes());
        }
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                () -> DeviceBuffer.of(MemorySegment.ofArray(new float[4])));
        assertTrue(heap.getMessage().contains("heap MemorySegment has no device address"), heap.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceBuffer.of(0x1000, -5));
        assertThrows(IllegalArgumentException.class, () -> DeviceBuffer.of(0x1000, 8).plus(12));
        assertFalse(DeviceBuffer.of(0x1000).sized());
        assertEquals(KernelArgs.MAX_ARGS, 24);
    }
}
