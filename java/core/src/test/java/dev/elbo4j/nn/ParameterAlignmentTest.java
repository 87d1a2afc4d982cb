package dev.elbo4j.nn;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.Mnist;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every parameter view starts 256 bytes aligned in the flat buffer, the gaps between views change
 * no figure of training, and the checkpoint does not depend on them: the same run with the views
 * packed densely (the layout before the gaps) writes the same checkpoint, byte for byte.
 */
class ParameterAlignmentTest {
    private static final Dataset TRAIN = Mnist.train().subset(320);

    @TempDir
    Path tmp;

    /** Layer sizes that are not multiples of 4, so a dense layout puts most views at odd offsets. */
    private static VaeConfig odd(Likelihood lik) {
        return VaeConfig.builder().encoderHidden(13).latent(3).decoderHidden(7).likelihood(lik).build();
    }

    @Test
    void everyViewStartsAtAMultipleOf256Bytes() {
        for (ModelConfig cfg : List.<ModelConfig>of(odd(Likelihood.bernoulli()), odd(Likelihood.gaussianLearned()),
                VaeConfig.builder().build())) {
            List<Parameters.Spec> specs = cfg.parameterLayout().specs();
            int end = 0;
            for (Parameters.Spec s : specs) {
                assertEquals(0, s.offset() % Parameters.ALIGN, s.name() + " at " + s.offset());
                assertTrue(s.offset() >= end && s.offset() - end < Parameters.ALIGN, s.name() + ": the smallest aligned offset after " + end);
                end = s.offset() + s.shape().size();
            }
            Backend be = new CpuBackend();
            try (Parameters p = cfg.parameterLayout().build(be, DType.F32, 3)) {
                assertEquals(end, p.size());
                double[] d = be.download(p.values());
                float[] flat = new float[d.length];
                for (int i = 0; i < d.length; i++) flat[i] = (float) d[i];
                int gaps = 0;
                for (int i = 0; i < flat.length; i++) {
                    if (isGap(p, i)) {
                        assertEquals(0f, flat[i], "gap element " + i);
                        gaps++;
                    }
                }
                assertEquals(p.size() - p.count(), gaps);
                assertArrayEquals(flat, p.padded(p.dense(flat)), "dense and padded are inverse");
            }
        }
    }

    private static boolean isGap(Parameters p, int i) {
        for (Parameters.Spec s : p.specs()) if (i >= s.offset() && i < s.offset() + s.shape().size()) return false;
        return true;
    }

    /** Trains 2 epochs on the CPU and writes the checkpoint; returns its bytes and the per-epoch losses. */
    private byte[] train(int alignment, VaeConfig cfg, List<Double> losses, String name) throws IOException {
        int before = Parameters.alignment;
        Parameters.alignment = alignment;
        try {
            TrainConfig tc = TrainConfig.builder().epochs(2).batchSize(64).seed(11)
                    .adam(new AdamConfig(1e-3, 0.9, 0.999, 1e-8, 1e-4)).build();
            Path file = tmp.resolve(name);
            try (Vae vae = Vae.create(new CpuBackend(), cfg, tc.seed()); Trainer t = new Trainer(vae, TRAIN, null, tc)) {
                boolean gaps = vae.parameters().size() > vae.parameters().count();
                assertEquals(alignment > 1, gaps, "the layout under test has gaps exactly when aligned");
                t.run(new TrainListener() {
                    @Override
                    public void epochEnd(EpochResult r) {
                        losses.add(r.trainElbo());
                    }
                });
                Checkpoint.save(file, t, new int[]{28, 28});
            }
            return Files.readAllBytes(file);
        } finally {
            Parameters.alignment = before;
        }
    }

    @Test
    void trainingAndItsCheckpointAreBitIdenticalToTheDenseLayout() throws IOException {
        for (Likelihood lik : new Likelihood[]{Likelihood.bernoulli(), Likelihood.gaussianLearned()}) {
            List<Double> dense = new ArrayList<>(), aligned = new ArrayList<>();
            byte[] a = train(1, odd(lik), dense, "dense-" + lik.kind() + ".safetensors");
            byte[] b = train(Parameters.ALIGN, odd(lik), aligned, "aligned-" + lik.kind() + ".safetensors");
            assertEquals(dense, aligned, lik + ": per-epoch training loss");
            assertArrayEquals(a, b, lik + ": the checkpoint (every parameter, the optimizer moments, the metadata)");
        }
    }
}
