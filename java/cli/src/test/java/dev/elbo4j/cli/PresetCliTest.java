package dev.elbo4j.cli;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.Json;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.model.VaeObjective;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.LrSchedule;
import dev.elbo4j.train.TrainConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.elbo4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** --preset expands to the papers' settings, explicit flags override it; --lr-schedule and --adam-eps reach the checkpoint. */
class PresetCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 200, 50);
    }

    private static CliTest.Result train(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(),
                "--device", "cpu", "--no-progress"));
        a.addAll(List.of(extra));
        return run(a.toArray(String[]::new));
    }

    /** burda2015-vae: 784-200-200-50 tanh Bernoulli, batch 20, Adam (0.9, 0.999, 1e-4) at 1e-3, the 10^(-i/7) schedule, 3280 epochs. */
    @Test
    void burda2015VaeExpandsToThePapersSetting() throws IOException {
        Path out = tmp.resolve("burda");
        // --epochs and --eval-k given explicitly: they override the preset's 3280 and 5000.
        CliTest.Result r = train(out, "--preset", "burda2015-vae", "--epochs", "2", "--eval-k", "3");
        assertEquals(0, r.code(), r.err());
        Checkpoint c = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        assertEquals(VaeConfig.builder().hidden(200, 200).latent(50).activation(Activation.TANH).likelihood(Likelihood.bernoulli())
                .samples(1).objective(VaeObjective.ELBO).build(), c.model());
        TrainConfig t = c.training();
        assertEquals(2, t.epochs());
        assertEquals(20, t.batchSize());
        assertEquals(1e-3, t.adam().lr());
        assertEquals(0.9, t.adam().beta1());
        assertEquals(0.999, t.adam().beta2());
        assertEquals(1e-4, t.adam().eps());
        assertEquals(Binarization.DYNAMIC, t.binarization());
        assertEquals(LrSchedule.burda2015(), t.schedule());
        assertEquals(1e-3 * Math.pow(10, -1 / 7.0), t.learningRate(1, 0, 10), 1e-18);
        // The preset is printed in full, and the overridden flags are named.
        assertTrue(r.err().contains("preset burda2015-vae") && r.err().contains("--hidden 200,200 --latent 50 --activation tanh")
                && r.err().contains("--lr-schedule burda2015 --epochs 3280"), r.err());
        assertTrue(r.err().contains("overriding the preset: --epochs, --eval-k"), r.err());
        assertTrue(r.out().contains("k=3"), r.out());
        // log.jsonl records each epoch's rate: 1e-3 in the first, 1e-3 * 10^(-1/7) in the second.
        List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
        assertEquals(1e-3, ((Number) Json.parseObject(log.get(0)).get("lr")).doubleValue());
        assertEquals(1e-3 * Math.pow(10, -1 / 7.0), ((Number) Json.parseObject(log.get(1)).get("lr")).doubleValue(), 1e-18);
        assertTrue(r.err().contains("lr 0.000720"), "the progress line shows the rate: " + r.err());
    }

    @Test
    void burda2015Iwae5IsTheSameNetWithTheIwaeBound() throws IOException {
        Path out = tmp.resolve("iwae5");
        CliTest.Result r = train(out, "--preset", "burda2015-iwae5", "--epochs", "1", "--eval-k", "0", "--batch-size", "50");
        assertEquals(0, r.code(), r.err());
        Checkpoint c = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        assertEquals(VaeConfig.builder().hidden(200, 200).latent(50).activation(Activation.TANH).samples(5)
                .objective(VaeObjective.IWAE).build(), c.model());
        assertEquals(50, c.training().batchSize(), "an explicit --batch-size overrides the preset's 20");
        assertEquals(LrSchedule.burda2015(), c.training().schedule());
    }

    /** kingma2014-m2: one hidden layer of 500 everywhere, z = 50, beta 3, alpha 50, 100 labels, batch 200, Adam 3e-4. */
    @Test
    void kingma2014M2ExpandsToItsSetting() throws IOException {
        Path out = tmp.resolve("m2");
        CliTest.Result r = train(out, "--preset", "kingma2014-m2", "--epochs", "1", "--labels", "20", "--beta", "1");
        assertEquals(0, r.code(), r.err());
        Checkpoint c = Checkpoint.load(out.resolve("checkpoint.safetensors"));
        M2Config m = (M2Config) c.model();
        assertArrayEquals(new int[]{500}, m.classifierHidden());
        assertArrayEquals(new int[]{500}, m.encoderHidden());
        assertArrayEquals(new int[]{500}, m.decoderHidden());
        assertEquals(50, m.latent());
        assertEquals(Activation.RELU, m.activation());
        assertEquals(1.0, m.beta(), "an explicit --beta overrides the preset's 3");
        assertEquals(50.0, m.alpha());
        TrainConfig t = c.training();
        assertEquals(20, t.labelled(), "--labels given explicitly");
        assertEquals(200, t.batchSize());
        assertEquals(3e-4, t.adam().lr());
        assertEquals(1e-8, t.adam().eps());
        assertEquals(LrSchedule.CONSTANT, t.schedule());
    }

    @Test
    void scheduleAndEpsilonFlagsReachTheCheckpoint() throws IOException {
        Path out = tmp.resolve("cos");
        CliTest.Result r = train(out, "--hidden", "32", "--latent", "4", "--epochs", "1", "--eval-k", "0",
                "--lr-schedule", "cosine:20:0.1", "--adam-eps", "1e-6");
        assertEquals(0, r.code(), r.err());
        TrainConfig t = Checkpoint.load(out.resolve("checkpoint.safetensors")).training();
        assertEquals(new LrSchedule.Cosine(20, 0.1), t.schedule());
        assertEquals(1e-6, t.adam().eps());
        Map<String, Object> line = Json.parseObject(Files.readAllLines(out.resolve("log.jsonl")).getFirst());
        assertEquals(1e-3, ((Number) line.get("lr")).doubleValue(), "the first epoch's first step is at the base rate");
    }

    @Test
    void badPresetAndScheduleAreUsageErrors() {
        for (String[] c : new String[][]{{"--preset", "burda2016"}, {"--lr-schedule", "multistep:5,2:0.1"}, {"--adam-eps", "0"}}) {
            Path out = tmp.resolve("bad-" + c[0].substring(2));
            CliTest.Result r = train(out, c[0], c[1], "--epochs", "1");
            assertEquals(2, r.code(), r.err());
            String first = r.err().lines().findFirst().orElseThrow();
            assertTrue(first.contains(c[0]), first);
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
            assertFalse(Files.exists(out.resolve("checkpoint.safetensors")));
        }
        CliTest.Result r = run("train", "--help");
        assertTrue(r.out().contains("burda2015-vae") && r.out().contains("kingma2014-m2") && r.out().contains("override"), r.out());
    }
}
