package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.cuda.ffm.FakeProbe.Call;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StepGuard} against the recording fake driver ({@link FakeCudaLibraries}): what a replayed
 * step and a read cost in driver calls, and the arguments its kernels get. The fake runs no
 * kernel, so the device state stays as the constructor wrote it (zero).
 */
class StepGuardHostTest extends FakeBackendTest {
    private static final AdamConfig CFG = AdamConfig.of(1e-3);

    @Test
    void aSteadyStateStepIsOneGraphLaunchAndAReadIsOneCopyAndItsWait() {
        try (Tensor p = be.alloc(DType.F32, 1, 10); Tensor g = be.alloc(DType.F32, 1, 10);
             Tensor m = be.alloc(DType.F32, 1, 10); Tensor v = be.alloc(DType.F32, 1, 10);
             StepGuard guard = new StepGuard(be, false, 0, 1, 4)) {
            guard.plan(g, 1, 2, new Tensor[]{p}, 0);
            guard.schedule(CFG, 1, new double[]{1e-3, 1e-3, 1e-3, 1e-3});
            CudaGraph step = be.capture(() -> {
                guard.check();
                guard.adam(p, g, m, v, CFG);
            });
            try (step) {
                step.launch();
                Map<Call, Long> before = counts();
                long launches = probe.launches(), allocations = probe.totalAllocations();
                for (int i = 0; i < 7; i++) step.launch();
                assertEquals(Map.of(Call.GRAPH_LAUNCH, 7L), since(before), "seven steps: seven cuGraphLaunch and nothing else");
                assertEquals(launches, probe.launches(), "no kernel launched from the host");
                assertEquals(allocations, probe.totalAllocations(), "no device allocation");

                before = counts();
                StepGuard.Readout r = guard.read();
                assertEquals(Map.of(Call.COPY_ON_DEVICE, 1L, Call.COPY_TO_HOST, 1L, Call.EVENT_RECORD, 1L, Call.EVENT_SYNC, 1L),
                        since(before), "a read: the gathers' error word copied into the guard's block, one asynchronous copy"
                                + " of the block to pinned memory, an event after it and its wait; no stream synchronisation");
                assertEquals(launches, probe.launches());
                assertEquals(allocations, probe.totalAllocations(), "no device allocation");
                assertEquals(new StepGuard.Readout(0, 0.0, 0, 0, false, 0, -1, false, 0), r);
                before = counts();
                r = guard.read(p);
                assertEquals(Map.of(Call.COPY_ON_DEVICE, 1L, Call.COPY_TO_HOST, 1L, Call.EVENT_RECORD, 1L, Call.EVENT_SYNC, 1L),
                        since(before), "a read with a sum folded in: the same calls");
                assertTrue(probe.launches() > launches, "the sum is a kernel launch");
                assertEquals("elbo4j_sum_f32", probe.lastKernel());
                assertEquals(probe.lastArg(4), guard.step().address() + 4L * (StepGuard.READ_SUM_LO - StepGuard.STEP_LO),
                        "the sum lands in the guard's block, read with it");
            }
        }
    }

    @Test
    void aReplayedStepAllocatesNothingOnTheHost() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported(), "no allocation counter in this JVM");
        try (Tensor p = be.alloc(DType.F32, 1, 10); Tensor g = be.alloc(DType.F32, 1, 10);
             Tensor m = be.alloc(DType.F32, 1, 10); Tensor v = be.alloc(DType.F32, 1, 10);
             StepGuard guard = new StepGuard(be, false, 0, 1, 4)) {
            guard.plan(g, 1, 2, new Tensor[]{p}, 0);
            guard.schedule(CFG, 1, new double[]{1e-3, 1e-3, 1e-3, 1e-3});
            try (CudaGraph step = be.capture(() -> {
                guard.check();
                guard.adam(p, g, m, v, CFG);
            })) {
                for (int i = 0; i < 20_000; i++) step.launch();  // past the interpreter and the JIT's first tiers
                long id = Thread.currentThread().threadId();
                long before = mx.getThreadAllocatedBytes(id);
                for (int i = 0; i < 100_000; i++) step.launch();
                long bytes = mx.getThreadAllocatedBytes(id) - before;
                // The smallest object is 16 bytes: one per step would be 1,600,000. What remains (about
                // 14 kB here) is one-off: compilation of the loop, the counter's own reads.
                assertTrue(bytes < 100_000, bytes + " bytes allocated in 100,000 replays: under 1 byte per step"
                        + " means no allocation per step");
            }
        }
    }

    @Test
    void aScheduleAllocatesNothingOnTheHost() {
        // The replayed loop schedules once per epoch: what it allocates there is spread over the
        // epoch's steps and shows in TrainStepBenchmark's bytes per step.
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported(), "no allocation counter in this JVM");
        double[] lr = {1e-3, 1e-3, 1e-3, 1e-3};
        try (StepGuard guard = new StepGuard(be, false, 0, 1, 4)) {
            for (int i = 0; i < 20_000; i++) guard.schedule(CFG, 1 + 4L * i, lr);  // past the interpreter and the JIT's first tiers
            long id = Thread.currentThread().threadId();
            long before = mx.getThreadAllocatedBytes(id);
            for (int i = 0; i < 50_000; i++) guard.schedule(CFG, 1 + 4L * i, lr);
            long bytes = mx.getThreadAllocatedBytes(id) - before;
            // One 16-byte object per call would be 800,000 bytes.
            assertTrue(bytes < 50_000, bytes + " bytes allocated in 50,000 schedules: under 1 byte per call"
                    + " means no allocation per call");
        }
    }

    @Test
    void theKernelsGetTheGuardsBuffersAndThePlan() {
        try (Tensor p = be.alloc(DType.F32, 1, 10); Tensor g = be.alloc(DType.F32, 1, 10);
             Tensor m = be.alloc(DType.F32, 1, 10); Tensor v = be.alloc(DType.F32, 1, 10);
             Tensor loss = be.alloc(DType.F32, 3);
             StepGuard guard = new StepGuard(be, true, 41, 3, 4)) {
            guard.plan(loss, 0.25, 3, new Tensor[]{g, p}, 1);
            guard.check();
            long step = guard.step().address(), state = step - 4L * StepGuard.STEP_LO;
            assertEquals("elbo4j_step_guard", probe.lastKernel());
            assertEquals(3, probe.lastArgInt(1), "loss + two tensors");
            assertEquals(2, probe.lastArgInt(2), "the parameters (index 1 of the tensors) stop even when skipping");
            assertEquals(1, probe.lastArgInt(3), "skip policy");
            assertEquals(3, probe.lastArgInt(4), "rows");
            assertEquals(1, probe.lastArgInt(5), "one loss term");
            assertEquals(0.25, probe.lastArgDouble(6));
            assertEquals(step, probe.lastArg(8));
            assertEquals(state, probe.lastArg(9));
            assertEquals(state + 4L * StepGuard.LOSS_LO, probe.lastArg(10));
            assertEquals(0, probe.lastArg(11), "no skip log without a cursor");
            assertEquals(0, probe.lastArg(12));

            try (DeviceCounter cursor = be.counter(0)) {
                guard.plan(new Tensor[]{loss, m}, new double[]{0.5, 2}, 3, new Tensor[]{g, p}, 1);
                guard.logSkipsAt(cursor);
                guard.check();
                assertEquals(4, probe.lastArgInt(1), "two loss terms + two tensors");
                assertEquals(3, probe.lastArgInt(2), "the parameters are sum 3");
                assertEquals(2, probe.lastArgInt(5), "two loss terms");
                assertEquals(0.5, probe.lastArgDouble(6));
                assertEquals(2.0, probe.lastArgDouble(7));
                assertEquals(cursor.address(), probe.lastArg(11));
                assertTrue(probe.lastArg(12) != 0, "the skip log");
                assertEquals(4, probe.lastArgInt(13), "the log holds an epoch of batches");
                guard.logSkipsAt(null);
                guard.plan(loss, 0.25, 3, new Tensor[]{g, p}, 1);
            }
            assertEquals(1, probe.lastConfig(0));
            assertEquals(32, probe.lastConfig(3));

            assertThrows(IllegalStateException.class, () -> guard.adam(p, g, m, v, CFG), "no schedule yet");
            guard.schedule(CFG, 42, new double[]{1e-3});
            guard.adam(p, g, m, v, CFG);
            assertEquals("elbo4j_adam_guarded_f32", probe.lastKernel());
            assertEquals(10, probe.lastArg(4));
            assertEquals(0.9f, probe.lastArgFloat(5));
            assertEquals(step, probe.lastArg(11));
            assertEquals(state, probe.lastArg(12));
            assertEquals(41, guard.read().step(), "the step the guard was made with (the fake runs no kernel)");

            assertThrows(IllegalArgumentException.class, () -> guard.plan(loss, 1, 3, new Tensor[]{g, p, m, v}, 0),
                    "more tensors than the guard was made for");
            assertThrows(IllegalArgumentException.class, () -> guard.schedule(CFG, 1, new double[5]),
                    "more steps than the guard was made for");
            assertThrows(IllegalArgumentException.class, () -> guard.schedule(CFG, 0, new double[1]));
            assertThrows(IllegalArgumentException.class, () -> guard.adam(p, g, m, be.alloc(DType.F32, 1, 9), CFG));
            assertFalse(guard.read().stopped());
        }
    }
}
