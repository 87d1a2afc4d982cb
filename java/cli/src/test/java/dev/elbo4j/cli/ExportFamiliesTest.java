package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.NumericArray;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Autoencoder;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.Cvae;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.M2;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.nn.ConditionalNetwork;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.nn.TiedMlp;
import dev.elbo4j.nn.Workspace;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j export} of the families beside the VAE ({@link ExportTest}) against elbo4j's own
 * outputs on the same inputs: the autoencoders (dense with tanh and the Bernoulli loss; tied,
 * sparse (sigmoid code) and MSE; conv / deconv and denoising), the CVAE (dense, and conv / deconv
 * with a fixed Gaussian) and M2 (dense, and conv / deconv, its classifier with conv layers of its own). ONNX Runtime runs every graph, and tools/check_export.py the
 * NumPy recipe and model.py (PyTorch where installed), each held to 1e-4; the label's effect and
 * each output activation are large enough that a graph ignoring the label or dropping the
 * activation fails. The CVAEs and M2 are also exported with int64 label indices
 * ({@code --label-input index}). NICE, the RBM and the DBN are {@link ExportNiceRbmTest}'s, the
 * planar-flow VAE and the FVBM {@link ExportFlowFvbmTest}'s.
 */
class ExportFamiliesTest {
    @TempDir
    static Path tmp;
    static final int N = 16, CLASSES = 10;
    static Path data;
    static float[] digits, labels;
    static Case ae, aeTiedSparse, aeConv, cvae, cvaeConv, m2, m2Conv;

    /**
     * One exported model and elbo4j's CPU outputs by name ("x", "y", "mu", "logvar", "code", "z",
     * "mean", "reconstruction", "logits", "probs"), each a rows x width matrix.
     */
    record Case(String name, Path run, Path export, Checkpoint ckpt, Map<String, float[]> ref, Map<String, Integer> width) {
        ModelConfig cfg() {
            return ckpt.model();
        }

        float[] get(String k) {
            return ref.get(k);
        }
    }

    @BeforeAll
    static void trainAndExport() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("data"), 300, 50);
        Dataset test = Dataset.loadDir(data, "test");
        digits = new float[N * 784];
        for (int i = 0; i < digits.length; i++) digits[i] = (test.images()[i] & 0xff) / 255f;
        labels = new float[N * CLASSES];
        Random rnd = new Random(11);
        for (int n = 0; n < N; n++) labels[n * CLASSES + rnd.nextInt(CLASSES)] = 1;
        ae = autoencoder("ae", "--hidden", "24,16", "--latent", "3", "--activation", "tanh");
        aeTiedSparse = autoencoder("ae-tied-sparse", "--hidden", "20", "--latent", "4", "--activation", "tanh", "--tied",
                "--sparsity", "0.1", "--sparsity-weight", "0.1", "--reconstruction", "mse");
        aeConv = autoencoder("ae-conv", "--hidden", "12", "--latent", "3", "--encoder", "conv:4x3s2p1,6x3s2",
                "--decoder", "deconv:6x3s2,4x3s2p1", "--corruption", "mask", "--corruption-level", "0.25");
        cvae = conditional("cvae", "--model", "cvae", "--hidden", "24,16", "--latent", "3", "--activation", "tanh");
        cvaeConv = conditional("cvae-conv", "--model", "cvae", "--hidden", "12", "--latent", "2", "--likelihood", "gaussian",
                "--encoder", "conv:4x3s2p1", "--decoder", "deconv:4x3s2p1");
        m2 = conditional("m2", "--model", "m2", "--hidden", "20", "--classifier-hidden", "16", "--latent", "3",
                "--activation", "tanh", "--labels", "60");
        m2Conv = conditional("m2-conv", "--model", "m2", "--hidden", "12", "--classifier-hidden", "10", "--latent", "2",
                "--labels", "60", "--encoder", "conv:4x3s2p1", "--decoder", "deconv:4x3s2p1");
    }

    /** Trains {@code args} for one epoch on the MNIST subset and exports it. */
    static Checkpoint trainAndExport(String name, String... args) throws IOException {
        return trainAndExportTo(data, tmp.resolve(name), args);
    }

    /** Trains {@code args} for one epoch (unless they say otherwise) on {@code data} into {@code run} and exports it. */
    static Checkpoint trainAndExportTo(Path data, Path run, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu",
                "--eval-k", "0", "--no-progress"));
        if (!Arrays.asList(args).contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        a.addAll(Arrays.asList(args));
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        CliTest.Result e = CliTest.run("export", "-c", run.toString());
        assertEquals(0, e.code(), e.err());
        return Checkpoint.load(run.resolve("checkpoint.safetensors"));
    }

    /** N codes drawn from N(0, I), seeded by the case's name. */
    static float[] codes(String name, int z) {
        Random rnd = new Random(name.hashCode());
        float[] c = new float[N * z];
        for (int i = 0; i < c.length; i++) c[i] = (float) rnd.nextGaussian();
        return c;
    }

    static Case autoencoder(String name, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("--model", "ae"));
        a.addAll(Arrays.asList(args));
        Checkpoint ckpt = trainAndExport(name, a.toArray(String[]::new));
        AutoencoderConfig cfg = (AutoencoderConfig) ckpt.model();
        int d = cfg.inputDim(), z = cfg.latent();
        float[] codes = codes(name, z);
        Map<String, float[]> ref = new LinkedHashMap<>();
        ref.put("x", digits);
        ref.put("z", codes);
        try (Backend be = Backends.select("cpu"); Autoencoder model = ckpt.restoreModel(be, Autoencoder.class);
             Tensor xt = be.alloc(model.dtype(), N, d); Tensor zt = be.alloc(model.dtype(), N, z)) {
            be.write(xt, digits);
            be.write(zt, codes);
            ref.put("code", model.encode(xt));
            ref.put("reconstruction", model.reconstruct(xt, null));
            // The decoder alone at codes that differ more than one epoch's codes do; the model has no decode of its own.
            double[] out;
            if (cfg.tied()) {
                TiedMlp dec = Autoencoder.tiedDecoderNetwork(cfg);
                try (Workspace ws = dec.workspace(be, model.dtype(), N, false)) {
                    out = be.download(dec.forward(model.parameters(), ws, zt));
                }
            } else {
                Network dec = Autoencoder.decoderNetwork(cfg);
                try (Workspace ws = dec.workspace(be, model.dtype(), N, false)) {
                    out = be.download(dec.forward(model.parameters(), ws, zt));
                }
            }
            boolean bernoulli = cfg.reconstruction() == AutoencoderConfig.Reconstruction.BERNOULLI;
            float[] mean = new float[out.length];
            for (int i = 0; i < out.length; i++) mean[i] = (float) (bernoulli ? 1 / (1 + Math.exp(-out[i])) : out[i]);
            ref.put("mean", mean);
        }
        Case c = new Case(name, tmp.resolve(name), tmp.resolve(name).resolve("export"), ckpt, ref,
                Map.of("x", d, "z", z, "code", z, "reconstruction", d, "mean", d));
        // Not "reconstruction": after one epoch every input reconstructs to nearly the mean image, which is why the
        // decoder is held to elbo4j's at random codes ("mean").
        assertVaries(c, "code", "mean");
        return c;
    }

    static Case conditional(String name, String... args) throws IOException {
        Checkpoint ckpt = trainAndExport(name, args);
        ModelConfig cfg = ckpt.model();
        int d = cfg.inputDim(), z = cfg instanceof CvaeConfig cv ? cv.latent() : ((M2Config) cfg).latent();
        assertEquals(CLASSES, cfg.classes());
        float[] codes = codes(name, z);
        Map<String, float[]> ref = new LinkedHashMap<>();
        ref.put("x", digits);
        ref.put("y", labels);
        ref.put("z", codes);
        Map<String, Integer> width = new HashMap<>(Map.of("x", d, "y", CLASSES, "z", z, "mu", z, "logvar", z, "mean", d));
        try (Backend be = Backends.select("cpu"); dev.elbo4j.model.LatentModel model = ckpt.restoreModel(be, dev.elbo4j.model.LatentModel.class);
             Tensor xt = be.alloc(model.dtype(), N, d); Tensor yt = be.alloc(model.dtype(), N, CLASSES);
             Tensor other = be.alloc(model.dtype(), N, CLASSES); Tensor zt = be.alloc(model.dtype(), N, z)) {
            be.write(xt, digits);
            be.write(yt, labels);
            be.write(zt, codes);
            float[] mu = model.encodeMean(xt, yt);
            ref.put("mu", mu);
            // log sigma^2 has no public accessor: the encoder network's 2Z outputs, held to encodeMean for mu.
            ConditionalNetwork enc = cfg instanceof CvaeConfig cv ? Cvae.encoderNetwork(cv) : M2.encoderNetwork((M2Config) cfg);
            Parameters p = model.parameters();
            float[] logvar = new float[N * z];
            try (Workspace ws = enc.workspace(be, model.dtype(), N, false)) {
                double[] stats = be.download(enc.forward(p, ws, xt, yt));
                for (int n = 0; n < N; n++) {
                    for (int k = 0; k < z; k++) {
                        assertEquals(mu[n * z + k], stats[n * 2 * z + k], 1e-6, "the encoder's first block is encodeMean's mu");
                        logvar[n * z + k] = (float) stats[n * 2 * z + z + k];
                    }
                }
            }
            ref.put("logvar", logvar);
            float[] mean = model.decodeMean(zt, yt);
            ref.put("mean", mean);
            // The label matters: under other labels (each moved to the next class) both networks give other outputs,
            // so a graph that ignored y, or misread it, could not match.
            float[] shifted = new float[labels.length];
            for (int n = 0; n < N; n++) for (int k = 0; k < CLASSES; k++) shifted[n * CLASSES + (k + 1) % CLASSES] = labels[n * CLASSES + k];
            be.write(other, shifted);
            assertTrue(maxDiff(mu, model.encodeMean(xt, other)) > 1e-3, name + ": mu depends on y");
            assertTrue(maxDiff(mean, model.decodeMean(zt, other)) > 1e-3, name + ": the mean depends on y");
            if (model instanceof M2 m) {
                double[] l = m.logits(xt);
                float[] logits = new float[l.length], probs = new float[l.length];
                for (int n = 0; n < N; n++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int k = 0; k < CLASSES; k++) max = Math.max(max, l[n * CLASSES + k]);
                    for (int k = 0; k < CLASSES; k++) sum += Math.exp(l[n * CLASSES + k] - max);
                    for (int k = 0; k < CLASSES; k++) {
                        logits[n * CLASSES + k] = (float) l[n * CLASSES + k];
                        probs[n * CLASSES + k] = (float) (Math.exp(l[n * CLASSES + k] - max) / sum);
                    }
                }
                ref.put("logits", logits);
                ref.put("probs", probs);
                // Without labels M2 encodes under the classifier's argmax, as model.py's encode(x) does.
                ref.put("mu_argmax", m.encodeMean(xt, null));
                width.put("mu_argmax", z);
                width.put("logits", CLASSES);
                width.put("probs", CLASSES);
            }
        }
        Case c = new Case(name, tmp.resolve(name), tmp.resolve(name).resolve("export"), ckpt, ref, Map.copyOf(width));
        assertVaries(c, "mu", "logvar", "mean");
        if (c.ref().containsKey("logits")) assertVaries(c, "logits", "probs");
        return c;
    }

    /** A model whose outputs did not depend on the input (dead units) would match any layout: they must vary. */
    static void assertVaries(Case c, String... names) {
        for (String k : names) {
            double s = ExportTest.spread(c.get(k), c.width().get(k));
            assertTrue(s > 1e-3, c.name() + ": " + k + " varies across the inputs (" + s + ")");
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void safetensorsHoldsTheWeightsAloneUnderTheModulesNames() throws IOException {
        for (Case c : List.of(ae, aeTiedSparse, aeConv, cvae, cvaeConv, m2)) {
            SafeTensors.File f = SafeTensors.read(c.export().resolve("model.safetensors"));
            Set<String> expected = new HashSet<>();
            for (var s : c.cfg().parameterLayout().specs()) {
                expected.add(s.name());
                assertArrayEquals(c.ckpt().file().getFloats(s.name()), f.getFloats(s.name()), s.name());
            }
            assertEquals(expected, new HashSet<>(f.names()), c.name() + ": no optimizer moments, no training state");
        }
        assertFalse(SafeTensors.read(aeTiedSparse.export().resolve("model.safetensors")).names().contains("decoder.0.weight"),
                "a tied decoder has biases alone");
        assertTrue(SafeTensors.read(cvae.export().resolve("model.safetensors")).names().contains("decoder.0.label_weight"));
        Set<String> files = new HashSet<>();
        try (var s = Files.list(m2.export())) {
            s.forEach(p -> files.add(p.getFileName().toString()));
        }
        assertEquals(Set.of("model.safetensors", "model.py", "classifier.onnx", "encoder.onnx", "decoder.onnx"), files);
    }

    @Test
    void onnxRuntimeReproducesTheAutoencoders() throws Exception {
        for (Case c : List.of(ae, aeTiedSparse, aeConv)) {
            Map<String, float[]> code = run(c, "encoder.onnx", "x");
            assertClose(c.get("code"), code.get("code"), c.name() + " code");
            assertClose(c.get("mean"), run(c, "decoder.onnx", "code:z").get("reconstruction"), c.name() + " decoder at codes");
            // The two graphs chained reproduce the model's own reconstruct().
            Map<String, float[]> chained = run(c, "decoder.onnx", Map.of("code", code.get("code")), c.width().get("code"));
            assertClose(c.get("reconstruction"), chained.get("reconstruction"), c.name() + " reconstruction");
        }
    }

    @Test
    void onnxRuntimeReproducesTheCvaes() throws Exception {
        for (Case c : List.of(cvae, cvaeConv)) checkConditional(c);
    }

    @Test
    void onnxRuntimeReproducesM2() throws Exception {
        for (Case c : List.of(m2, m2Conv)) {
            checkConditional(c);
            Map<String, float[]> out = run(c, "classifier.onnx", "x");
            assertClose(c.get("logits"), out.get("logits"), c.name() + " logits");
            assertClose(c.get("probs"), out.get("probs"), c.name() + " probs");
        }
    }

    static void checkConditional(Case c) throws Exception {
        Map<String, float[]> enc = run(c, "encoder.onnx", "x", "y");
        assertClose(c.get("mu"), enc.get("mu"), c.name() + " mu");
        assertClose(c.get("logvar"), enc.get("logvar"), c.name() + " logvar");
        assertClose(c.get("mean"), run(c, "decoder.onnx", "z", "y").get("mean"), c.name() + " mean");
    }

    /** Runs a graph on the case's reference inputs, each "name" or "graphInput:referenceName"; its outputs by name. */
    static Map<String, float[]> run(Case c, String graph, String... inputs) throws Exception {
        Map<String, float[]> in = new LinkedHashMap<>();
        for (String i : inputs) {
            String[] parts = i.split(":");
            in.put(parts[0], c.get(parts[parts.length - 1]));
        }
        Map<String, Integer> widths = new HashMap<>();
        for (String i : inputs) {
            String[] parts = i.split(":");
            widths.put(parts[0], c.width().get(parts[parts.length - 1]));
        }
        return run(c, graph, in, widths);
    }

    static Map<String, float[]> run(Case c, String graph, Map<String, float[]> in, int width) throws Exception {
        Map<String, Integer> widths = new HashMap<>();
        for (String k : in.keySet()) widths.put(k, width);
        return run(c, graph, in, widths);
    }

    static Map<String, float[]> run(Case c, String graph, Map<String, ?> in, Map<String, Integer> widths) throws Exception {
        return OnnxRuns.run(c.export().resolve(graph), in, widths, N);
    }

    /**
     * tools/check_export.py on every case in one run (PyTorch loads once): each case's NumPy recipe
     * and, where PyTorch is installed, its model.py, on the encoder's outputs ({@code code}, or
     * {@code mu} and {@code logvar}), M2's logits and probabilities, and the decoder at z.
     */
    @Test
    void pythonReadsEveryExportByTheDocumentedRecipe() throws Exception {
        Assumptions.assumeTrue(ExportTest.python(new ArrayList<>(), "-c", "import numpy") == 0,
                "python3 with numpy is not installed (apt-get install python3-numpy; make test installs it)");
        boolean torch = ExportTest.python(new ArrayList<>(), "-c", "import torch") == 0;
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        List<Case> cases = List.of(ae, aeTiedSparse, aeConv, cvae, cvaeConv, m2, m2Conv);
        List<String> cmd = new ArrayList<>(List.of(root.resolve("tools/check_export.py").toString()));
        for (Case c : cases) cmd.addAll(List.of(c.export().toString(), references(c).toString()));
        List<String> out = new ArrayList<>();
        int code = ExportTest.python(out, cmd.toArray(String[]::new));
        assertEquals(0, code, String.join("\n", out));
        for (Case c : cases) {
            int from = out.indexOf("== " + c.export());
            assertTrue(from >= 0, c.name() + " checked: " + String.join("\n", out));
            List<String> lines = new ArrayList<>();
            for (int i = from + 1; i < out.size() && !out.get(i).startsWith("== "); i++) lines.add(out.get(i));
            List<String> checks = new ArrayList<>(c.ref().containsKey("code") ? List.of("code", "mean") : List.of("mu", "logvar", "mean"));
            if (c.ref().containsKey("logits")) checks.add("logits");
            for (String k : checks) {
                for (String tool : torch ? List.of("numpy ", "torch ") : List.of("numpy ")) {
                    assertTrue(lines.stream().anyMatch(l -> l.startsWith(tool + k + ":")), c.name() + ": " + tool + k + " in " + lines);
                }
            }
            if (torch && (c == m2 || c == m2Conv)) {
                for (String k : List.of("probs", "mu_argmax")) {
                    assertTrue(lines.stream().anyMatch(l -> l.startsWith("torch " + k + ":")), lines.toString());
                }
            }
            System.out.println("ExportFamiliesTest python (" + c.name() + "): " + String.join("; ", lines));
        }
    }

    /**
     * The case's references as .npy files for tools/check_export.py: its inputs, the encoder's
     * outputs, M2's logits, and as "mean" the decoder at z (the likelihood's mean, or the
     * autoencoder's reconstruction of those codes).
     */
    static Path references(Case c) throws IOException {
        Path ref = tmp.resolve("ref-" + c.name());
        Files.createDirectories(ref);
        for (String k : List.of("x", "y", "z", "mu", "logvar", "code", "logits", "mu_argmax", "mean")) {
            if (c.ref().containsKey(k)) Npy.write(ref.resolve(k + ".npy"), new NumericArray(new int[] {N, c.width().get(k)}, null, c.get(k)));
        }
        return ref;
    }

    /**
     * {@code --label-input index}: the CVAEs' and M2's encoder.onnx and decoder.onnx take int64 class
     * indices and give elbo4j's outputs under the one-hot labels; indices outside 0..C-1 (C + n
     * and -1 - n) give the one-hot graphs' outputs at a row of zeros. A bad value, or the option on
     * a model without labels, is a one-line usage error naming the flag.
     */
    @Test
    void labelsAsIndicesMatchTheOneHotLabels() throws Exception {
        long[] index = new long[N], outside = new long[N];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < CLASSES; k++) if (labels[n * CLASSES + k] == 1) index[n] = k;
            outside[n] = n % 2 == 0 ? CLASSES + n : -1 - n;
        }
        float[] none = new float[N * CLASSES];
        for (Case c : List.of(cvae, cvaeConv, m2, m2Conv)) {
            Path dir = c.run().resolve("export-index");
            CliTest.Result e = CliTest.run("export", "-c", c.run().toString(), "-o", dir.toString(), "--label-input", "index");
            assertEquals(0, e.code(), e.err());
            Map<String, float[]> enc = OnnxRuns.run(dir.resolve("encoder.onnx"), Map.of("x", digits, "y", index), c.width(), N);
            assertClose(c.get("mu"), enc.get("mu"), c.name() + " mu, index labels");
            assertClose(c.get("logvar"), enc.get("logvar"), c.name() + " logvar, index labels");
            Map<String, float[]> dec = OnnxRuns.run(dir.resolve("decoder.onnx"), Map.of("z", c.get("z"), "y", index), c.width(), N);
            assertClose(c.get("mean"), dec.get("mean"), c.name() + " mean, index labels");
            Map<String, float[]> zeroRow = run(c, "encoder.onnx", Map.of("x", digits, "y", none), c.width());
            Map<String, float[]> out = OnnxRuns.run(dir.resolve("encoder.onnx"), Map.of("x", digits, "y", outside), c.width(), N);
            assertClose(zeroRow.get("mu"), out.get("mu"), c.name() + " mu, labels outside 0..C-1");
            assertTrue(maxDiff(zeroRow.get("mu"), enc.get("mu")) > 1e-3, c.name() + ": a zero row is not a class");
        }
        for (String[] bad : List.of(new String[] {"-c", cvae.run().toString(), "--label-input", "onehot"},
                new String[] {"-c", ae.run().toString(), "--label-input", "index"})) {
            List<String> a = new ArrayList<>(List.of("export", "-o", tmp.resolve("export-bad").toString()));
            a.addAll(List.of(bad));
            CliTest.Result r = CliTest.run(a.toArray(String[]::new));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("--label-input"), r.err());
            assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("WARNING")).count(), "one line: " + r.err());
            assertFalse(Files.exists(tmp.resolve("export-bad")), "nothing written");
        }
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertNotNull(got, what);
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4, what + "[" + i + "]");
    }
}
