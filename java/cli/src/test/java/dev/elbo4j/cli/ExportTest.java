package dev.elbo4j.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.NumericArray;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j export} against elbo4j's own outputs: the weights-only safetensors file, the ONNX
 * graphs run by ONNX Runtime, and the PyTorch recipe from Python (NumPy; PyTorch where installed).
 */
class ExportTest {
    @TempDir
    static Path tmp;
    static Path run, export;
    static Checkpoint ckpt;
    static final int N = 16;
    static float[] x, mu, logvar, mean;

    @BeforeAll
    static void trainAndExport() throws IOException {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 300, 50);
        run = tmp.resolve("run");
        // Two hidden layers with tanh: the recipe's layer loop and activation are exercised, not just the defaults.
        CliTest.Result r = CliTest.run("train", "--data", data.toString(), "--out", run.toString(), "--device", "cpu", "--hidden", "24,16",
                "--latent", "3", "--activation", "tanh", "--epochs", "1", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        CliTest.Result e = CliTest.run("export", "-c", run.toString());
        assertEquals(0, e.code(), e.err());
        export = run.resolve("export");
        ckpt = Checkpoint.load(run.resolve("checkpoint.safetensors"));
        VaeConfig cfg = (VaeConfig) ckpt.model();
        Dataset test = Dataset.loadDir(data, "test");
        int d = cfg.inputDim(), z = cfg.latent();
        x = new float[N * d];
        for (int i = 0; i < x.length; i++) x[i] = (test.images()[i] & 0xff) / 255f;
        try (Backend be = Backends.select("cpu"); Vae vae = ckpt.restoreModel(be, Vae.class);
             Tensor xt = be.alloc(vae.dtype(), N, d); Tensor zt = be.alloc(vae.dtype(), N, z)) {
            be.write(xt, x);
            mu = vae.encodeMean(xt, null);
            be.write(zt, mu);
            mean = vae.decodeMean(zt);
        }
        // log sigma^2 has no public accessor: the encoder by hand from the checkpoint, held to encodeMean for mu.
        double[] h = new double[N * d];
        for (int i = 0; i < h.length; i++) h[i] = x[i];
        int[] sizes = cfg.encoderSizes();
        for (int l = 0; l + 1 < sizes.length; l++) {
            float[] w = ckpt.file().getFloats("encoder." + l + ".weight"), b = ckpt.file().getFloats("encoder." + l + ".bias");
            int in = sizes[l], out = sizes[l + 1];
            double[] y = new double[N * out];
            for (int n = 0; n < N; n++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int k = 0; k < in; k++) s += (double) w[o * in + k] * h[n * in + k];
                    y[n * out + o] = l + 2 < sizes.length ? Math.tanh(s) : s;
                }
            }
            h = y;
        }
        logvar = new float[N * z];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < z; k++) {
                assertEquals(mu[n * z + k], h[n * 2 * z + k], 1e-4, "the hand-written encoder must agree with elbo4j's");
                logvar[n * z + k] = (float) h[n * 2 * z + z + k];
            }
        }
    }

    @Test
    void safetensorsHoldsTheWeightsAloneUnderTheModulesNames() throws IOException {
        SafeTensors.File f = SafeTensors.read(export.resolve("model.safetensors"));
        Set<String> expected = new HashSet<>();
        for (var s : ckpt.model().parameterLayout().specs()) {
            expected.add(s.name());
            assertArrayEquals(ckpt.file().getFloats(s.name()), f.getFloats(s.name()), s.name());
            assertArrayEquals(s.shape().dims(), f.entry(s.name()).shape(), s.name());
        }
        assertEquals(expected, new HashSet<>(f.names()), "no optimizer moments, no training state");
        assertTrue(Files.size(export.resolve("model.safetensors")) * 2 < Files.size(run.resolve("checkpoint.safetensors")));
        assertTrue(Files.readString(export.resolve("model.py")).contains("ENCODER_SIZES = [784, 24, 16, 6]"));
    }

    @Test
    void onnxRuntimeReproducesTheEncoderAndDecoder() throws Exception {
        int d = ckpt.model().inputDim(), z = ((VaeConfig) ckpt.model()).latent();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession enc = env.createSession(export.resolve("encoder.onnx").toString());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {N, d});
             OrtSession.Result r = enc.run(Map.of("x", in))) {
            assertClose(mu, flat((float[][]) r.get("mu").get().getValue()), "mu");
            assertClose(logvar, flat((float[][]) r.get("logvar").get().getValue()), "logvar");
        }
        try (OrtSession dec = env.createSession(export.resolve("decoder.onnx").toString());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(mu), new long[] {N, z});
             OrtSession.Result r = dec.run(Map.of("z", in))) {
            assertClose(mean, flat((float[][]) r.get("mean").get().getValue()), "mean");
        }
    }

    @Test
    void pythonReadsTheExportByTheDocumentedRecipe() throws Exception {
        Assumptions.assumeTrue(python("-c", "import numpy") == 0, "python3 with numpy is not installed (apt-get install python3-numpy; make test installs it)");
        int d = ckpt.model().inputDim(), z = ((VaeConfig) ckpt.model()).latent();
        Path ref = tmp.resolve("ref");
        Files.createDirectories(ref);
        Npy.write(ref.resolve("x.npy"), new NumericArray(new int[] {N, d}, null, x));
        Npy.write(ref.resolve("mu.npy"), new NumericArray(new int[] {N, z}, null, mu));
        Npy.write(ref.resolve("logvar.npy"), new NumericArray(new int[] {N, z}, null, logvar));
        Npy.write(ref.resolve("mean.npy"), new NumericArray(new int[] {N, d}, null, mean));
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        List<String> out = new ArrayList<>();
        int code = python(out, root.resolve("tools/check_export.py").toString(), export.toString(), ref.toString());
        assertEquals(0, code, String.join("\n", out));
        assertTrue(out.stream().anyMatch(l -> l.startsWith("numpy logvar")), String.join("\n", out));
        // Where PyTorch is installed the generated module itself ran and matched.
        if (python("-c", "import torch") == 0) {
            assertTrue(out.stream().anyMatch(l -> l.startsWith("torch logvar")), String.join("\n", out));
        }
        System.out.println("ExportTest python: " + String.join("; ", out));
    }

    private static int python(String... args) throws Exception {
        return python(new ArrayList<>(), args);
    }

    private static int python(List<String> out, String... args) throws Exception {
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

    private static float[] flat(float[][] a) {
        float[] f = new float[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, f, i * a[0].length, a[0].length);
        return f;
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4, what + "[" + i + "]");
    }
}
