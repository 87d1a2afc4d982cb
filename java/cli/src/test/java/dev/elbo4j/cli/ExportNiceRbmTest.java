package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.NumericArray;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Dbn;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.Nice;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmLayer;
import dev.elbo4j.rng.Philox;
import dev.elbo4j.rng.RngKey;
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
 * {@code elbo4j export} of NICE, the RBM and the DBN against elbo4j's own computation on the same inputs:
 * NICE's forward.onnx (z and log p(x), {@link Nice.Pass}) and inverse.onnx ({@link Nice#inverse},
 * and x back from forward.onnx's z), the RBM's hidden.onnx (p(h|v) and the free energy
 * {@link dev.elbo4j.model.RbmLayer#freeEnergy}) and visible.onnx (p(v|h)), the DBN's up.onnx (each
 * layer's mean-field features) and down.onnx (at random top units, and after up.onnx against
 * {@link Dbn#reconstruct}), in ONNX Runtime and in
 * tools/check_export.py (NumPy, and model.py under PyTorch where installed), each held to 1e-4.
 * The scaling layer, the couplings and the biases are trained away from their starting values,
 * so a graph that dropped or reordered one of them fails.
 */
class ExportNiceRbmTest {
    @TempDir
    static Path tmp;
    static final int N = 16;
    static Path niceRun, rbmRun, dbnRun;
    static Checkpoint nice, rbm, dbn;
    /** Reference arrays by name with their widths (shared names, v and h, have the same widths in the RBM and the DBN). */
    static final Map<String, float[]> niceRef = new LinkedHashMap<>(), rbmRef = new LinkedHashMap<>(), dbnRef = new LinkedHashMap<>();
    static final Map<String, Integer> width = new LinkedHashMap<>();

    @BeforeAll
    static void trainAndExport() throws IOException {
        Path data = CliTest.mnistSubset(tmp.resolve("data"), 300, 50);
        Dataset test = Dataset.loadDir(data, "test");
        niceRun = tmp.resolve("nice");
        rbmRun = tmp.resolve("rbm");
        // Two epochs at a batch of 20: 30 steps move the log-scales well away from their start at 0.
        nice = ExportFamiliesTest.trainAndExportTo(data, niceRun, "--model", "nice", "--hidden", "24", "--couplings", "3",
                "--batch-size", "20", "--epochs", "2");
        rbm = ExportFamiliesTest.trainAndExportTo(data, rbmRun, "--model", "rbm", "--hidden", "20", "--batch-size", "20");
        // 8 steps per layer: all three layers train within the 30 steps of two epochs, at a rate that lets the top
        // layer's features vary across inputs in that time.
        dbnRun = tmp.resolve("dbn");
        dbn = ExportFamiliesTest.trainAndExportTo(data, dbnRun, "--model", "dbn", "--hidden", "24,16,20", "--batch-size", "20",
                "--layer-steps", "8", "--epochs", "2", "--lr", "0.05");
        int d = nice.model().inputDim();
        Random rnd = new Random(5);
        float[] x = new float[N * d], levels = new float[N * d], zs = new float[N * d];
        for (int i = 0; i < x.length; i++) {
            int p = test.images()[i] & 0xff;
            levels[i] = p / 255f;
            x[i] = (float) ((p + rnd.nextDouble()) / 256);
            double u = rnd.nextDouble();
            zs[i] = (float) Math.log(u / (1 - u));
        }
        try (Backend be = Backends.select("cpu"); Nice m = nice.restoreModel(be, Nice.class); Nice.Pass pass = m.pass(N, false);
             Tensor xt = be.alloc(m.dtype(), N, d)) {
            be.write(xt, x);
            pass.run(xt, null);
            niceRef.put("x", x);
            niceRef.put("z", floats(pass.z()));
            niceRef.put("log_px", floats(be.download(pass.logLikelihood())));
            niceRef.put("zs", zs);
            niceRef.put("x_inv", floats(m.inverse(toDouble(zs), N)));
            double[] s = be.download(m.parameters().value(Nice.SCALE_EVEN));
            double big = 0;
            for (double v : s) big = Math.max(big, Math.abs(v));
            assertTrue(big > 0.02, "the scaling layer has left 0 (max |s| " + big + ")");
        }
        width.putAll(Map.of("x", d, "z", d, "log_px", 1, "zs", d, "x_inv", d));
        int v = rbm.model().inputDim(), h = ((dev.elbo4j.model.RbmConfig) rbm.model()).hidden();
        float[] hs = new float[N * h];
        for (int i = 0; i < hs.length; i++) hs[i] = rnd.nextDouble() < 0.5 ? 1 : 0;
        try (Backend be = Backends.select("cpu"); Rbm m = rbm.restoreModel(be, Rbm.class);
             Tensor vt = be.alloc(m.dtype(), N, v); Tensor ht = be.alloc(m.dtype(), N, h); Tensor ha = be.alloc(m.dtype(), N, h);
             Tensor ph = be.alloc(m.dtype(), N, h); Tensor va = be.alloc(m.dtype(), N, v); Tensor pv = be.alloc(m.dtype(), N, v);
             Tensor f = be.alloc(m.dtype(), N)) {
            float[] levels01 = java.util.Arrays.copyOf(levels, N * v);
            be.write(vt, levels01);
            be.write(ht, hs);
            m.layer().hiddenProbs(vt, ha, ph);
            m.layer().freeEnergy(vt, ha, f);
            m.layer().visibleProbs(ht, va, pv);
            rbmRef.put("v", levels01);
            rbmRef.put("p_h", floats(be.download(ph)));
            rbmRef.put("free_energy", floats(be.download(f)));
            rbmRef.put("h", hs);
            rbmRef.put("p_v", floats(be.download(pv)));
            gibbs(m.layer(), levels01, "", rbmRef, 1);
        }
        width.putAll(Map.of("v", v, "p_h", h, "free_energy", 1, "h", h, "p_v", v));
        DbnConfig dc = (DbnConfig) dbn.model();
        int layers = dc.layers(), top = dc.hidden()[layers - 1];
        assertEquals(h, top, "the DBN's top layer is as wide as the RBM's hidden layer (shared reference widths)");
        try (Backend be = Backends.select("cpu"); Dbn m = dbn.restoreModel(be, Dbn.class); Tensor vt = be.alloc(m.dtype(), N, v);
             Tensor ht = be.alloc(m.dtype(), N, top)) {
            be.write(vt, rbmRef.get("v"));
            be.write(ht, hs);
            dbnRef.put("v", rbmRef.get("v"));
            Tensor in = vt;
            List<Tensor> owned = new ArrayList<>();
            try {
                for (int l = 0; l < layers; l++) {
                    Tensor a = be.alloc(m.dtype(), N, dc.hidden()[l]), p = be.alloc(m.dtype(), N, dc.hidden()[l]);
                    owned.add(a);
                    owned.add(p);
                    m.layer(l).hiddenProbs(in, a, p);
                    dbnRef.put("p_h" + l, floats(be.download(p)));
                    width.put("p_h" + l, dc.hidden()[l]);
                    in = p;
                }
                // down at the top units h: the layers' visible probabilities from the top down.
                Tensor hd = ht;
                for (int l = layers - 1; l >= 0; l--) {
                    Tensor a = be.alloc(m.dtype(), N, dc.visibleOf(l)), p = be.alloc(m.dtype(), N, dc.visibleOf(l));
                    owned.add(a);
                    owned.add(p);
                    m.layer(l).visibleProbs(hd, a, p);
                    hd = p;
                }
                dbnRef.put("h", hs);
                dbnRef.put("p_v", floats(be.download(hd)));
                dbnRef.put("recon", m.reconstruct(vt, null));
                width.put("recon", v);
                // A Gibbs sweep of the top RBM from the features below it.
                gibbs(m.layer(layers - 1), dbnRef.get("p_h" + (layers - 2)), "top_", dbnRef, 2);
            } finally {
                for (Tensor t : owned) t.close();
            }
            for (int l = 0; l < layers; l++) {
                double[] c = be.download(m.layer(l).hiddenBias());
                double big = 0;
                for (double b : c) big = Math.max(big, Math.abs(b));
                assertTrue(big > 1e-3, "layer " + l + " has trained (max |c| " + big + ")");
            }
        }
        for (String k : List.of("z", "log_px", "x_inv")) assertVaries(niceRef, k);
        for (String k : List.of("p_h", "free_energy", "p_v")) assertVaries(rbmRef, k);
        // Not "recon": after 30 steps three mean-field layers down wash the input out of the reconstruction (spread
        // about 1e-5), which is why down.onnx is also held to elbo4j's at random binary top units ("p_v").
        for (String k : List.of("p_h0", "p_h1", "p_h2", "p_v")) assertVaries(dbnRef, k);
    }

    /**
     * One Gibbs sweep of {@code layer} at {@code v} as elbo4j samples (its rbmGibbsHalf with two
     * keys) and the uniforms it drew, into {@code ref}: {@code u_h}, {@code u_v}, {@code v}
     * (prefixed, beside "v" for the RBM itself) and the outputs {@code gibbs_h}, {@code gibbs_p_v},
     * {@code gibbs_v_next}, each name after {@code prefix}. Asserts the samples are neither all 0
     * nor all 1 and differ from thresholding at 1/2, so a graph that ignored its uniforms fails.
     */
    static void gibbs(RbmLayer layer, float[] v, String prefix, Map<String, float[]> ref, long seed) {
        Backend be = layer.backend();
        int vis = layer.visible(), hid = layer.hidden();
        RngKey kh = new RngKey(seed, 0, 1), kv = new RngKey(seed, 0, 2);
        float[] uh = new float[N * hid], uv = new float[N * vis];
        Philox.uniforms(kh, 0, uh, 0, uh.length);
        Philox.uniforms(kv, 0, uv, 0, uv.length);
        try (Tensor vt = be.alloc(layer.dtype(), N, vis); Tensor ha = be.alloc(layer.dtype(), N, hid); Tensor ph = be.alloc(layer.dtype(), N, hid);
             Tensor hs = be.alloc(layer.dtype(), N, hid); Tensor va = be.alloc(layer.dtype(), N, vis);
             Tensor pv = be.alloc(layer.dtype(), N, vis); Tensor vs = be.alloc(layer.dtype(), N, vis)) {
            be.write(vt, v);
            layer.hiddenAct(vt, ha);
            be.rbmGibbsHalf(ha, layer.hiddenBias(), 1, null, kh, ph, hs);
            layer.visibleAct(hs, va);
            be.rbmGibbsHalf(va, layer.visibleBias(), 1, null, kv, pv, vs);
            ref.put(prefix + "v", v);
            ref.put(prefix + "u_h", uh);
            ref.put(prefix + "u_v", uv);
            float[] h = floats(be.download(hs)), p = floats(be.download(ph));
            ref.put(prefix + "gibbs_h", h);
            ref.put(prefix + "gibbs_p_v", floats(be.download(pv)));
            ref.put(prefix + "gibbs_v_next", floats(be.download(vs)));
            int ones = 0, unlikeHalf = 0;
            for (int i = 0; i < h.length; i++) {
                ones += (int) h[i];
                if ((h[i] == 1) != (p[i] > 0.5)) unlikeHalf++;
            }
            assertTrue(ones > 0 && ones < h.length && unlikeHalf > 0, prefix + "h: " + ones + " ones, " + unlikeHalf + " against p > 1/2");
        }
        width.putAll(Map.of(prefix + "v", vis, prefix + "u_h", hid, prefix + "u_v", vis, prefix + "gibbs_h", hid,
                prefix + "gibbs_p_v", vis, prefix + "gibbs_v_next", vis));
    }

    /** gibbs.onnx on the references {@link #gibbs} stored under {@code prefix}: the samples exactly, p_v within 1e-4. */
    static void checkGibbs(Path runDir, Map<String, float[]> ref, String prefix) throws Exception {
        Map<String, float[]> in = new LinkedHashMap<>();
        Map<String, Integer> w = new LinkedHashMap<>();
        for (String k : List.of("v", "u_h", "u_v")) {
            in.put(k, ref.get(prefix + k));
            w.put(k, width.get(prefix + k));
        }
        Map<String, float[]> out = OnnxRuns.run(runDir.resolve("export").resolve("gibbs.onnx"), in, w, N);
        assertArrayEquals(ref.get(prefix + "gibbs_h"), out.get("h"), prefix + "h");
        assertClose(ref.get(prefix + "gibbs_p_v"), out.get("p_v"), prefix + "p(v|h)");
        assertArrayEquals(ref.get(prefix + "gibbs_v_next"), out.get("v_next"), prefix + "v_next");
    }

    static void assertVaries(Map<String, float[]> ref, String k) {
        double s = ExportTest.spread(ref.get(k), width.get(k));
        assertTrue(s > 1e-3, k + " varies across the inputs (" + s + ")");
    }

    @Test
    void filesAndWeights() throws IOException {
        for (var c : List.of(Map.entry(niceRun, Set.of("forward.onnx", "inverse.onnx")), Map.entry(rbmRun, Set.of("hidden.onnx", "visible.onnx", "gibbs.onnx")),
                Map.entry(dbnRun, Set.of("up.onnx", "down.onnx", "gibbs.onnx")))) {
            Checkpoint ckpt = c.getKey() == niceRun ? nice : c.getKey() == rbmRun ? rbm : dbn;
            ExportFiles.assertFilesAndWeights(ckpt, c.getKey().resolve("export"), c.getValue());
        }
    }

    @Test
    void onnxRuntimeReproducesNice() throws Exception {
        Map<String, float[]> fwd = run(niceRun, "forward.onnx", Map.of("x", niceRef.get("x")));
        assertClose(niceRef.get("z"), fwd.get("z"), "z");
        assertCloseRelative(niceRef.get("log_px"), fwd.get("log_px"), "log p(x)");
        assertClose(niceRef.get("x_inv"), run(niceRun, "inverse.onnx", Map.of("z", niceRef.get("zs"))).get("x"), "inverse at z");
        // The two graphs chained return x: forward then inverse.
        assertClose(niceRef.get("x"), run(niceRun, "inverse.onnx", Map.of("z", fwd.get("z"))).get("x"), "inverse of forward");
    }

    @Test
    void onnxRuntimeReproducesTheRbm() throws Exception {
        Map<String, float[]> hid = run(rbmRun, "hidden.onnx", Map.of("v", rbmRef.get("v")));
        assertClose(rbmRef.get("p_h"), hid.get("p_h"), "p(h|v)");
        assertCloseRelative(rbmRef.get("free_energy"), hid.get("free_energy"), "F(v)");
        assertClose(rbmRef.get("p_v"), run(rbmRun, "visible.onnx", Map.of("h", rbmRef.get("h"))).get("p_v"), "p(v|h)");
        checkGibbs(rbmRun, rbmRef, "");
    }

    @Test
    void onnxRuntimeReproducesTheDbn() throws Exception {
        Map<String, float[]> up = run(dbnRun, "up.onnx", Map.of("v", dbnRef.get("v")));
        for (int l = 0; l < 3; l++) assertClose(dbnRef.get("p_h" + l), up.get("p_h" + l), "layer " + l + " features");
        assertClose(dbnRef.get("p_v"), run(dbnRun, "down.onnx", Map.of("h", dbnRef.get("h"))).get("p_v"), "down at h");
        // up then down is elbo4j's up-down reconstruction.
        assertClose(dbnRef.get("recon"), run(dbnRun, "down.onnx", Map.of("h", up.get("p_h2"))).get("p_v"), "reconstruction");
        checkGibbs(dbnRun, dbnRef, "top_");
    }

    /** tools/check_export.py on the three exports in one run: the NumPy recipe and, where PyTorch is installed, model.py. */
    @Test
    void pythonReadsBothExportsByTheDocumentedRecipe() throws Exception {
        Assumptions.assumeTrue(ExportTest.python(new ArrayList<>(), "-c", "import numpy") == 0,
                "python3 with numpy is not installed (apt-get install python3-numpy; make test installs it)");
        boolean torch = ExportTest.python(new ArrayList<>(), "-c", "import torch") == 0;
        Path root = Path.of(System.getProperty("elbo4j.root", "../..")).toAbsolutePath().normalize();
        List<String> out = new ArrayList<>();
        int code = ExportTest.python(out, root.resolve("tools/check_export.py").toString(),
                niceRun.resolve("export").toString(), references("nice", niceRef).toString(),
                rbmRun.resolve("export").toString(), references("rbm", rbmRef).toString(),
                dbnRun.resolve("export").toString(), references("dbn", dbnRef).toString());
        assertEquals(0, code, String.join("\n", out));
        List<String> want = new ArrayList<>();
        for (String tool : torch ? List.of("numpy ", "torch ") : List.of("numpy ")) {
            for (String k : List.of("z", "log_px", "x_inv", "x_roundtrip", "p_h", "free_energy", "p_v", "p_h2", "recon", "gibbs_h",
                    "gibbs_p_v", "gibbs_v_next", "top_gibbs_h", "top_gibbs_v_next")) {
                want.add(tool + k + ":");
            }
        }
        for (String w : want) assertTrue(out.stream().anyMatch(l -> l.startsWith(w)), w + " in " + out);
        System.out.println("ExportNiceRbmTest python: " + String.join("; ", out));
    }

    static Path references(String name, Map<String, float[]> ref) throws IOException {
        return references(tmp.resolve("ref-" + name), ref, width);
    }

    /** {@code ref}'s arrays as .npy files in {@code dir} (created), each N x its width, for tools/check_export.py. */
    static Path references(Path dir, Map<String, float[]> ref, Map<String, Integer> width) throws IOException {
        Files.createDirectories(dir);
        for (var e : ref.entrySet()) {
            Npy.write(dir.resolve(e.getKey() + ".npy"), new NumericArray(new int[] {N, width.get(e.getKey())}, null, e.getValue()));
        }
        return dir;
    }

    static Map<String, float[]> run(Path runDir, String graph, Map<String, float[]> in) throws Exception {
        return OnnxRuns.run(runDir.resolve("export").resolve(graph), in, width, N);
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static float[] floats(float[] f) {
        return f;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertClose(want, got, what, false);
    }

    /**
     * Within 1e-4 of max(1, |want|): for sums over a row's hundreds of terms (log p(x), F(v) in
     * the hundreds to thousands of nats), where one float32 step is already 2.4e-4 at 2048.
     */
    static void assertCloseRelative(float[] want, float[] got, String what) {
        assertClose(want, got, what, true);
    }

    static void assertClose(float[] want, float[] got, String what, boolean relative) {
        assertNotNull(got, what);
        assertEquals(want.length, got.length, what);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]) / (relative ? Math.max(1, Math.abs(want[i])) : 1));
        }
        assertTrue(worst <= 1e-4, what + ": max |difference| " + worst + (relative ? " relative" : ""));
    }
}
