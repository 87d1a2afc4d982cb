package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.NumericArray;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Workspace;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j export} against elbo4j's own outputs: the weights-only safetensors file, the ONNX
 * graphs run by ONNX Runtime, and the PyTorch recipe from Python (NumPy; PyTorch where installed).
 * Three models: a dense tanh VAE on MNIST, a conv / deconv VAE on MNIST (1x28x28, output_padding
 * in both transposed layers), and a conv / deconv VAE with a learned-variance Gaussian on 3-channel
 * 5x6 pictures (channels-last rows, a different output_padding for rows and columns); and one side
 * alone: a conv encoder with a dense decoder (MNIST, fixed Gaussian), a dense encoder with a
 * transposed-conv decoder (the colour pictures).
 */
class ExportTest {
    @TempDir
    static Path tmp;
    static final int N = 16;
    static Case dense, conv, colour, convEncoderOnly, deconvDecoderOnly;

    /**
     * One exported model and elbo4j's CPU outputs on N inputs x: mu, logvar (the encoder's
     * statistics), and the decoder's mean at N codes z drawn from N(0, I) (after one epoch the
     * posterior means are too alike to exercise the decoder).
     */
    record Case(String name, Path run, Path export, Checkpoint ckpt, float[] x, float[] mu, float[] logvar, float[] z, float[] mean) {
        VaeConfig cfg() {
            return (VaeConfig) ckpt.model();
        }
    }

    @BeforeAll
    static void trainAndExport() throws IOException {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 300, 50);
        Dataset test = Dataset.loadDir(data, "test");
        float[] digits = new float[N * 784];
        for (int i = 0; i < digits.length; i++) digits[i] = (test.images()[i] & 0xff) / 255f;
        // Two hidden layers with tanh: the recipe's layer loop and activation are exercised, not just the defaults.
        dense = trainAndExport("dense", digits, "--data", data.toString(), "--hidden", "24,16", "--latent", "3", "--activation", "tanh");
        // 28 -> 14 -> 6 and back: both transposed layers need output_padding 1.
        conv = trainAndExport("conv", digits, "--data", data.toString(), "--hidden", "16", "--latent", "3",
                "--encoder", "conv:4x3s2p1,6x3s2", "--decoder", "deconv:6x3s2,4x3s2p1");
        Path pics = tmp.resolve("pics");
        Random rnd = new Random(5);
        for (int i = 0; i < 24; i++) {
            BufferedImage img = new BufferedImage(6, 5, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 5; y++) for (int x = 0; x < 6; x++) img.setRGB(x, y, rnd.nextInt(1 << 24));
            Path f = pics.resolve(i + ".png");
            Files.createDirectories(f.getParent());
            javax.imageio.ImageIO.write(img, "png", f.toFile());
        }
        float[] rgb = new float[N * 90];
        for (int i = 0; i < rgb.length; i++) rgb[i] = rnd.nextFloat();
        // 5x6 -> 3x3 and back: output_padding (0, 1); channels-last rows permuted at both ends.
        colour = trainAndExport("colour", rgb, "--data", pics.toString(), "--test-fraction", "0.25", "--hidden", "8", "--latent", "2",
                "--likelihood", "gaussian-learned", "--encoder", "conv:4x3s2p1", "--decoder", "deconv:5x3s2p1");
        convEncoderOnly = trainAndExport("conv-encoder", digits, "--data", data.toString(), "--hidden", "12", "--latent", "2",
                "--likelihood", "gaussian", "--encoder", "conv:3x5s3p2");
        deconvDecoderOnly = trainAndExport("deconv-decoder", rgb, "--data", pics.toString(), "--test-fraction", "0.25", "--hidden", "8",
                "--latent", "2", "--activation", "sigmoid", "--decoder", "deconv:2x2s2,4x3p1");
    }

    static Case trainAndExport(String name, float[] x, String... args) throws IOException {
        Path run = tmp.resolve(name);
        List<String> a = new ArrayList<>(List.of("train", "--out", run.toString(), "--device", "cpu", "--epochs", "1", "--eval-k", "0",
                "--no-progress"));
        a.addAll(Arrays.asList(args));
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        CliTest.Result e = CliTest.run("export", "-c", run.toString());
        assertEquals(0, e.code(), e.err());
        Checkpoint ckpt = Checkpoint.load(run.resolve("checkpoint.safetensors"));
        VaeConfig cfg = (VaeConfig) ckpt.model();
        int d = cfg.inputDim(), z = cfg.latent();
        assertEquals(N * d, x.length);
        float[] mu, logvar = new float[N * z], mean, codes = new float[N * z];
        Random rnd = new Random(name.hashCode());
        for (int i = 0; i < codes.length; i++) codes[i] = (float) rnd.nextGaussian();
        try (Backend be = Backends.select("cpu"); Vae vae = ckpt.restoreModel(be, Vae.class);
             Tensor xt = be.alloc(vae.dtype(), N, d); Tensor zt = be.alloc(vae.dtype(), N, z)) {
            be.write(xt, x);
            mu = vae.encodeMean(xt, null);
            // log sigma^2 has no public accessor: the encoder network's 2Z outputs, held to encodeMean for mu.
            Network enc = vae.encoder();
            try (Workspace ws = enc.workspace(be, vae.dtype(), N, false)) {
                double[] stats = be.download(enc.forward(vae.parameters(), ws, xt));
                for (int n = 0; n < N; n++) {
                    for (int k = 0; k < z; k++) {
                        assertEquals(mu[n * z + k], stats[n * 2 * z + k], 1e-6, "the encoder's first block is encodeMean's mu");
                        logvar[n * z + k] = (float) stats[n * 2 * z + z + k];
                    }
                }
            }
            be.write(zt, codes);
            mean = vae.decodeMean(zt);
        }
        // A model whose statistics did not depend on x (dead units) would match any layout: they must vary.
        assertTrue(spread(mu, z) > 1e-3 && spread(logvar, z) > 1e-3 && spread(mean, d) > 1e-3,
                name + ": mu, logvar and mean vary across the inputs (" + spread(mu, z) + ", " + spread(logvar, z) + ", " + spread(mean, d) + ")");
        return new Case(name, run, run.resolve("export"), ckpt, x, mu, logvar, codes, mean);
    }

    /** The largest range over the rows of any column of a rows x width matrix. */
    static double spread(float[] a, int width) {
        double best = 0;
        for (int k = 0; k < width; k++) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (int n = 0; n < a.length / width; n++) {
                lo = Math.min(lo, a[n * width + k]);
                hi = Math.max(hi, a[n * width + k]);
            }
            best = Math.max(best, hi - lo);
        }
        return best;
    }

    @Test
    void safetensorsHoldsTheWeightsAloneUnderTheModulesNames() throws IOException {
        for (Case c : List.of(dense, conv, colour, convEncoderOnly, deconvDecoderOnly)) {
            SafeTensors.File f = SafeTensors.read(c.export().resolve("model.safetensors"));
            Set<String> expected = new HashSet<>();
            for (var s : c.ckpt().model().parameterLayout().specs()) {
                expected.add(s.name());
                assertArrayEquals(c.ckpt().file().getFloats(s.name()), f.getFloats(s.name()), s.name());
                assertArrayEquals(s.shape().dims(), f.entry(s.name()).shape(), s.name());
            }
            assertEquals(expected, new HashSet<>(f.names()), c.name() + ": no optimizer moments, no training state");
            assertTrue(Files.size(c.export().resolve("model.safetensors")) * 2 < Files.size(c.run().resolve("checkpoint.safetensors")));
        }
        assertTrue(Files.readString(dense.export().resolve("model.py")).contains("ENCODER_SIZES = [784, 24, 16, 6]"));
        // PyTorch's layouts, which the Conv2d / ConvTranspose2d modules of model.py load as they are.
        SafeTensors.File f = SafeTensors.read(conv.export().resolve("model.safetensors"));
        assertArrayEquals(new int[] {6, 4, 3, 3}, f.entry("encoder.conv.1.weight").shape());
        assertArrayEquals(new int[] {6, 4, 3, 3}, f.entry("decoder.deconv.0.weight").shape());
        assertArrayEquals(new int[] {4, 1, 3, 3}, f.entry("decoder.deconv.1.weight").shape());
        String py = Files.readString(colour.export().resolve("model.py"));
        assertTrue(py.contains("DECODER_DECONV = [(5, 3, (3, 3), 2, 1, (0, 1))]"), py);
        assertTrue(py.contains("CONV_IMAGE = (3, 5, 6)"), py);
    }

    @Test
    void onnxRuntimeReproducesTheDenseEncoderAndDecoder() throws Exception {
        checkOnnx(dense);
    }

    @Test
    void onnxRuntimeReproducesTheConvEncoderAndDeconvDecoder() throws Exception {
        checkOnnx(conv);
    }

    @Test
    void onnxRuntimeReproducesTheColourConvModel() throws Exception {
        checkOnnx(colour);
    }

    static void checkOnnx(Case c) throws Exception {
        int d = c.cfg().inputDim(), z = c.cfg().latent();
        Map<String, float[]> enc = OnnxRuns.run(c.export().resolve("encoder.onnx"), Map.of("x", c.x()), Map.of("x", d), N);
        assertClose(c.mu(), enc.get("mu"), c.name() + " mu");
        assertClose(c.logvar(), enc.get("logvar"), c.name() + " logvar");
        Map<String, float[]> dec = OnnxRuns.run(c.export().resolve("decoder.onnx"), Map.of("z", c.z()), Map.of("z", z), N);
        assertClose(c.mean(), dec.get("mean"), c.name() + " mean");
    }

    @Test
    void onnxRuntimeReproducesOneSidedConvModels() throws Exception {
        checkOnnx(convEncoderOnly);
        checkOnnx(deconvDecoderOnly);
    }

    @Test
    void pythonReadsTheDenseExportByTheDocumentedRecipe() throws Exception {
        checkPython(dense);
    }

    @Test
    void pythonReadsTheConvExportByTheDocumentedRecipe() throws Exception {
        checkPython(conv);
    }

    @Test
    void pythonReadsTheColourConvExportByTheDocumentedRecipe() throws Exception {
        checkPython(colour);
    }

    @Test
    void pythonReadsOneSidedConvExportsByTheDocumentedRecipe() throws Exception {
        checkPython(convEncoderOnly);
        checkPython(deconvDecoderOnly);
    }

    static void checkPython(Case c) throws Exception {
        Assumptions.assumeTrue(python("-c", "import numpy") == 0, "python3 with numpy is not installed (apt-get install python3-numpy; make test installs it)");
        int d = c.cfg().inputDim(), z = c.cfg().latent();
        Path ref = tmp.resolve("ref-" + c.name());
        Files.createDirectories(ref);
        Npy.write(ref.resolve("x.npy"), new NumericArray(new int[] {N, d}, null, c.x()));
        Npy.write(ref.resolve("mu.npy"), new NumericArray(new int[] {N, z}, null, c.mu()));
        Npy.write(ref.resolve("logvar.npy"), new NumericArray(new int[] {N, z}, null, c.logvar()));
        Npy.write(ref.resolve("z.npy"), new NumericArray(new int[] {N, z}, null, c.z()));
        Npy.write(ref.resolve("mean.npy"), new NumericArray(new int[] {N, d}, null, c.mean()));
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        List<String> out = new ArrayList<>();
        int code = python(out, root.resolve("tools/check_export.py").toString(), c.export().toString(), ref.toString());
        assertEquals(0, code, String.join("\n", out));
        assertTrue(out.stream().anyMatch(l -> l.startsWith("numpy logvar")), String.join("\n", out));
        // Where PyTorch is installed the generated module itself ran and matched.
        if (python("-c", "import torch") == 0) {
            assertTrue(out.stream().anyMatch(l -> l.startsWith("torch logvar")), String.join("\n", out));
        }
        System.out.println("ExportTest python (" + c.name() + "): " + String.join("; ", out));
    }

    private static int python(String... args) throws Exception {
        return python(new ArrayList<>(), args);
    }

    static int python(List<String> out, String... args) throws Exception {
        // Debian's interpreter, where scripts/deps.sh installs python3-numpy and python3-torch.
        List<String> cmd = new ArrayList<>(List.of(Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3"));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return -1;
        }
        String text = new String(p.getInputStream().readAllBytes());
        out.addAll(text.lines().toList());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return p.exitValue();
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4, what + "[" + i + "]");
    }
}
