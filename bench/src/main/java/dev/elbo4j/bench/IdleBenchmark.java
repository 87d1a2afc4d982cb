package dev.elbo4j.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * The control for {@code -prof gc}'s bytes per op: a step that calls no library code and allocates
 * nothing, only burns about as long as a replayed {@link TrainStepBenchmark} step takes on the fake
 * driver ({@code tokens}), with the same {@link DeviceTimer} state. What {@code gc.alloc.rate.norm}
 * shows for it is JMH's own per-iteration work spread over the ops; run it in the same JMH
 * invocation as the step it checks (bench/results/train-step-graph-alloc-*.txt).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class IdleBenchmark {
    @Param({"160"})
    public int tokens;

    @Benchmark
    public void idle(DeviceTimer t) {
        Blackhole.consumeCPU(tokens);
    }
}
