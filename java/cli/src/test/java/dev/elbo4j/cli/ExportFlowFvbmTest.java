package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Fvbm;
import dev.elbo4j.model.PlanarPosterior;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Network;
import dev.elbo4j.nn.Parameters;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j export} of a planar-flow VAE and of the FVBM against elbo4j's own computation on the
 * same inputs. The flow VAE: encoder.onnx (mu, log sigma^2 of q0), flow.onnx at random z0 against
 * {@code Backend.planarForward} (z_K and the summed log-det), encoder.onnx's mu through flow.onnx
 * against {@link Vae#encodeMean} (which pushes mu through the flow), decoder.onnx at random codes.
 * The FVBM: conditionals.onnx against p(v_i = 1 | v_-i) from the model's exact enumeration
 * ({@link Fvbm#exact}: the unnormalised log-probabilities of v with unit i on and off) and
 * energy.onnx against minus the enumerated log-probability of v. ONNX Runtime and
 * tools/check_export.py (NumPy, and model.py under PyTorch, which adds the FVBM's log p(v) through
 * its enumerated log Z), each within 1e-4.
 */
class ExportFlowFvbmTest {
    @TempDir
    static Path tmp;
    static final int N = 16;
    static Path flowRun, fvbmRun;
    static Checkpoint flow, fvbm;
    static final Map<String, float[]> flowRef = new LinkedHashMap<>(), fvbmRef = new LinkedHashMap<>();
    static final Map<String, Integer> width = new LinkedHashMap<>();

    @BeforeAll
    static void trainAndExport() throws IOException {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 300, 50);
        Dataset test = Dataset.loadDir(data, "test");
        flowRun = tmp.resolve("flow");
        fvbmRun = tmp.resolve("fvbm");
        // A batch of 20: 15 steps move the flow's b away from its start at 0.
        flow = ExportFamiliesTest.trainAndExportTo(data, flowRun, "--hidden", "16", "--latent", "2", "--activation", "tanh",
                "--flow", "planar", "--flow-steps", "3", "--batch-size", "20");
        fvbm = ExportFamiliesTest.trainAndExportTo(data, fvbmRun, "--model", "fvbm", "--downsample", "4x4", "--batch-size", "20");
        VaeConfig cfg = (VaeConfig) flow.model();
        int d = cfg.inputDim(), z = cfg.latent();
        Random rnd = new Random(7);
        float[] x = new float[N * d], z0 = new float[N * z], codes = new float[N * z];
        for (int i = 0; i < x.length; i++) x[i] = (test.images()[i] & 0xff) / 255f;
        // Spread over [-3, 3] or so, so that the steps' tanh leaves its linear range.
        for (int i = 0; i < z0.length; i++) z0[i] = (float) (1.5 * rnd.nextGaussian());
        for (int i = 0; i < codes.length; i++) codes[i] = (float) rnd.nextGaussian();
        try (Backend be = Backends.select("cpu"); Vae vae = flow.restoreModel(be, Vae.class);
             Tensor xt = be.alloc(vae.dtype(), N, d); Tensor z0t = be.alloc(vae.dtype(), N, z); Tensor zK = be.alloc(vae.dtype(), N, z);
             Tensor logDet = be.alloc(vae.dtype(), N); Tensor zt = be.alloc(vae.dtype(), N, z)) {
            be.write(xt, x);
            be.write(z0t, z0);
            be.write(zt, codes);
            Parameters p = vae.parameters();
            float[] mu = new float[N * z], logvar = new float[N * z];
            Network enc = vae.encoder();
            try (Workspace ws = enc.workspace(be, vae.dtype(), N, false)) {
                double[] stats = be.download(enc.forward(p, ws, xt));
                for (int n = 0; n < N; n++) {
                    for (int k = 0; k < z; k++) {
                        mu[n * z + k] = (float) stats[n * 2 * z + k];
                        logvar[n * z + k] = (float) stats[n * 2 * z + z + k];
                    }
                }
            }
            be.planarForward(z0t, p.value(PlanarPosterior.U), p.value(PlanarPosterior.W), p.value(PlanarPosterior.B), zK, logDet, null, null);
            flowRef.put("x", x);
            flowRef.put("mu", mu);
            flowRef.put("logvar", logvar);
            flowRef.put("z0", z0);
            flowRef.put("zK", ExportNiceRbmTest.floats(be.download(zK)));
            flowRef.put("log_det", ExportNiceRbmTest.floats(be.download(logDet)));
            flowRef.put("code", vae.encodeMean(xt, null));
            flowRef.put("z", codes);
            flowRef.put("mean", vae.decodeMean(zt));
            double big = 0;
            for (double b : be.download(p.value(PlanarPosterior.B))) big = Math.max(big, Math.abs(b));
            assertTrue(big > 1e-3, "the flow's b has trained (max |b| " + big + ")");
        }
        width.putAll(Map.of("x", d, "mu", z, "logvar", z, "z0", z, "zK", z, "log_det", 1, "code", z, "z", z, "mean", d));
        int v = fvbm.model().inputDim();
        float[] vs = new float[N * v], cond = new float[N * v], energy = new float[N];
        for (int i = 0; i < vs.length; i++) vs[i] = rnd.nextDouble() < 0.5 ? 1 : 0;
        try (Backend be = Backends.select("cpu"); Fvbm m = fvbm.restoreModel(be, Fvbm.class)) {
            Fvbm.Exact ex = m.exact();
            double[] lu = ex.logUnnormalised();
            for (int n = 0; n < N; n++) {
                int state = 0;
                for (int i = 0; i < v; i++) if (vs[n * v + i] != 0) state |= 1 << i;
                energy[n] = (float) -lu[state];
                for (int i = 0; i < v; i++) cond[n * v + i] = (float) (1 / (1 + Math.exp(lu[state & ~(1 << i)] - lu[state | 1 << i])));
            }
            fvbmRef.put("v", vs);
            fvbmRef.put("p", cond);
            fvbmRef.put("energy", energy);
            fvbmRef.put("log_p", ExportNiceRbmTest.floats(m.logProb(ExportNiceRbmTest.toDouble(vs), N, ex)));
            double big = 0;
            for (double w : be.download(m.parameters().value("weight"))) big = Math.max(big, Math.abs(w));
            assertTrue(big > 1e-3, "the couplings have trained (max |W| " + big + ")");
        }
        width.putAll(Map.of("v", v, "p", v, "energy", 1, "log_p", 1));
        for (String k : List.of("mu", "logvar", "zK", "log_det", "code", "mean")) assertVaries(flowRef, k);
        for (String k : List.of("p", "energy")) assertVaries(fvbmRef, k);
    }

    static void assertVaries(Map<String, float[]> ref, String k) {
        double s = ExportTest.spread(ref.get(k), width.get(k));
        assertTrue(s > 1e-3, k + " varies across the inputs (" + s + ")");
    }

    @Test
    void filesAndWeights() throws IOException {
        for (var c : List.of(Map.entry(flowRun, Set.of("encoder.onnx", "flow.onnx", "decoder.onnx")),
                Map.entry(fvbmRun, Set.of("conditionals.onnx", "energy.onnx")))) {
            Checkpoint ckpt = c.getKey() == flowRun ? flow : fvbm;
            ExportFiles.assertFilesAndWeights(ckpt, c.getKey().resolve("export"), c.getValue());
        }
    }

    @Test
    void onnxRuntimeReproducesThePlanarFlowVae() throws Exception {
        Map<String, float[]> enc = run(flowRun, "encoder.onnx", Map.of("x", flowRef.get("x")));
        ExportNiceRbmTest.assertClose(flowRef.get("mu"), enc.get("mu"), "mu");
        ExportNiceRbmTest.assertClose(flowRef.get("logvar"), enc.get("logvar"), "logvar");
        Map<String, float[]> f = run(flowRun, "flow.onnx", Map.of("z0", flowRef.get("z0")));
        ExportNiceRbmTest.assertClose(flowRef.get("zK"), f.get("zK"), "zK");
        ExportNiceRbmTest.assertClose(flowRef.get("log_det"), f.get("log_det"), "log det");
        // encoder.onnx's mu through flow.onnx is elbo4j's code.
        ExportNiceRbmTest.assertClose(flowRef.get("code"), run(flowRun, "flow.onnx", Map.of("z0", enc.get("mu"))).get("zK"), "code");
        ExportNiceRbmTest.assertClose(flowRef.get("mean"), run(flowRun, "decoder.onnx", Map.of("z", flowRef.get("z"))).get("mean"), "mean");
    }

    @Test
    void onnxRuntimeReproducesTheFvbm() throws Exception {
        ExportNiceRbmTest.assertClose(fvbmRef.get("p"), run(fvbmRun, "conditionals.onnx", Map.of("v", fvbmRef.get("v"))).get("p"),
                "p(v_i | v_-i)");
        ExportNiceRbmTest.assertCloseRelative(fvbmRef.get("energy"), run(fvbmRun, "energy.onnx", Map.of("v", fvbmRef.get("v"))).get("energy"),
                "energy");
    }

    /** tools/check_export.py on both exports in one run: the NumPy recipe and, where PyTorch is installed, model.py. */
    @Test
    void pythonReadsBothExportsByTheDocumentedRecipe() throws Exception {
        Assumptions.assumeTrue(ExportTest.python(new ArrayList<>(), "-c", "import numpy") == 0,
                "python3 with numpy is not installed (apt-get install python3-numpy; make test installs it)");
        boolean torch = ExportTest.python(new ArrayList<>(), "-c", "import torch") == 0;
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        List<String> out = new ArrayList<>();
        int code = ExportTest.python(out, root.resolve("tools/check_export.py").toString(),
                flowRun.resolve("export").toString(), references("flow", flowRef).toString(),
                fvbmRun.resolve("export").toString(), references("fvbm", fvbmRef).toString());
        assertEquals(0, code, String.join("\n", out));
        List<String> want = new ArrayList<>();
        for (String tool : torch ? List.of("numpy ", "torch ") : List.of("numpy ")) {
            for (String k : List.of("mu", "logvar", "mean", "zK", "log_det", "code", "p", "energy")) want.add(tool + k + ":");
        }
        if (torch) want.add("torch log_p:");
        for (String w : want) assertTrue(out.stream().anyMatch(l -> l.startsWith(w)), w + " in " + out);
        System.out.println("ExportFlowFvbmTest python: " + String.join("; ", out));
    }

    static Path references(String name, Map<String, float[]> ref) throws IOException {
        return ExportNiceRbmTest.references(tmp.resolve("ref-" + name), ref, width);
    }

    static Map<String, float[]> run(Path runDir, String graph, Map<String, float[]> in) throws Exception {
        return OnnxRuns.run(runDir.resolve("export").resolve(graph), in, width, N);
    }
}
