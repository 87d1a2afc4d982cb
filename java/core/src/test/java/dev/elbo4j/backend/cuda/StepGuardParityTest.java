package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device-resident finite check and guarded Adam ({@link StepGuard}) replayed as one CUDA graph
 * per step against the eager reference (host sums, host decision, {@link CudaBackend#adam} with
 * the step's learning rate): 240 steps in epochs of 48 with a learning-rate schedule, weight decay
 * and injected NaN gradients, under both policies. Parameters, moments, the Adam step, the summed
 * loss, the examples and the skipped steps must be the same bits. The "gradient" of each step is
 * N(0, 1) noise drawn with the step as the latent stream's step (read from the device counter in
 * the graph), plus a poison vector the host sets to NaN before chosen replays.
 */
class StepGuardParityTest {
    private static final int N = 1031, STEPS = 240, EPOCH = 48, ROWS = 16;
    private static final long SEED = 11;
    private static final double SCALE = 0.5;
    private static final AdamConfig CFG = new AdamConfig(1e-3, 0.9, 0.999, 1e-8, 0.01);

    private static double lr(long step) {
        return 1e-3 * (1 + 0.5 * Math.cos(step / 30.0));
    }

    private record Result(float[] p, float[] m, float[] v, long step, double lossSum, long examples, long skipped,
                          long badStep) {
    }

    @Test
    void skipPolicyReplayIsBitIdenticalToEager() {
        Set<Integer> bad = Set.of(37, 38, 150);
        Result eager = eager(bad, true);
        Result graph = graph(bad, true);
        compare(eager, graph);
        assertEquals(3, graph.skipped);
        assertEquals(STEPS - 3, graph.step);
    }

    @Test
    void stopPolicyReplayFreezesAtTheFirstBadStepLikeEager() {
        Set<Integer> bad = Set.of(100, 150);
        Result eager = eager(bad, false);
        Result graph = graph(bad, false);
        compare(eager, graph);
        assertEquals(101, graph.badStep, "the update step the bad batch would have taken");
        assertEquals(100, graph.step);
    }

    @Test
    void aStepOutsideTheScheduleUpdatesNothingAndIsReported() {
        CudaBackend be = GpuAvailable.backend();
        try (StepGuard guard = new StepGuard(be, false, 0, 1, 4);
             Tensor p = be.upload(new float[]{1, 2, 3}, Shape.of(1, 3)); Tensor g = be.upload(new float[]{1, 1, 1}, Shape.of(1, 3));
             Tensor m = be.alloc(DType.F32, 1, 3); Tensor v = be.alloc(DType.F32, 1, 3)) {
            be.fill(m, 0);
            be.fill(v, 0);
            guard.plan(g, 1, 1, new Tensor[]{p}, 0);
            guard.schedule(CFG, 1, new double[]{1e-3, 1e-3});
            for (int i = 0; i < 2; i++) {
                guard.check();
                guard.adam(p, g, m, v, CFG);
            }
            float[] afterTwo = be.downloadFloats(p);
            assertFalse(guard.read().tableMiss());
            guard.check();
            guard.adam(p, g, m, v, CFG);
            assertTrue(guard.read().tableMiss());
            assertBits("parameters after a step with no schedule row", afterTwo, be.downloadFloats(p));
        }
    }

    private static void compare(Result eager, Result graph) {
        assertBits("parameters", eager.p, graph.p);
        assertBits("first moments", eager.m, graph.m);
        assertBits("second moments", eager.v, graph.v);
        assertEquals(eager.step, graph.step, "Adam steps");
        assertEquals(Double.doubleToRawLongBits(eager.lossSum), Double.doubleToRawLongBits(graph.lossSum),
                eager.lossSum + " vs " + graph.lossSum);
        assertEquals(eager.examples, graph.examples, "examples");
        assertEquals(eager.skipped, graph.skipped, "skipped steps");
        assertEquals(eager.badStep, graph.badStep, "first bad step");
    }

    private static float[] initial() {
        float[] p = new float[N];
        for (int i = 0; i < N; i++) p[i] = (float) Math.sin(i * 0.37) * 0.1f;
        return p;
    }

    /** The host decides each step from two sums it reads back, as Trainer's eager loop does. */
    private static Result eager(Set<Integer> bad, boolean skip) {
        CudaBackend be = GpuAvailable.backend();
        float[] zeros = new float[N];
        try (Tensor p = be.upload(initial(), Shape.of(1, N)); Tensor g = be.alloc(DType.F32, 1, N);
             Tensor m = be.alloc(DType.F32, 1, N); Tensor v = be.alloc(DType.F32, 1, N);
             Tensor one = be.upload(new float[]{1}, Shape.of(1, 1)); Tensor poison = be.upload(zeros, Shape.of(1, N));
             Tensor acc = be.alloc(DType.F64, 1)) {
            be.fill(m, 0);
            be.fill(v, 0);
            long step = 0, examples = 0, skipped = 0, badStep = 0;
            double lossSum = 0;
            for (int i = 0; i < STEPS; i++) {
                if (i % EPOCH == 0) be.fill(acc, 0);
                setPoison(be, poison, bad.contains(i));
                be.normal(new RngKey(SEED, Streams.LATENT, step), g);
                be.gemm(false, false, 1, one, poison, 1, g);
                boolean ok = Double.isFinite(be.sum(g)) && Double.isFinite(be.sum(p));
                if (ok) {
                    step++;
                    be.adam(p, g, m, v, new AdamConfig(lr(step), CFG.beta1(), CFG.beta2(), CFG.eps(), CFG.weightDecay()), step);
                    be.accumulate(g, SCALE, acc);
                    examples += ROWS;
                } else if (skip) {
                    skipped++;
                } else {
                    badStep = step + 1;
                    break;
                }
                if ((i + 1) % EPOCH == 0 || i == STEPS - 1) {
                    lossSum = be.sum(acc);
                    if (i != STEPS - 1) examples = 0;
                }
            }
            if (badStep != 0) lossSum = be.sum(acc);
            return new Result(be.downloadFloats(p), be.downloadFloats(m), be.downloadFloats(v), step, lossSum,
                    examples, skipped, badStep);
        }
    }

    /** One graph per step: noise (step from the device), poison, check, guarded Adam; reads at epoch ends. */
    private static Result graph(Set<Integer> bad, boolean skip) {
        CudaBackend be = GpuAvailable.backend();
        float[] zeros = new float[N];
        try (Tensor p = be.upload(initial(), Shape.of(1, N)); Tensor g = be.alloc(DType.F32, 1, N);
             Tensor m = be.alloc(DType.F32, 1, N); Tensor v = be.alloc(DType.F32, 1, N);
             Tensor one = be.upload(new float[]{1}, Shape.of(1, 1)); Tensor poison = be.upload(zeros, Shape.of(1, N));
             StepGuard guard = new StepGuard(be, skip, 0, 1, EPOCH)) {
            be.fill(m, 0);
            be.fill(v, 0);
            guard.plan(g, SCALE, ROWS, new Tensor[]{p}, 0);
            guard.schedule(CFG, 1, lrs(1));
            be.bindRngStep(Streams.LATENT, guard.step());
            CudaGraph step;
            try {
                step = be.capture(() -> {
                    be.normal(new RngKey(SEED, Streams.LATENT, 0), g);
                    be.gemm(false, false, 1, one, poison, 1, g);
                    guard.check();
                    guard.adam(p, g, m, v, CFG);
                });
            } finally {
                be.bindRngStep(Streams.LATENT, null);
            }
            StepGuard.Readout r = null;
            long examples = 0;
            double lossSum = 0;
            try (step) {
                for (int i = 0; i < STEPS; i++) {
                    boolean poisoned = bad.contains(i);
                    if (poisoned) setPoison(be, poison, true);
                    step.launch();
                    if (poisoned) setPoison(be, poison, false);
                    if ((i + 1) % EPOCH == 0) {
                        r = guard.read();
                        lossSum = r.lossSum();
                        examples = r.examples();
                        if (r.stopped()) break;  // where Trainer raises: the first read that sees the flag
                        if (i != STEPS - 1) {
                            guard.resetLoss();
                            guard.schedule(CFG, r.step() + 1, lrs(r.step() + 1));
                        }
                    }
                }
            }
            r = guard.read();
            assertFalse(r.tableMiss());
            assertEquals(skip ? 0 : 1, r.stopped() ? 1 : 0);
            return new Result(be.downloadFloats(p), be.downloadFloats(m), be.downloadFloats(v), r.step(),
                    r.stopped() ? r.lossSum() : lossSum, r.stopped() ? r.examples() : examples, r.skipped(), r.badStep());
        }
    }

    private static double[] lrs(long first) {
        double[] lr = new double[EPOCH];
        for (int i = 0; i < EPOCH; i++) lr[i] = lr(first + i);
        return lr;
    }

    private static void setPoison(CudaBackend be, Tensor poison, boolean nan) {
        float[] host = new float[N];
        if (nan) host[5] = Float.NaN;
        be.write(poison, host);
    }
}
