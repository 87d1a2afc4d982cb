package dev.elbo4j.backend.cuda;

import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.Interrupt;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The resume check of the replayed-training parity tests: a replayed run stopped at a step
 * boundary and checkpointed there, the checkpoint restored into a fresh model and trainer, the rest
 * of the run replayed; it must end with the uninterrupted run's parameters, Adam moments and step
 * (and, where the caller recorded it, the trainer's step state: PCD's chains), bit for bit.
 */
final class ResumeParity {
    private ResumeParity() {
    }

    /**
     * What an uninterrupted run ended with.
     *
     * @param state the trainer's {@link Trainer#stepState()} ({@link #stepState}); null: not compared
     */
    record End(float[] params, float[] m, float[] v, long steps, Map<String, float[]> state) {
    }

    /** The trainer's step state read back, by name. */
    static Map<String, float[]> stepState(CudaBackend be, Trainer t) {
        Map<String, float[]> s = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : t.stepState().entrySet()) s.put(e.getKey(), Parity.floats(be.download(e.getValue())));
        return s;
    }

    static void assertSameState(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what + ": step state");
        for (String k : expected.keySet()) assertBits(what + ": " + k, expected.get(k), actual.get(k));
    }

    /**
     * Trains a fresh {@code mc} (F32, {@code tc}'s seed) replayed until Adam step {@code at},
     * checkpoints there into {@code dir}, restores the checkpoint and replays the rest of the run;
     * asserts that both runs replay, that the checkpoint holds step {@code at}, and that the
     * resumed run ends at {@code expected}.
     */
    static <M extends Model> void assertResumes(ModelConfig mc, Class<M> type, TrainConfig tc, Dataset train, long at,
                                                Path dir, End expected, String what) throws Exception {
        CudaBackend be = GpuAvailable.backend();
        Path ck = dir.resolve("ck.safetensors");
        try (Model m = mc.create(be, DType.F32, tc.seed()); Trainer t = new Trainer(m, train, null, tc)) {
            assertTrue(t.replaysSteps(), what + ": the interrupted run replays");
            Interrupt.checkpointAtStep(t, at, ck, new int[]{train.rows(), train.cols()});
        }
        Checkpoint c = Checkpoint.load(ck);
        assertEquals(at, c.state().step(), what + ": the checkpoint holds the step boundary it was written at");
        try (M m = c.restoreModel(be, type); Trainer t = new Trainer(m, train, null, c.training())) {
            c.restoreTraining(t);
            assertTrue(t.replaysSteps(), what + ": the resumed run replays");
            t.run(new TrainListener() {
            });
            assertBits(what + ": parameters", expected.params(), Parity.floats(be.download(m.parameters().values())));
            assertBits(what + ": m", expected.m(), Parity.floats(be.download(t.optimizer().m())));
            assertBits(what + ": v", expected.v(), Parity.floats(be.download(t.optimizer().v())));
            assertEquals(expected.steps(), t.optimizer().steps(), what + ": Adam steps");
            if (expected.state() != null) assertSameState(expected.state(), stepState(be, t), what);
        }
    }
}
