package dev.elbo4j.bench;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.backend.cuda.CudaBackend;
import dev.elbo4j.backend.cuda.CudaException;

/**
 * Opens the backend a benchmark's {@code device} and {@code precision} parameters name, and runs a
 * benchmark body on it with the device time recorded.
 *
 * <p>JMH cannot skip a parameter combination, so a combination that cannot run here throws from
 * {@code @Setup} with one line saying why: {@code device=cuda} without a usable GPU (the reasons
 * come from {@link Backends#select}), {@code precision=tf32} or a CUDA-only mode on the CPU. JMH
 * reports that benchmark as failed and goes on with the next one. The scripts always name the
 * combinations: {@code bench-cpu.sh} passes {@code -p device=cpu}, {@code bench-gpu.sh} and
 * {@code scripts/run-gpu-bench.sh} pass {@code -p device=cuda}.
 */
final class BenchDevice {
    /** -Delbo4j.bench.events=false: no CUDA events around the benchmark bodies (wall time only). */
    private static boolean events = !"false".equals(System.getProperty("elbo4j.bench.events"));

    private BenchDevice() {
    }

    /**
     * @param device    "cpu" or "cuda" (or "cuda:N")
     * @param precision "fp32", or "tf32" (CUDA only: cuBLAS TF32 tensor-core math, {@link CudaBackend#setTf32})
     */
    static Backend open(String device, String precision) {
        if (!precision.equals("fp32") && !precision.equals("tf32")) {
            throw new IllegalArgumentException("precision must be fp32 or tf32, got " + precision);
        }
        if (device.equals("cpu") && precision.equals("tf32")) {
            throw new IllegalStateException("precision=tf32 is a CUDA setting (cuBLAS TF32 math): run it with -p device=cuda;"
                    + " on the CPU use -p precision=fp32");
        }
        Backend b;
        try {
            b = Backends.select(device);
        } catch (BackendUnavailableException e) {
            throw new IllegalStateException("device=" + device + " cannot run on this machine (" + String.join("; ", e.reasons())
                    .replaceAll("\\s*\\R\\s*", " ") + "); run the CPU benchmarks with -p device=cpu, the GPU ones on a GPU host"
                    + " (bench/bench-gpu.sh or scripts/run-gpu-bench.sh)", e);
        }
        if (b instanceof CudaBackend gpu) gpu.setTf32(precision.equals("tf32"));
        return b;
    }

    static Backend open(String device) {
        return open(device, "fp32");
    }

    /** A CUDA backend, or a clear failure naming the CUDA-only setting. */
    static CudaBackend cuda(Backend b, String what) {
        if (b instanceof CudaBackend gpu) return gpu;
        throw new IllegalStateException(what + " needs device=cuda (it uses CUDA graphs / events), not " + b.name());
    }

    /**
     * Runs {@code body} (which enqueues {@code ops} operations) and waits for it. On CUDA the body
     * runs between two events and their elapsed device time goes to {@code timer}; the CPU backend
     * runs each call to completion, so its device time is the wall time JMH measures (the timer
     * then stays 0). Either way the work has finished when this returns.
     */
    static void run(Backend b, Runnable body, int ops, DeviceTimer timer) {
        if (b instanceof CudaBackend gpu) {
            if (events) {
                try {
                    float ms = gpu.time(body);
                    gpu.synchronize();   // also reports a bad gather index
                    timer.add(ms, ops);
                    return;
                } catch (CudaException e) {
                    // Event timing is a diagnostic: if the driver refuses it, keep the wall-clock
                    // measurement going (this invocation may run its body twice, once).
                    events = false;
                    System.err.println("elbo4j bench: CUDA event timing failed (" + e.getMessage()
                            + "); device time is not recorded from now on, wall time still is");
                }
            }
            body.run();
            gpu.synchronize();
        } else {
            body.run();
            b.synchronize();
        }
    }
}
