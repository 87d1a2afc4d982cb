package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model flag given with a family it does not shape is a usage error naming the flag and the
 * family (it used to be dropped without a word: {@code --model rbm --objective iwae} trained a
 * plain RBM and exited 0), and a path that cannot be a folder is named with its problem.
 */
class FamilyFlagsCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 200, 50);
    }

    private static CliTest.Result train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--epochs", "1", "--eval-k", "0", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static void assertRefused(CliTest.Result r, String... parts) {
        assertEquals(2, r.code(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("elbo4j: using")).count(), "one line: " + r.err());
    }

    @Test
    void flagsOfOtherFamiliesAreRefused() {
        String[][] cases = {
                {"rbm", "--objective", "iwae"}, {"ae", "--objective", "iwae"}, {"nice", "--objective", "iwae"},
                {"nice", "--likelihood", "gaussian"}, {"rbm", "--likelihood", "gaussian"}, {"dbn", "--sigma", "0.5"},
                {"rbm", "--beta", "2"}, {"fvbm", "--beta", "2"}, {"rbm", "--latent", "5"}, {"nice", "--latent", "5"},
                {"dbn", "--activation", "tanh"}, {"m2", "--samples", "5"}, {"cvae", "--objective", "iwae"},
                {"vae", "--classes", "3"}, {"vae", "--alpha", "2"}, {"cvae", "--classifier-hidden", "8"},
                {"vae", "--cd-k", "3"}, {"nice", "--pcd", null}, {"m2", "--gibbs-steps", "5"}, {"rbm", "--layer-steps", "5"},
                {"vae", "--couplings", "2"}, {"rbm", "--prior", "gaussian"}, {"rbm", "--decoder-hidden", "8"},
                {"fvbm", "--hidden", "5"},
        };
        int i = 0;
        for (String[] c : cases) {
            Path out = tmp.resolve("refused-" + i++);
            List<String> a = new ArrayList<>(List.of("--model", c[0], c[1]));
            if (c[2] != null) a.add(c[2]);
            if (c[0].equals("fvbm")) a.addAll(List.of("--downsample", "4x4"));
            assertRefused(train(out, a.toArray(String[]::new)), c[1] + " does not apply to --model " + c[0]);
            assertFalse(Files.exists(out), "nothing written for " + Arrays.toString(c));
        }
        assertRefused(train(tmp.resolve("labels-vae"), "--labels", "20"), "--labels does not apply to --model vae");
        assertRefused(train(tmp.resolve("labels-cvae"), "--model", "cvae", "--labels", "20"), "--labels does not apply to --model cvae",
                "uses every label");
    }

    /** A resumed run's family is the checkpoint's: a flag that does not shape it is refused there too. */
    @Test
    void aResumedRunRefusesFlagsOfOtherFamilies() throws IOException {
        Path run = tmp.resolve("rbm");
        CliTest.Result r = train(run, "--model", "rbm", "--hidden", "8");
        assertEquals(0, r.code(), r.err());
        byte[] before = Files.readAllBytes(run.resolve("checkpoint.safetensors"));
        r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--resume", "--epochs", "2", "--objective", "iwae", "--device", "cpu",
                "--no-progress");
        assertRefused(r, "--objective does not apply to --model rbm (it shapes vae models only)");
        assertTrue(Arrays.equals(before, Files.readAllBytes(run.resolve("checkpoint.safetensors"))), "the checkpoint untouched");
    }

    /**
     * eval's importance-sampling flags with a model it does not sample, and the AIS flags with
     * anything but an rbm, are usage errors: before, they were dropped, and {@code --scores FILE}
     * on an autoencoder exited 0 without writing FILE.
     */
    @Test
    void evalRefusesFlagsItWouldNotUse() {
        Path ae = tmp.resolve("ae"), vae = tmp.resolve("vae"), rbm = tmp.resolve("rbm-eval");
        assertEquals(0, train(ae, "--model", "ae", "--hidden", "8", "--latent", "2").code());
        assertEquals(0, train(vae, "--hidden", "8", "--latent", "2").code());
        assertEquals(0, train(rbm, "--model", "rbm", "--hidden", "8", "--gibbs-steps", "2").code());
        Path csv = tmp.resolve("ae-scores.csv");
        String d = data.toString();
        CliTest.Result r = CliTest.run("eval", "-c", ae.toString(), "--data", d, "--limit", "5", "--scores", csv.toString(), "--no-progress");
        assertRefused(r, "--scores applies to importance sampling", "'ae' model", "its test -loss");
        assertFalse(Files.exists(csv));
        assertRefused(CliTest.run("eval", "-c", ae.toString(), "--data", d, "--limit", "5", "-k", "50", "--no-progress"), "-k applies to");
        assertRefused(CliTest.run("eval", "-c", rbm.toString(), "--data", d, "--limit", "5", "--elbo-samples", "3", "--no-progress"),
                "--elbo-samples applies to", "its log p(x) by AIS");
        assertRefused(CliTest.run("eval", "-c", vae.toString(), "--data", d, "--limit", "5", "--raise", "3", "--no-progress"),
                "--raise applies to the AIS estimate of an rbm's log p(x), which a 'vae' model does not get");
        assertRefused(CliTest.run("eval", "-c", ae.toString(), "--data", d, "--limit", "5", "--ais-base", "uniform", "--no-progress"),
                "--ais-base applies to");
        // The flags of the model's own evaluation still pass.
        r = CliTest.run("eval", "-c", vae.toString(), "--data", d, "--limit", "5", "-k", "3", "--scores", csv.toString(), "--no-progress",
                "--no-record");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(csv));
    }

    /** Flags that shape the family still pass (the refusal is not a blanket one). */
    @Test
    void flagsOfTheFamilyPass() {
        CliTest.Result r = train(tmp.resolve("nice-ok"), "--model", "nice", "--hidden", "8", "--couplings", "2", "--prior", "gaussian",
                "--binarize", "none");
        assertEquals(0, r.code(), r.err());
        r = train(tmp.resolve("rbm-ok"), "--model", "rbm", "--hidden", "8", "--cd-k", "1", "--pcd", "--gibbs-steps", "5");
        assertEquals(0, r.code(), r.err());
    }

    /**
     * --sigma is the fixed Gaussian's standard deviation: with a bernoulli likelihood (the default)
     * or gaussian-learned it was dropped without a word (exit 0, a Bernoulli VAE); now refused.
     */
    @Test
    void sigmaWithoutAFixedGaussianIsRefused() {
        for (String m : List.of("vae", "cvae", "m2")) {
            Path out = tmp.resolve("sigma-" + m);
            List<String> a = new ArrayList<>(List.of("--model", m, "--sigma", "0.5", "--hidden", "8", "--latent", "2"));
            if (m.equals("m2")) a.addAll(List.of("--labels", "20"));
            assertRefused(train(out, a.toArray(String[]::new)), "--sigma does not apply to --likelihood bernoulli",
                    "bernoulli is the default");
            assertFalse(Files.exists(out));
        }
        assertRefused(train(tmp.resolve("sigma-b"), "--likelihood", "bernoulli", "--sigma", "0.5"),
                "--sigma does not apply to --likelihood bernoulli (it is the fixed standard deviation of --likelihood gaussian");
        assertRefused(train(tmp.resolve("sigma-l"), "--likelihood", "gaussian-learned", "--sigma", "0.5", "--binarize", "none"),
                "--sigma does not apply to --likelihood gaussian-learned", "learns a variance per pixel");
        Path ok = tmp.resolve("sigma-ok");
        CliTest.Result r = train(ok, "--likelihood", "gaussian", "--sigma", "0.5", "--binarize", "none", "--hidden", "8", "--latent", "2");
        assertEquals(0, r.code(), r.err());
        // A gaussian run resumed with its own --sigma goes on: the likelihood checked against is the run's, not the default.
        r = CliTest.run("train", "--data", data.toString(), "--out", ok.toString(), "--resume", "--epochs", "2", "--sigma", "0.5",
                "--device", "cpu", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        Path bern = tmp.resolve("sigma-bernoulli");
        assertEquals(0, train(bern, "--hidden", "8", "--latent", "2").code());
        r = CliTest.run("train", "--data", data.toString(), "--out", bern.toString(), "--resume", "--epochs", "2", "--sigma", "0.5",
                "--device", "cpu", "--eval-k", "0", "--no-progress");
        assertRefused(r, "--sigma does not apply to --likelihood bernoulli", "the resumed run's likelihood");
    }

    /** Files.createDirectories says only the path; the line now says what is wrong with it. */
    @Test
    void anOutputPathThatIsAFileIsNamed() throws IOException {
        Path file = tmp.resolve("a-file");
        Files.writeString(file, "not a folder");
        CliTest.Result r = train(file, "--hidden", "8", "--latent", "2");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(file + ": is a file, where a folder is needed"), r.err());
        r = CliTest.run("train", "--data", data.toString(), "--out", file.resolve("sub").toString(), "--device", "cpu", "--epochs", "1",
                "--hidden", "8", "--latent", "2", "--eval-k", "0", "--no-progress");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(file.resolve("sub") + ": ") && !r.err().strip().endsWith(file.resolve("sub").toString()), r.err());
        assertEquals("x/y: permission denied", Main.describe(new java.nio.file.AccessDeniedException("x/y")));
        assertEquals("x/y: not a folder", Main.describe(new java.nio.file.NotDirectoryException("x/y")));
        assertEquals("x/y: no such file", Main.describe(new java.nio.file.NoSuchFileException("x/y")));
        assertEquals("x/y: Read-only file system", Main.describe(new java.nio.file.FileSystemException("x/y", null, "Read-only file system")));
    }
}
