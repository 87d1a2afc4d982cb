package dev.elbo4j.cli;

import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j info}: what it reports of a trained run is what the run's files hold (the parameter
 * count against the file's own tensors, the position and settings against the training, the best
 * test figure against the log), for a finished run, one stopped mid-epoch, a bare model and one
 * with a non-finite weight; and a missing or foreign file is refused.
 */
class InfoCliTest {
    @TempDir
    static Path tmp;
    static Path data, run;

    @BeforeAll
    static void train() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 300, 60);
        run = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu", "--hidden", "16",
                "--latent", "3", "--batch-size", "50", "--epochs", "3", "--lr", "0.002", "--seed", "5", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Path c) {
        CliTest.Result r = CliTest.run("info", "-c", c.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        return Json.parseObject(r.out().strip());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFinishedRunIsDescribedFromItsFiles() throws IOException {
        Map<String, Object> info = json(run);
        SafeTensors.File f = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        long params = 0;
        for (String name : f.names()) {
            if (!name.startsWith("optim.") && !name.startsWith(Checkpoint.TRAIN_STATE)) params += f.entry(name).numel();
        }
        Map<String, Object> model = (Map<String, Object>) info.get("model");
        assertEquals("vae", model.get("type"));
        assertEquals(params, ((Number) model.get("parameters")).longValue(), "the file's parameter tensors");
        Map<String, Object> tr = (Map<String, Object>) info.get("training");
        assertEquals(3, ((Number) tr.get("epoch")).intValue());
        assertEquals(Boolean.TRUE, tr.get("finished"));
        assertEquals(3L * 6, ((Number) tr.get("step")).longValue(), "3 epochs of 300 / 50 batches");
        assertEquals(0.002, ((Number) tr.get("lr")).doubleValue());
        assertEquals("5", String.valueOf(tr.get("seed")));
        Map<String, Object> d = (Map<String, Object>) info.get("data");
        assertEquals(300, ((Number) d.get("train_examples")).intValue());
        // The best test figure is the log's largest test_objective.
        double best = Double.NEGATIVE_INFINITY;
        for (String line : Files.readAllLines(run.resolve("log.jsonl"))) {
            Map<String, Object> rec = Json.parseObject(line);
            if (rec.get("test_objective") instanceof Number n) best = Math.max(best, n.doubleValue());
        }
        Map<String, Object> log = (Map<String, Object>) info.get("log");
        assertEquals(3, ((Number) log.get("epochs")).intValue());
        assertEquals(best, ((Number) log.get("best_test")).doubleValue());
        assertEquals(Boolean.TRUE, info.get("finite"));
        assertTrue(((String) info.get("continue")).contains("--resume --epochs N"), info.toString());
        // The numerics the run computed with: this JVM's CPU backend's, where train ran.
        String numerics;
        try (dev.elbo4j.backend.cpu.CpuBackend be = new dev.elbo4j.backend.cpu.CpuBackend()) {
            numerics = be.numerics();
        }
        assertEquals(numerics, info.get("numerics"));

        CliTest.Result r = CliTest.run("info", "-c", run.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        String count = String.format(java.util.Locale.ROOT, "%,d parameters", params);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("model") && l.contains(count)), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("training") && l.contains("finished: 3 of 3 epochs") && l.contains("step 18")), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("settings") && l.contains("batch 50") && l.contains("seed 5")), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("data") && l.contains("300 train / 60 test examples")), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("weights") && l.contains("all finite")), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("computed") && l.endsWith("with " + numerics)), r.out());
        assertEquals("", r.err().strip(), "nothing on stderr");
    }

    /** A checkpoint written mid-epoch (as Ctrl-C or --checkpoint-every leave one) is not finished: resume it as it is. */
    @Test
    @SuppressWarnings("unchecked")
    void aRunStoppedMidEpochSaysWhereAndHowToGoOn() throws IOException {
        Path stopped = copy("stopped");
        Path f = stopped.resolve("checkpoint.safetensors");
        SafeTensors.File st = SafeTensors.read(f);
        st.putMetadata("state", "{\"epoch\":1,\"batch_in_epoch\":4,\"step\":10}");
        SafeTensors.write(f, st);
        Map<String, Object> tr = (Map<String, Object>) json(stopped).get("training");
        assertEquals(Boolean.FALSE, tr.get("finished"));
        CliTest.Result r = CliTest.run("info", "-c", stopped.toString());
        assertTrue(r.out().contains("stopped in epoch 2 of 3, after batch 4 (step 10)"), r.out());
        assertTrue(r.out().contains("elbo4j train --out " + stopped + " --resume\n"), r.out());
    }

    @Test
    void aNonFiniteWeightIsNamedAndABareModelHasNoTraining() throws IOException {
        Path bad = copy("bad");
        Path f = bad.resolve("checkpoint.safetensors");
        SafeTensors.File st = SafeTensors.read(f);
        float[] v = st.getFloats("decoder.1.weight");
        v[3] = Float.NaN;
        st.putFloats("decoder.1.weight", st.entry("decoder.1.weight").shape(), v);
        SafeTensors.write(f, st);
        CliTest.Result r = CliTest.run("info", "-c", bad.toString());
        assertEquals(0, r.code(), "info describes a diverged model too: " + r.err());
        assertTrue(r.out().contains("NOT finite: parameter decoder.1.weight (1 of"), r.out());

        Path bare = tmp.resolve("bare.safetensors");
        SafeTensors.File b = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        SafeTensors.File model = new SafeTensors.File();
        for (String k : List.of("format", "model")) model.putMetadata(k, b.metadata(k));
        for (String name : b.names()) if (!name.startsWith("optim.")) model.put(name, b.entry(name));
        SafeTensors.write(bare, model);
        r = CliTest.run("info", "-c", bare.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("none recorded"), r.out());
        assertFalse(r.out().contains("continue"), r.out());
    }

    @Test
    void aMissingOrForeignFileIsRefusedInOneLine() throws IOException {
        CliTest.Result r = CliTest.run("info", "-c", tmp.resolve("nowhere").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no checkpoint file there"), r.err());
        Path foreign = tmp.resolve("foreign.safetensors");
        SafeTensors.write(foreign, new SafeTensors.File().putFloats("w", new int[]{2}, new float[]{1, 2}));
        r = CliTest.run("info", "-c", foreign.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(foreign + ": not an elbo4j checkpoint"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    /** Several runs: one line each, folders without a checkpoint and other files left out, an unreadable checkpoint named. */
    @Test
    void severalRunsGiveOneLineEach() throws IOException {
        Path other = copy("other");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path notes = Files.writeString(tmp.resolve("notes.txt"), "not a run");
        CliTest.Result r = CliTest.run("info", run.toString(), other.toString(), empty.toString(), notes.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), "a header and two runs: " + r.out());
        assertTrue(lines.get(0).startsWith("RUN") && lines.get(0).endsWith("BEST TEST"), "no SELECTED column without selection: " + r.out());
        assertTrue(lines.get(1).startsWith(run.toString()) && lines.get(1).contains("3/3 epochs"), r.out());
        Path broken = Files.writeString(tmp.resolve("broken.safetensors"), "junk");
        r = CliTest.run("info", run.toString(), broken.toString(), "--json");
        assertEquals(1, r.code(), "an unreadable checkpoint fails the command: " + r.err());
        List<?> all = (List<?>) Json.parse(r.out().strip());
        assertEquals(2, all.size());
        assertTrue(String.valueOf(((Map<?, ?>) all.get(1)).get("error")).contains("broken.safetensors"), r.out());
        assertEquals(2, CliTest.run("info", empty.toString(), notes.toString()).code(), "nothing to describe is a usage error");
        CliTest.Result both = CliTest.run("info", "-c", run.toString(), other.toString());
        assertEquals(2, both.code(), "-c beside RUN arguments was ignored: " + both.out());
        assertTrue(both.err().contains("not both"), both.err());
    }

    /** An export's model.safetensors is described as a bare model; its folder, given as RUN, points to it. */
    @Test
    void anExportIsDescribedAndItsFolderPointsToIt() throws IOException {
        Path export = tmp.resolve("export");
        assertEquals(0, CliTest.run("export", "-c", run.toString(), "-o", export.toString()).code());
        CliTest.Result r = CliTest.run("info", export.resolve("model.safetensors").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("none recorded: an export"), r.out());
        assertFalse(r.out().contains("continue"), r.out());
        r = CliTest.run("info", export.toString());
        assertEquals(2, r.code(), r.err());
        assertFalse(r.err().contains("--checkpoint"), "RUN was given, not --checkpoint: " + r.err());
        assertTrue(r.err().contains("elbo4j info " + export.resolve("model.safetensors")), r.err());
    }

    /** train --resume reads RUN/checkpoint.safetensors only: a checkpoint under another name is copied there first. */
    @Test
    void aCheckpointUnderAnotherNameSaysToCopyIt() throws IOException {
        Path other = tmp.resolve("renamed.safetensors");
        Files.copy(run.resolve("checkpoint.safetensors"), other, StandardCopyOption.REPLACE_EXISTING);
        CliTest.Result r = CliTest.run("info", other.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("copy " + other + " to RUN/checkpoint.safetensors, then: elbo4j train --out RUN --resume"), r.out());
    }

    /** A folder whose name the shell would split: the command that continues the run quotes it. */
    @Test
    void theContinueCommandQuotesAPathWithASpace() throws IOException {
        Path spaced = copy("my run");
        CliTest.Result r = CliTest.run("info", spaced.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("elbo4j train --out '" + spaced + "' --resume --epochs N"), r.out());
        assertEquals("'it'\\''s'", ShellWord.of("it's"));
        assertEquals("runs/a-b_c.1", ShellWord.of("runs/a-b_c.1"));
    }

    /** The log's final figures in train's words; the table names each run's figure and shows an M2's accuracy. */
    @Test
    void theFiguresAreNamed() throws IOException {
        CliTest.Result r = CliTest.run("info", run.toString());
        String fin = r.out().lines().filter(l -> l.startsWith("last figures")).findFirst().orElse("");
        assertTrue(fin.contains("test ELBO ") && fin.contains("after epoch 3") && !fin.contains("_"), r.out());

        Path m2 = copy("m2log");
        Files.writeString(m2.resolve("log.jsonl"), "{\"epoch\":3,\"objective\":\"ELBO\",\"train_objective\":-120.5,"
                + "\"test_objective\":-110.25,\"test_accuracy\":0.865}\n");
        r = CliTest.run("info", run.toString(), m2.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).contains("FIGURE"), r.out());
        assertTrue(lines.get(2).contains("ELBO") && lines.get(2).contains("-110.25, accuracy 0.8650"), r.out());
    }

    private static Path copy(String name) throws IOException {
        Path to = Files.createDirectories(tmp.resolve(name));
        try (var s = Files.list(run)) {
            for (Path p : s.toList()) if (Files.isRegularFile(p)) Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }
}
