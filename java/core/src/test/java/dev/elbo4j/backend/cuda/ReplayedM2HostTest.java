package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cuda.ffm.FakeProbe.Call;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.M2;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * M2's replayed loop against the recording fake driver (as {@link ReplayedTrainingHostTest}): its
 * steps come in several shapes (full or short unlabelled batch x full or short labelled sub-batch),
 * each captured once, and every later step of a shape already captured is one
 * {@code cuGraphLaunch} and nothing else: the labelled sub-batch, its binarisation epoch and the KL
 * weight are all chosen on the device.
 */
class ReplayedM2HostTest extends FakeBackendTest {
    private static final int SIDE = 4, D = SIDE * SIDE, N = 76, BATCH = 8, LABELLED = 12;   // 10 batches, the last of 4; sub-batches 8, 4

    @Test
    void aSteadyStepOfEveryShapeIsOneGraphLaunch() {
        byte[] px = new byte[N * D], labels = new byte[N];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 37);
        for (int i = 0; i < N; i++) labels[i] = (byte) (i % 2);
        Dataset data = new Dataset(px, labels, N, SIDE, SIDE);
        TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(BATCH).seed(3).labelled(LABELLED).warmupEpochs(1).build();
        Map<String, Map<Call, Long>> steps = new HashMap<>();
        Map<String, long[]> launchesAndAllocations = new HashMap<>();
        M2Config mc = new M2Config(D, 2, new int[]{6}, new int[]{6}, 2, new int[]{6}, Activation.RELU, Likelihood.bernoulli(), 7, 2);
        try (M2 m = M2.create(be, mc, DType.F32, 3); Trainer t = new Trainer(m, data, null, tc)) {
            assertTrue(t.replaysSteps(), "M2 replays");
            t.run(new TrainListener() {
                Map<Call, Long> last;
                long lastLaunches, lastAllocations;

                @Override
                public void step(int epoch, int stepInEpoch, long step) {
                    if (last != null) {
                        steps.put(epoch + "/" + stepInEpoch, since(last));
                        launchesAndAllocations.put(epoch + "/" + stepInEpoch,
                                new long[]{probe.launches() - lastLaunches, probe.totalAllocations() - lastAllocations});
                    }
                    last = counts();
                    lastLaunches = probe.launches();
                    lastAllocations = probe.totalAllocations();
                }
            });
        }
        // Epoch 0 captures (full, full) at its step 1, (full, short) at step 2, (short, short) at step 10;
        // epoch 1's first step follows the epoch's end and start. Every other step is steady.
        int steady = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            for (int s = 2; s <= 10; s++) {
                if (epoch == 0 && (s == 2 || s == 10)) continue;
                String at = epoch + "/" + s;
                assertEquals(Map.of(Call.GRAPH_LAUNCH, 1L), steps.get(at), "step " + at + ": one cuGraphLaunch and nothing else");
                assertEquals(0, launchesAndAllocations.get(at)[0], "step " + at + ": no kernel launched from the host");
                assertEquals(0, launchesAndAllocations.get(at)[1], "step " + at + ": no device allocation");
                steady++;
            }
        }
        assertEquals(16, steady);
        assertTrue(steps.get("0/2").getOrDefault(Call.GRAPH_LAUNCH, 0L) == 1 && steps.get("0/2").size() > 1,
                "batch 2, the first with the short labelled sub-batch, captures its own graph: " + steps.get("0/2"));
    }
}
