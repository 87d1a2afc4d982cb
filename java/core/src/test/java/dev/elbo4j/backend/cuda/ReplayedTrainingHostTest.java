package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FakeProbe.Call;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer's replayed loop against the recording fake driver: what a steady-state step and a
 * progress refresh cost in driver calls. The fake runs no kernel (the device state stays as the
 * host wrote it), so this checks the host's side only; the figures are checked on the emulator.
 */
class ReplayedTrainingHostTest extends FakeBackendTest {
    private static final int SIDE = 4, D = SIDE * SIDE, N = 80, BATCH = 8;   // 10 batches

    @Test
    void aSteadyStepIsOneGraphLaunchAndARefreshOneAsyncCopyAndOneEventWait() {
        byte[] px = new byte[N * D];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 37);
        Dataset data = new Dataset(px, null, N, SIDE, SIDE);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(BATCH).seed(3).build();
        List<Map<Call, Long>> steps = new ArrayList<>();
        List<long[]> launchesAndAllocations = new ArrayList<>();
        Map<Call, Long> refresh = new EnumMap<>(Call.class);
        long[] refreshLaunches = new long[1];
        try (Vae vae = Vae.create(be, VaeConfig.builder().inputDim(D).hidden(6).latent(2).build(), 3);
             Trainer t = new Trainer(vae, data, null, tc)) {
            assertTrue(t.replaysSteps());
            t.run(new TrainListener() {
                Map<Call, Long> last;
                long lastLaunches, lastAllocations;

                @Override
                public void step(int epoch, int stepInEpoch, long step) {
                    if (last != null) {
                        steps.add(since(last));
                        launchesAndAllocations.add(new long[]{probe.launches() - lastLaunches, probe.totalAllocations() - lastAllocations});
                    }
                    if (stepInEpoch == 5) {   // a progress refresh between two steps
                        Map<Call, Long> before = counts();
                        long l = probe.launches(), a = probe.totalAllocations();
                        t.runningObjective();
                        refresh.putAll(since(before));
                        refreshLaunches[0] = probe.launches() - l;
                        assertEquals(a, probe.totalAllocations(), "a refresh allocates nothing on the device");
                    }
                    last = counts();
                    lastLaunches = probe.launches();
                    lastAllocations = probe.totalAllocations();
                }
            });
        }
        // step 1 captured the graph (its eager run reads back); every later step is steady, the refresh between 5 and 6
        for (int s = 2; s <= 10; s++) {
            assertEquals(Map.of(Call.GRAPH_LAUNCH, 1L), steps.get(s - 2), "step " + s + ": one cuGraphLaunch and nothing else");
            assertEquals(0, launchesAndAllocations.get(s - 2)[0], "step " + s + ": no kernel launched from the host");
            assertEquals(0, launchesAndAllocations.get(s - 2)[1], "step " + s + ": no device allocation");
        }
        assertEquals(Map.of(Call.COPY_ON_DEVICE, 1L, Call.COPY_TO_HOST, 1L, Call.EVENT_RECORD, 1L, Call.EVENT_SYNC, 1L), refresh,
                "a refresh: the gathers' error word into the guard's block, one asynchronous copy to pinned memory, an event,"
                        + " its wait; no stream synchronisation");
        assertEquals(1, refreshLaunches[0], "and one kernel: the parameters' sum, folded into the same copy");
    }

    /**
     * Each step after the first as the driver saw it: S, steady (one {@code cuGraphLaunch} and no
     * other call, kernel launch or allocation); C, a capture (its eager warm-up's kernels, then one
     * graph launch); E, eager (kernels, no graph); ? anything else.
     */
    private String stepKinds(dev.elbo4j.model.ModelConfig mc, int n, int batch) {
        byte[] px = new byte[n * D];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 37);
        Dataset data = new Dataset(px, null, n, SIDE, SIDE);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(batch).seed(3).build();
        StringBuilder kinds = new StringBuilder();
        try (dev.elbo4j.model.Model m = mc.create(be, dev.elbo4j.tensor.DType.F32, 3); Trainer t = new Trainer(m, data, null, tc)) {
            assertTrue(t.replaysSteps(), mc + " replays");
            t.run(new TrainListener() {
                Map<Call, Long> last;
                long lastLaunches, lastAllocations;

                @Override
                public void step(int epoch, int stepInEpoch, long step) {
                    if (last != null) {
                        Map<Call, Long> calls = since(last);
                        long launches = probe.launches() - lastLaunches, allocations = probe.totalAllocations() - lastAllocations;
                        long graphs = calls.getOrDefault(Call.GRAPH_LAUNCH, 0L);
                        kinds.append(calls.equals(Map.of(Call.GRAPH_LAUNCH, 1L)) && launches == 0 && allocations == 0 ? 'S'
                                : graphs == 1 && launches > 0 ? 'C' : graphs == 0 && launches > 0 ? 'E' : '?');
                    }
                    last = counts();
                    lastLaunches = probe.launches();
                    lastAllocations = probe.totalAllocations();
                }
            });
        }
        return kinds.toString();
    }

    /**
     * PCD: step 1 starts the chains eagerly, step 2 captures, the short last batch (step 11, 4 rows)
     * captures its own graph; every other step is one graph launch.
     */
    @Test
    void aSteadyPcdRbmStepIsOneGraphLaunch() {
        assertEquals("CSSSSSSSSC", stepKinds(new dev.elbo4j.model.RbmConfig(D, 6, 1, true, 10), 84, 8),
                "steps 2..11");
    }

    /**
     * A DBN of two layers, 5 steps each: each stage's first step makes its own graph (PCD: starts
     * the layer's chains eagerly, and the next step captures); the rest are one graph launch each.
     */
    @Test
    void aSteadyDbnStepIsOneGraphLaunchAndEachStageCapturesItsOwn() {
        assertEquals("SSSSCSSSSC", stepKinds(new dev.elbo4j.model.DbnConfig(D, new int[]{6, 4}, 1, false, 5, 10), 84, 8),
                "CD, steps 2..11");
        assertEquals("CSSSECSSSC", stepKinds(new dev.elbo4j.model.DbnConfig(D, new int[]{6, 4}, 1, true, 5, 10), 84, 8),
                "PCD, steps 2..11");
    }

    /**
     * The FVBM's exact step (all 2^16 states enumerated on the device): nothing read back, so every
     * step is one graph launch but the short last batch's first, which captures its own graph.
     */
    @Test
    void aSteadyFvbmStepIsOneGraphLaunch() {
        assertEquals("SSSSSSSSSC", stepKinds(new dev.elbo4j.model.FvbmConfig(D), 84, 8), "steps 2..11");
    }
}
