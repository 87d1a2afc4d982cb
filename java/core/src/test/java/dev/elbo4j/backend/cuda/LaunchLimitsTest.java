package dev.elbo4j.backend.cuda;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device's launch limits as the backend meets them: launches an sm_90 GPU refuses are refused
 * with the same {@code CUresult}, the function attributes are ptxas's figures of
 * {@code kernels/sm_90.resources}, and the occupancy the grid sizes come from follows from them.
 * On the emulator this checks the emulator's model of an H100; on an H100 / H200 the same
 * assertions check that model against the hardware.
 */
class LaunchLimitsTest {
    private static CudaBackend gpu;

    @BeforeAll
    static void backend() {
        gpu = GpuAvailable.backend();
    }

    /**
     * kernels/sm_90.resources: name -> {registers, static shared bytes, local bytes}. From a checkout
     * (the module directory is java/core); elsewhere (a GPU bundle) -Delbo4j.resources=FILE, or the
     * test is skipped.
     */
    private static Map<String, int[]> resourceTable() throws IOException {
        String given = System.getProperty("elbo4j.resources");
        Path p = given != null ? Path.of(given)
                : Path.of(System.getProperty("user.dir")).resolve("../../kernels/sm_90.resources").normalize();
        Assumptions.assumeTrue(Files.isRegularFile(p), "no resource table at " + p + " (-Delbo4j.resources=FILE)");
        Map<String, int[]> m = new HashMap<>();
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] f = line.split("\t");
            m.put(f[0], new int[]{Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3])});
        }
        return m;
    }

    @Test
    void functionAttributesAreTheBuildsResourceUsage() throws IOException {
        Map<String, int[]> table = resourceTable();
        CudaDriver d = gpu.driver();
        for (KernelSpec k : Kernels.ALL) {
            int[] r = table.get(k.name());
            assertTrue(r != null, k.name() + " is missing from kernels/sm_90.resources");
            long f = gpu.function(k);
            assertEquals(r[0], d.functionAttribute(f, CudaDriver.FUNC_NUM_REGS), k.name() + " registers");
            assertEquals(r[1], d.functionAttribute(f, CudaDriver.FUNC_SHARED_SIZE_BYTES), k.name() + " static shared memory");
            assertEquals(r[2], d.functionAttribute(f, CudaDriver.FUNC_LOCAL_SIZE_BYTES), k.name() + " local memory");
            assertEquals(48 * 1024 - r[1], d.functionAttribute(f, CudaDriver.FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES), k.name());
            assertTrue(d.functionAttribute(f, CudaDriver.FUNC_MAX_THREADS_PER_BLOCK) >= k.threads(), k.name());
        }
    }

    @Test
    void occupancyFollowsRegistersAndLaunchBounds() {
        CudaDriver d = gpu.driver();
        // 92 registers: 3072 per warp, 5 warps per sub-partition, 20 per SM: 2 blocks of 8 warps,
        // what __launch_bounds__(256, 2) asked ptxas for.
        assertEquals(2, d.maxActiveBlocksPerMultiprocessor(gpu.function(Kernels.LATENT_FORWARD), 256, 0));
        // 32 registers: the 64 warps of an SM, 8 blocks of 256.
        assertEquals(8, d.maxActiveBlocksPerMultiprocessor(gpu.function(Kernels.BIAS_ACT), 256, 0));
        // 44 registers (1536 per warp: 10 warps per sub-partition, 40 per SM): 5 blocks of 256, not 8.
        assertEquals(5, d.maxActiveBlocksPerMultiprocessor(gpu.function(Kernels.ADAM), 256, 0));
        // Shared memory bounds it too: 40 KiB + 1 KiB reserved per block, 228 KiB per SM.
        assertEquals(5, d.maxActiveBlocksPerMultiprocessor(gpu.function(Kernels.BIAS_ACT), 32, 40 * 1024));
        int sms = gpu.device().multiprocessors();
        assertEquals(5 * sms, gpu.wave(Kernels.ADAM));
        assertEquals(2 * sms, gpu.wave(Kernels.LATENT_FORWARD));
    }

    @Test
    void sharedMemoryAbove48KiBWithoutOptInIsRefused() {
        CudaDriver d = gpu.driver();
        int dim = 6144;  // 6144 x 8 B = 48 KiB of column sums, + 48 B static: over the limit
        try (Tensor o = gpu.alloc(DType.F32, 1, dim); Tensor x = gpu.alloc(DType.F32, 1, dim);
             Tensor lv = gpu.alloc(DType.F32, dim); Tensor rl = gpu.alloc(DType.F32, 1);
             Tensor g = gpu.alloc(DType.F32, 1, dim); Tensor partial = gpu.alloc(DType.F64, dim)) {
            KernelArgs a = new KernelArgs().ptr(addr(o)).ptr(addr(x)).ptr(addr(lv)).ptr(addr(rl)).ptr(addr(g)).ptr(addr(partial))
                    .i32(1).i32(1).i32(dim).i32(1).i32(1).f64(0).f32(1).f32(1);
            long f = gpu.function(Kernels.GAUSSIAN);
            CudaException e = assertThrows(CudaException.class,
                    () -> d.launch(f, 1, 1, 1, Kernels.BLOCK_ROW, 1, 1, dim * 8, 0, a));
            assertEquals(1, e.code(), e.getMessage());  // CUDA_ERROR_INVALID_VALUE
            // D = 6138: 49,104 + 48 bytes, exactly 48 KiB, fits.
            KernelArgs fits = new KernelArgs().ptr(addr(o)).ptr(addr(x)).ptr(addr(lv)).ptr(addr(rl)).ptr(addr(g))
                    .ptr(addr(partial)).i32(1).i32(1).i32(6138).i32(1).i32(1).f64(0).f32(1).f32(1);
            d.launch(f, 1, 1, 1, Kernels.BLOCK_ROW, 1, 1, 6138 * 8, 0, fits);
            d.synchronize(0);
        }
    }

    @Test
    void blockAboveLaunchBoundsIsRefused() {
        CudaDriver d = gpu.driver();
        try (Tensor t = gpu.alloc(DType.F64, 4)) {
            KernelArgs a = new KernelArgs().ptr(addr(t)).i64(4).i64(0);
            long f = gpu.function(Kernels.FILL_U64);  // __launch_bounds__(256)
            CudaException e = assertThrows(CudaException.class, () -> d.launch(f, 1, 1, 1, 512, 1, 1, 0, 0, a));
            assertEquals(701, e.code(), e.getMessage());  // CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
            assertEquals(256, d.functionAttribute(f, CudaDriver.FUNC_MAX_THREADS_PER_BLOCK));
        }
    }

    @Test
    void blockAboveTheRegisterFileIsRefused() {
        CudaDriver d = gpu.driver();
        // 92 registers x 1024 threads = 96K registers > 64K; the bound (256) fails first on a GPU too,
        // and both are CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES.
        long f = gpu.function(Kernels.LATENT_FORWARD);
        assertTrue(d.functionAttribute(f, CudaDriver.FUNC_MAX_THREADS_PER_BLOCK) <= 256);
        KernelArgs none = new KernelArgs().ptr(0).ptr(0).ptr(0).ptr(0).ptr(0).i32(0).i32(1).i32(0).i32(1)
                .i32(0).i32(0).i32(0).i64(0).ptr(0);  // no rows: would do nothing if it ran
        CudaException e = assertThrows(CudaException.class, () -> d.launch(f, 1, 1, 1, 1024, 1, 1, 0, 0, none));
        assertEquals(701, e.code(), e.getMessage());
    }

    private static long addr(Tensor t) {
        return ((DeviceTensor) t).address();
    }
}
