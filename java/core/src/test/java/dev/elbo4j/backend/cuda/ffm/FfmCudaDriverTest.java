package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaDeviceInfo;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.CudaException;
import dev.elbo4j.backend.cuda.KernelArgs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FFM binding against the fake {@code libcuda.so.1} / {@code libcublas.so.13}: every entry
 * point binds, arguments and out-parameters cross the boundary intact, return codes become
 * exceptions naming the call and the code.
 */
class FfmCudaDriverTest {
    private static FakeProbe probe;

    @BeforeAll
    static void fakes() {
        probe = new FakeProbe();
    }

    private static byte[] fatbinHeader() {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(0xBA55ED50).putShort((short) 1)
                .putShort((short) 16).putLong(16).array();
    }

    @Test
    void queriesTheDevice() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            assertEquals(13000, d.driverVersion());
            assertEquals(1, d.deviceCount());
            CudaDeviceInfo info = d.device(0);
            assertEquals(new CudaDeviceInfo(0, "Fake GPU", 8L << 30, 9, 0, 4), info);
            assertEquals("sm_90", info.arch());
            CudaException e = assertThrows(CudaException.class, () -> d.device(3));
            assertEquals("cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE (101)", e.getMessage());
            assertTrue(d.describe().contains(probe.libraries.cuda().toString()), d.describe());
        }
    }

    @Test
    void errorsNameTheCallAndTheCode() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            CudaException oom = assertThrows(CudaException.class, () -> d.malloc(1L << 40));
            assertEquals("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2)", oom.getMessage());
            assertEquals(2, oom.code());
            assertThrows(IllegalArgumentException.class, () -> d.malloc(0));
            CudaException image = assertThrows(CudaException.class, () -> d.loadModule(new byte[64]));
            assertEquals("cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE (200)", image.getMessage());
            long module = d.loadModule(fatbinHeader());
            CudaException missing = assertThrows(CudaException.class, () -> d.function(module, "not_an_elbo4j_kernel"));
            assertEquals("cuModuleGetFunction(not_an_elbo4j_kernel) failed: CUDA_ERROR_NOT_FOUND (500)", missing.getMessage());
            CudaException ctx = assertThrows(CudaException.class, () -> d.setCurrentContext(0x1234));
            assertEquals("cuCtxSetCurrent failed: CUDA_ERROR_INVALID_CONTEXT (201)", ctx.getMessage());
            d.unloadModule(module);
        }
    }

    @Test
    void initFailureIsReported() {
        probe.initResult(100);
        try (CudaDriver d = probe.driver()) {
            CudaException e = assertThrows(CudaException.class, d::init);
            assertEquals("cuInit failed: CUDA_ERROR_NO_DEVICE (100)", e.getMessage());
        } finally {
            probe.initResult(0);
        }
    }

    @Test
    void copiesRoundTripInChunks() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            long stream = d.createStream();
            SplittableRandom r = new SplittableRandom(1);
            // 1.3 M doubles = 10.4 MB: three trips through the 4 MiB staging buffer, at an offset.
            double[] big = r.doubles(1_300_001).toArray();
            long p = d.malloc(8L * big.length);
            d.copyToDevice(p, big, 1, big.length - 1, stream);
            double[] back = new double[big.length + 2];
            d.copyToHost(back, 2, big.length - 1, p, stream);
            assertArrayEquals(Arrays.copyOfRange(big, 1, big.length), Arrays.copyOfRange(back, 2, big.length + 1));
            d.free(p);

            float[] f = {1.5f, -0f, Float.NaN, Float.MIN_VALUE};
            int[] i = {Integer.MIN_VALUE, -1, 0, 7};
            byte[] b = {(byte) 255, 0, 1, -128};
            long q = d.malloc(64);
            d.copyToDevice(q, f, 0, 4, stream);
            float[] f2 = new float[4];
            d.copyToHost(f2, 0, 4, q, stream);
            assertArrayEquals(f, f2);
            d.copyToDevice(q, i, 0, 4, stream);
            int[] i2 = new int[4];
            d.copyToHost(i2, 0, 4, q, stream);
            assertArrayEquals(i, i2);
            d.copyToDevice(q + 16, b, 0, 4, stream);
            byte[] b2 = new byte[4];
            d.copyToHost(b2, 0, 4, q + 16, stream);
            assertArrayEquals(b, b2);
            d.memsetD32(q, 0x3f800000, 4, stream);
            d.copyToHost(f2, 0, 4, q, stream);
            assertArrayEquals(new float[]{1, 1, 1, 1}, f2);
            d.memsetD8(q + 16, (byte) 0xfe, 3, stream);
            d.copyToHost(b2, 0, 4, q + 16, stream);
            assertArrayEquals(new byte[]{(byte) 0xfe, (byte) 0xfe, (byte) 0xfe, -128}, b2);
            d.copyDeviceToDevice(q + 32, q, 16, stream);
            d.copyToHost(f2, 0, 4, q + 32, stream);
            assertArrayEquals(new float[]{1, 1, 1, 1}, f2);
            assertThrows(IndexOutOfBoundsException.class, () -> d.copyToHost(new float[2], 1, 2, q, stream));
            d.free(q);
            d.synchronize(stream);
            d.destroyStream(stream);
        }
    }

    @Test
    void launchesPackEveryArgumentKind() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            long stream = d.createStream();
            long module = d.loadModule(fatbinHeader());
            long f = d.function(module, "elbo4j_test");
            KernelArgs a = new KernelArgs().ptr(0x7f00_1234_5678L).i32(-7).i64(1L << 40).f32(1.25f).f64(-3.5).i32(3);
            d.launch(f, 5, 2, 1, 128, 2, 1, 4096, stream, a);
            assertEquals("elbo4j_test", probe.lastKernel());
            assertArrayEquals(new int[]{5, 2, 1, 128, 2, 1, 4096},
                    java.util.stream.IntStream.range(0, 7).map(probe::lastConfig).toArray());
            assertEquals(0x7f00_1234_5678L, probe.lastArg(0));
            assertEquals(-7, probe.lastArgInt(1));
            assertEquals(1L << 40, probe.lastArg(2));
            assertEquals(1.25f, probe.lastArgFloat(3));
            assertEquals(-3.5, probe.lastArgDouble(4));
            assertEquals(3, probe.lastArgInt(5));
            assertEquals(stream, probe.lastStream());
            CudaException e = assertThrows(CudaException.class, () -> d.launch(f, 1, 1, 1, 2048, 1, 1, 0, stream, a));
            assertEquals("cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (1)", e.getMessage());
            d.unloadModule(module);
        }
    }

    @Test
    void eventsAndGraphs() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            long stream = d.createStream();
            long a = d.createEvent(), b = d.createEvent();
            d.recordEvent(a, stream);
            d.recordEvent(b, stream);
            long other = d.createStream();
            long waits = probe.count(FakeProbe.Call.STREAM_WAIT);
            d.waitEvent(other, b);
            assertEquals(waits + 1, probe.count(FakeProbe.Call.STREAM_WAIT));
            CudaException bad = assertThrows(CudaException.class, () -> d.waitEvent(other, 0));
            assertEquals("cuStreamWaitEvent failed: CUDA_ERROR_INVALID_VALUE (1)", bad.getMessage());
            d.destroyStream(other);
            d.synchronizeEvent(b);
            assertEquals(1.5f, d.elapsedMillis(a, b));
            d.destroyEvent(a);
            d.destroyEvent(b);
            d.beginCapture(stream);
            long graph = d.endCapture(stream);
            long exec = d.instantiateGraph(graph);
            d.launchGraph(exec, stream);
            d.destroyGraphExec(exec);
            d.destroyGraph(graph);
            long ctx = d.retainPrimaryContext(0);
            d.setCurrentContext(ctx);
            d.releasePrimaryContext(0);
        }
    }

    @Test
    void aClosedDriverRefusesCalls() {
        CudaDriver d = probe.driver();
        d.close();
        d.close();
        assertThrows(IllegalStateException.class, d::init);
        assertThrows(IllegalStateException.class, () -> d.malloc(16));
    }

    @Test
    void cublasHandleGemmAndStatuses() {
        try (CudaDriver d = probe.driver()) {
            d.init();
            long stream = d.createStream();
            CudaBlas.Library lib = probe.blas();
            try (CudaBlas blas = lib.create(stream)) {
                assertEquals(stream, probe.blasStream());
                assertTrue(blas.describe().startsWith("cuBLAS 130100 ("), blas.describe());
                blas.setTf32(true);
                assertEquals(3, probe.mathMode());
                blas.setTf32(false);
                assertEquals(0, probe.mathMode());
                long ws = d.malloc(1024);
                assertTrue(blas.setWorkspace(ws, 1024));
                assertEquals(ws, probe.workspace());
                // Row-major [1 2 3; 4 5 6] (2x3) times [1; 1; 1] = [6; 15]
                long a = d.malloc(24), x = d.malloc(12), y = d.malloc(8);
                d.copyToDevice(a, new float[]{1, 2, 3, 4, 5, 6}, 0, 6, stream);
                d.copyToDevice(x, new float[]{1, 1, 1}, 0, 3, stream);
                d.copyToDevice(y, new float[]{Float.NaN, Float.NaN}, 0, 2, stream);
                blas.sgemm(false, false, 2, 1, 3, 1f, a, 3, x, 1, 0f, y, 1);
                float[] out = new float[2];
                d.copyToHost(out, 0, 2, y, stream);
                assertArrayEquals(new float[]{6, 15}, out);
                CudaException e = assertThrows(CudaException.class,
                        () -> blas.sgemmColumnMajor(false, false, 4, 1, 1, 1f, a, 1, x, 1, 0f, y, 4));
                assertEquals("cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7)", e.getMessage());
                for (long p : new long[]{ws, a, x, y}) d.free(p);
            }
        }
    }
}
