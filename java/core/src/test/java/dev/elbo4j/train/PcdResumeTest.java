package dev.elbo4j.train;

import dev.elbo4j.testing.Interrupt;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Mnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Persistent CD keeps Gibbs chains from step to step; they are training state like Adam's
 * moments, so a checkpoint must carry them for a resumed PCD run to continue bit for bit.
 */
class PcdResumeTest {
    private final Backend be = new CpuBackend();
    private static final int[] IMAGE = {28, 28};
    // 300 examples at batch 64: 5 batches per epoch, the last one (44 rows) short.
    private static final TrainConfig TC = TrainConfig.builder().epochs(3).batchSize(64).learningRate(3e-3).seed(5).build();

    private static Dataset data() {
        return Mnist.train().subset(300);
    }

    private double[] straight(ModelConfig cfg) {
        try (Model m = cfg.create(be, DType.F32, TC.seed()); Trainer t = new Trainer(m, data(), null, TC)) {
            m.initializeFrom(data());
            t.run(new TrainListener() {
            });
            return be.download(m.parameters().values());
        }
    }

    /** Trains cfg from scratch until global step {@code stopAt}, writes the checkpoint there, and stops. */
    private void trainAndStop(ModelConfig cfg, long stopAt, Path ck) {
        try (Model m = cfg.create(be, DType.F32, TC.seed()); Trainer t = new Trainer(m, data(), null, TC)) {
            m.initializeFrom(data());
            Interrupt.checkpointAtStep(t, stopAt, ck, IMAGE);
        }
    }

    private double[] resumed(Path ck) throws IOException {
        Checkpoint c = Checkpoint.load(ck);
        try (Model m = c.restoreModel(be); Trainer t = new Trainer(m, data(), null, c.training())) {
            c.restoreTraining(t);
            t.run(new TrainListener() {
            });
            return be.download(m.parameters().values());
        }
    }

    private void assertResumesBitExact(ModelConfig cfg, Path dir, long... stops) throws IOException {
        double[] straight = straight(cfg);
        for (long stopAt : stops) {
            Path ck = dir.resolve(cfg.type() + "-" + stopAt + ".safetensors");
            trainAndStop(cfg, stopAt, ck);
            assertArrayEquals(straight, resumed(ck), cfg + " resumed after step " + stopAt);
        }
    }

    @Test
    void pcdRbmResumesBitExact(@TempDir Path dir) throws IOException {
        // Mid-epoch, and at an epoch's end (after the short batch).
        assertResumesBitExact(new RbmConfig(784, 16, 1, true, 5), dir, 7, 10);
    }

    @Test
    void pcdDbnResumesBitExact(@TempDir Path dir) throws IOException {
        // Layer 0 trains in steps [0, 6), layer 1 from step 6: stop while layer 0 trains, and after both started chains.
        assertResumesBitExact(new DbnConfig(784, new int[]{16, 8}, 1, true, 6, 5), dir, 4, 8);
    }

    @Test
    void chainsAreSavedUnderTheirOwnNames(@TempDir Path dir) throws IOException {
        Path rbm = dir.resolve("rbm.safetensors"), dbn = dir.resolve("dbn.safetensors"), cd = dir.resolve("cd.safetensors");
        trainAndStop(new RbmConfig(784, 16, 1, true, 5), 2, rbm);
        trainAndStop(new DbnConfig(784, new int[]{16, 8}, 1, true, 1, 5), 2, dbn);
        trainAndStop(new RbmConfig(784, 16, 1, false, 5), 2, cd);
        SafeTensors.File f = SafeTensors.read(rbm);
        assertArrayEquals(new int[]{64, 784}, f.entry("train.chains").shape());
        assertEquals("F32", f.entry("train.chains").dtype());
        SafeTensors.File g = SafeTensors.read(dbn);
        assertArrayEquals(new int[]{64, 784}, g.entry("train.layer0.chains").shape());
        assertArrayEquals(new int[]{64, 16}, g.entry("train.layer1.chains").shape());
        assertTrue(SafeTensors.read(cd).names().stream().noneMatch(n -> n.startsWith("train.")), "plain CD has no chains");
    }

    /** A checkpoint without the chains (an older file) still resumes; the chains restart from the data. */
    @Test
    void aCheckpointWithoutChainsStillResumes(@TempDir Path dir) throws IOException {
        Path ck = dir.resolve("rbm.safetensors");
        trainAndStop(new RbmConfig(784, 16, 1, true, 5), 7, ck);
        rewrite(ck, f -> {
            SafeTensors.File g = new SafeTensors.File();
            f.metadata().forEach(g::putMetadata);
            f.tensors().forEach((n, e) -> {
                if (!n.startsWith("train.")) g.put(n, e);
            });
            return g;
        });
        double[] p = resumed(ck);
        for (double v : p) assertTrue(Double.isFinite(v));
    }

    @Test
    void misShapedOrCorruptChainsAreRejectedNamingFileAndTensor(@TempDir Path dir) throws IOException {
        Path ck = dir.resolve("rbm.safetensors");
        trainAndStop(new RbmConfig(784, 16, 1, true, 5), 3, ck);
        assertRejected(ck, dir.resolve("shape.safetensors"), f -> f.putFloats("train.chains", new int[]{64, 100}, new float[6400]),
                "train.chains", "784");
        assertRejected(ck, dir.resolve("rows.safetensors"), f -> f.putFloats("train.chains", new int[]{65, 784}, new float[65 * 784]),
                "train.chains", "64");
        float[] half = new float[64 * 784];
        java.util.Arrays.fill(half, 0.5f);
        assertRejected(ck, dir.resolve("values.safetensors"), f -> f.putFloats("train.chains", new int[]{64, 784}, half),
                "train.chains", "0.5");
        assertRejected(ck, dir.resolve("dtype.safetensors"), f -> f.putDoubles("train.chains", new int[]{64, 784}, new double[64 * 784]),
                "train.chains", "F64");
        assertRejected(ck, dir.resolve("unknown.safetensors"), f -> f.putFloats("train.momentum", new int[]{3}, new float[3]),
                "train.momentum", "");
    }

    private void assertRejected(Path good, Path bad, Consumer<SafeTensors.File> change, String tensor, String detail) throws IOException {
        java.nio.file.Files.copy(good, bad);
        rewrite(bad, f -> {
            change.accept(f);
            return f;
        });
        DataFormatException e = assertThrows(DataFormatException.class, () -> {
            Checkpoint c = Checkpoint.load(bad);
            try (Model m = c.restoreModel(be); Trainer t = new Trainer(m, data(), null, c.training())) {
                c.restoreTraining(t);
            }
        });
        assertEquals(bad, e.file());
        assertTrue(e.getMessage().startsWith(bad.toString()) && e.getMessage().contains("'" + tensor + "'")
                && e.getMessage().contains(detail), e.getMessage());
    }

    private static void rewrite(Path p, java.util.function.UnaryOperator<SafeTensors.File> change) throws IOException {
        SafeTensors.write(p, change.apply(SafeTensors.read(p)));
    }
}
