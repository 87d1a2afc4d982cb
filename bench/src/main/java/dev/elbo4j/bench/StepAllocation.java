package dev.elbo4j.bench;

import java.lang.management.ManagementFactory;

/**
 * Host bytes allocated per replayed training step, counted exactly: {@link TrainStepBenchmark}'s
 * graph-mode step (its epoch boundaries included) run in rounds on this thread, with the JVM's
 * per-thread allocation counter read around each round, then around the benchmark's tear-down.
 * {@code -prof gc} spreads whatever an iteration allocates (JMH's own work, and in the last one the
 * trial's tear-down) over its ops; this shows the step alone.
 *
 * <pre>
 * java -cp "bench/target/elbo4j-bench-*.jar:bench/target/lib/*" dev.elbo4j.bench.StepAllocation [device] [rounds] [steps]
 * </pre>
 * Defaults: cuda, 5 rounds of 2,000,000 steps at batch 128 (the first round includes the JIT's warm-up).
 */
public final class StepAllocation {
    private StepAllocation() {
    }

    public static void main(String[] args) {
        String device = args.length > 0 ? args[0] : "cuda";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2_000_000;
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        TrainStepBenchmark b = new TrainStepBenchmark();
        b.batch = 128;
        b.device = device;
        b.precision = "fp32";
        b.mode = "graph";
        b.dense = "hand";
        b.setUp();
        DeviceTimer t = new DeviceTimer();
        try {
            for (int r = 0; r < rounds; r++) {
                long before = mx.getThreadAllocatedBytes(id);
                for (int i = 0; i < steps; i++) b.step(t);
                long bytes = mx.getThreadAllocatedBytes(id) - before;
                System.out.printf("round %d: %d bytes in %d steps (%d epochs of %d): %.4f B/step%n", r, bytes, steps,
                        steps / (60_000 / b.batch), 60_000 / b.batch, bytes / (double) steps);
            }
        } finally {
            long before = mx.getThreadAllocatedBytes(id);
            b.tearDown();
            System.out.printf("tearDown: %d bytes%n", mx.getThreadAllocatedBytes(id) - before);
        }
    }
}
