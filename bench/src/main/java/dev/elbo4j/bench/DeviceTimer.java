package dev.elbo4j.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Device time measured with CUDA events around each benchmark invocation (see
 * {@link BenchDevice#run}), reported by JMH as two secondary metrics: {@code deviceNs}, the
 * device nanoseconds, and {@code deviceOps}, the operations they cover. Both are event counts
 * aggregated the same way, so device ns/op = deviceNs / deviceOps (bench/traffic.py does this).
 * Zero on the CPU, where JMH's own time is the device time.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class DeviceTimer {
    public long deviceNs;
    public long deviceOps;

    @Setup(Level.Iteration)
    public void reset() {
        deviceNs = 0;
        deviceOps = 0;
    }

    void add(float millis, int ops) {
        deviceNs += Math.round(millis * 1e6);
        deviceOps += ops;
    }
}
