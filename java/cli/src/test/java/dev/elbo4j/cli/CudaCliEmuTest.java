package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.io.Dataset;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code elbo4j train --device cuda} against {@code --device cpu} for every model family, one
 * epoch on a small synthetic data set: the same lines, and the same figures to within what float
 * arithmetic in another order moves them. Runs where a CUDA device opens (a GPU, or the CPU
 * emulator: scripts/test-emu.sh CudaCliEmuTest); skipped elsewhere. The CUDA run replays its steps
 * as CUDA graphs where the family allows (docs/GPU.md), so this checks that path as the CLI drives it.
 */
class CudaCliEmuTest {
    private static final int SIDE = 8, N = 160, TEST = 48;

    @TempDir
    static Path tmp;
    static Path data, small;

    @BeforeAll
    static void setUp() throws IOException {
        try (Backend be = Backends.select("cuda")) {
            Assumptions.assumeTrue(be != null);
        } catch (BackendUnavailableException e) {
            if (Boolean.getBoolean("elbo4j.gpu.required")) throw e;
            Assumptions.abort("no CUDA device: " + e.getMessage().lines().findFirst().orElse(""));
        }
        data = Files.createDirectories(tmp.resolve("blobs"));
        CliTest.writeSplit(blobs(N, 1, SIDE), data, "train");
        CliTest.writeSplit(blobs(TEST, 2, SIDE), data, "t10k");
        small = Files.createDirectories(tmp.resolve("blobs4"));   // the FVBM enumerates 2^D states: 4 x 4
        CliTest.writeSplit(blobs(N, 3, 4), small, "train");
        CliTest.writeSplit(blobs(TEST, 4, 4), small, "t10k");
    }

    /** Blobs on a side x side grid, with labels 0..9 (each class 1/10 of the examples). */
    static Dataset blobs(int n, long seed, int side) {
        SplittableRandom r = new SplittableRandom(seed);
        int d = side * side;
        byte[] px = new byte[n * d], labels = new byte[n];
        for (int i = 0; i < n; i++) {
            double cx = 1 + r.nextDouble() * (side - 2), cy = 1 + r.nextDouble() * (side - 2);
            for (int p = 0; p < d; p++) {
                double v = 255 * Math.max(0, 1 - Math.hypot(p % side - cx, p / side - cy) / 3) + r.nextDouble() * 30;
                px[i * d + p] = (byte) Math.min(255, (int) v);
            }
            labels[i] = (byte) (i % 10);
        }
        return new Dataset(px, labels, n, side, side);
    }

    /** The standard error of the last {@link #figures} run (its header names the backend). */
    private static String lastErr = "";

    private static final Pattern NUMBER = Pattern.compile("-?\\d+\\.\\d+(?:[eE][-+]?\\d+)?");

    @ParameterizedTest
    @ValueSource(strings = {"vae", "ae", "cvae", "m2", "nice", "rbm", "dbn", "fvbm", "rbm-pcd", "dbn-pcd", "m2-conv"})
    void cudaPrintsTheCpusFigures(String model) {
        List<String> cpu = figures(model, "cpu"), cuda = figures(model, "cuda");
        assertEquals(text(cpu), text(cuda), model + ": the same lines");
        List<Double> a = numbers(cpu), b = numbers(cuda);
        assertEquals(a.size(), b.size(), model);
        assertTrue(!a.isEmpty(), model + ": figures printed: " + cpu);
        for (int i = 0; i < a.size(); i++) {
            double tol = 0.011 + 1e-4 * Math.abs(a.get(i));   // a last printed digit, or float noise on large values
            assertTrue(Math.abs(a.get(i) - b.get(i)) <= tol, model + ": figure " + i + " cpu " + a.get(i) + " cuda " + b.get(i)
                    + "\ncpu:  " + cpu + "\ncuda: " + cuda);
        }
    }

    /**
     * {@code --dense cublaslt} (the dense layers on cuBLASLt, the ReLU derivative in the dx GEMMs) against
     * {@code --dense hand} on the device: the same lines and figures (on the emulator, whose GEMM is
     * the same for both paths, the same text).
     */
    @ParameterizedTest
    @ValueSource(strings = {"vae", "m2"})
    void cublasLtPrintsTheHandWrittenPathsFigures(String model) {
        List<String> hand = figures(model, "cuda", "--dense", "hand");
        assertTrue(!lastErr.contains("dense layers on cuBLASLt"), lastErr);
        List<String> lt = figures(model, "cuda", "--dense", "cublaslt");
        assertTrue(lastErr.contains("dense layers on cuBLASLt"), "the run says it used cuBLASLt: " + lastErr);
        assertEquals(text(hand), text(lt), model + ": the same lines");
        List<Double> a = numbers(hand), b = numbers(lt);
        assertEquals(a.size(), b.size(), model);
        for (int i = 0; i < a.size(); i++) {
            double tol = 0.011 + 1e-4 * Math.abs(a.get(i));
            assertTrue(Math.abs(a.get(i) - b.get(i)) <= tol, model + ": figure " + i + " hand " + a.get(i) + " cublaslt " + b.get(i));
        }
        try (Backend be = Backends.select("cuda")) {
            if (be.description().contains("emulator")) assertEquals(hand, lt, model + ": the emulator's bits");
        }
    }

    /**
     * The run's output lines without timings (the parenthesised seconds and samples per second).
     * {@code model}: a family, or rbm-pcd / dbn-pcd (persistent CD; the DBN's two layers 3 steps each),
     * or m2-conv (a conv classifier and encoder and a transposed-conv decoder).
     */
    private static List<String> figures(String model, String device, String... extra) {
        Path out = tmp.resolve(model + "-" + device + String.join("", extra).replace("-", ""));
        String family = model.replace("-pcd", "").replace("-conv", "");
        List<String> args = new ArrayList<>(List.of("train", "--model", family, "--data", (model.equals("fvbm") ? small : data).toString(),
                "--out", out.toString(),
                "--device", device, "--epochs", "1", "--batch-size", "32", "--seed", "7", "--no-progress"));
        if (model.endsWith("-pcd")) args.add("--pcd");
        if (model.endsWith("-conv")) args.addAll(List.of("--encoder", "conv:4x3s2p1", "--decoder", "deconv:4x3s2p1"));
        if (model.equals("dbn-pcd")) args.addAll(List.of("--layer-steps", "3"));
        switch (family) {
            case "vae", "cvae", "m2" -> args.addAll(List.of("--hidden", "16", "--latent", "3", "--eval-k", "0"));
            case "ae" -> args.addAll(List.of("--hidden", "16", "--latent", "4"));
            case "nice" -> args.addAll(List.of("--hidden", "16"));
            case "rbm" -> args.addAll(List.of("--hidden", "12"));
            case "dbn" -> args.addAll(List.of("--hidden", "12,8"));
            default -> { }
        }
        if (family.equals("m2")) args.addAll(List.of("--labels", "40"));
        args.addAll(List.of(extra));
        CliTest.Result r = CliTest.run(args.toArray(new String[0]));
        assertEquals(0, r.code(), model + " on " + device + ": " + r.err() + r.out());
        lastErr = r.err();
        List<String> lines = new ArrayList<>();
        for (String l : r.out().split("\n")) {
            String s = l.replaceAll("\\([^)]*\\bs\\b[^)]*\\)", "(time)").replace(out.toString(), "OUT").strip();
            if (!s.isEmpty()) lines.add(s);
        }
        return lines;
    }

    private static String text(List<String> lines) {
        return String.join("\n", lines).replaceAll(NUMBER.pattern(), "#");
    }

    private static List<Double> numbers(List<String> lines) {
        List<Double> v = new ArrayList<>();
        Matcher m = NUMBER.matcher(String.join("\n", lines));
        while (m.find()) v.add(Double.parseDouble(m.group()));
        return v;
    }
}
