package dev.elbo4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code elbo4j latent} end to end on tiny VAEs (one with a 2-D code trained for two epochs on 500
 * MNIST digits, one with a 3-D code trained for one epoch on 100), and its answers to bad flags.
 */
class LatentCliTest {
    @TempDir
    static Path tmp;
    static Path mnist, run2, run3;
    /** Cell pitch of a scale-2 grid of 28x28 images: 56 pixels and a 2-pixel separator. */
    static final int CELL = 56, PITCH = 58;

    static CliTest.Result run(String... args) {
        return CliTest.run(args);
    }

    /** Hidden layer 32; a high learning rate so a few steps on 500 digits learn digit-like blobs. */
    static Path train(String name, int latent, int epochs, int examples) {
        Path out = tmp.resolve(name);
        CliTest.Result r = run("train", "--data", mnist.toString(), "--out", out.toString(), "--device", "cpu",
                "--train-limit", Integer.toString(examples), "--test-limit", "200", "--epochs", Integer.toString(epochs), "--latent",
                Integer.toString(latent), "--hidden", "32", "--batch-size", "25", "--lr", "1e-2", "--eval-k", "0", "--no-progress");
        assertEquals(0, r.code(), r.err());
        return out;
    }

    /** The first 500 training and 200 test digits as IDX files (so each command loads little), and the two models. */
    @BeforeAll
    static void models() throws IOException {
        mnist = CliTest.mnistSubset(tmp.resolve("subset"), 500, 200);
        run2 = train("z2", 2, 2, 500);
        run3 = train("z3", 3, 1, 100); // only its code's dimension matters
    }

    /** A latent subcommand on run2 (or the given -c) with the 200 test digits on the CPU. */
    static CliTest.Result latent(String sub, String... extra) {
        List<String> a = new ArrayList<>(List.of("latent", sub, "-c", run2.toString(), "--data", mnist.toString(),
                "--limit", "200", "--device", "cpu"));
        a.addAll(Arrays.asList(extra));
        return run(a.toArray(String[]::new));
    }

    static BufferedImage png(Path p) throws IOException {
        BufferedImage img = ImageIO.read(p.toFile());
        assertNotNull(img, p + " is not a readable PNG");
        return img;
    }

    /** The gray levels of the scale-2 cell at grid (row, col). */
    static int[] cell(BufferedImage img, int row, int col) {
        int[] g = new int[CELL * CELL];
        for (int y = 0; y < CELL; y++) {
            for (int x = 0; x < CELL; x++) g[y * CELL + x] = img.getRaster().getSample(2 + col * PITCH + x, 2 + row * PITCH + y, 0);
        }
        return g;
    }

    static int maxDiff(int[] a, int[] b) {
        int m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /**
     * The first 16 test inputs over their reconstructions, from {@code elbo4j reconstruct}: input i
     * is at grid (2 (i / 8), i % 8), its reconstruction one row lower. (From index 0, so the fixed
     * binarisation is the one of the whole test set, as latent draws it.)
     */
    static BufferedImage reconstructions() throws IOException {
        Path p = tmp.resolve("recon16.png");
        if (!Files.exists(p)) {
            CliTest.Result r = run("reconstruct", "-c", run2.toString(), "--data", mnist.toString(), "--device", "cpu", "-n", "16",
                    "-o", p.toString());
            assertEquals(0, r.code(), r.err());
        }
        return png(p);
    }

    /**
     * reconstruct --from I: test image i is binarised by its test index, so inputs 5..7 of a slice
     * from 5 are the cells of the same images in the slice from 0 (and so are their reconstructions,
     * up to one gray level of float rounding with a different batch size).
     */
    @Test
    void reconstructFromKeepsEachTestImagesBinarisation() throws IOException {
        Path p = tmp.resolve("recon-from5.png");
        CliTest.Result r = run("reconstruct", "-c", run2.toString(), "--data", mnist.toString(), "--device", "cpu", "--from", "5",
                "-n", "3", "-o", p.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage part = png(p), whole = reconstructions();
        for (int k = 0; k < 3; k++) {
            int index = 5 + k;
            assertArrayEquals(cell(whole, 0, index), cell(part, 0, k), "input " + index);
            assertTrue(maxDiff(cell(whole, 1, index), cell(part, 1, k)) <= 1, "reconstruction of input " + index);
        }
        // A slice past the first 16: test image 20 at --from 20 is the image at --from 18, position 2.
        Path a = tmp.resolve("recon-from20.png"), b = tmp.resolve("recon-from18.png");
        assertEquals(0, run("reconstruct", "-c", run2.toString(), "--data", mnist.toString(), "--device", "cpu", "--from", "20",
                "-n", "1", "-o", a.toString()).code());
        assertEquals(0, run("reconstruct", "-c", run2.toString(), "--data", mnist.toString(), "--device", "cpu", "--from", "18",
                "-n", "4", "-o", b.toString()).code());
        assertArrayEquals(cell(png(b), 0, 2), cell(png(a), 0, 0), "input 20");
    }

    static void assertIsInputAndReconstruction(BufferedImage img, int row, int inputCol, int reconCol, int index) throws IOException {
        BufferedImage rec = reconstructions();
        int r = 2 * (index / 8), c = index % 8;
        assertArrayEquals(cell(rec, r, c), cell(img, row, inputCol), "input " + index);
        // Up to one gray level for float rounding of a different batch size in the encoder.
        assertTrue(maxDiff(cell(rec, r + 1, c), cell(img, row, reconCol)) <= 1, "reconstruction of input " + index);
    }

    static List<float[]> codes(Path csv) throws IOException {
        List<float[]> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(csv);
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            float[] v = new float[f.length];
            for (int i = 0; i < f.length; i++) v[i] = Float.parseFloat(f[i]);
            rows.add(v);
        }
        return rows;
    }

    @Test
    void interpolationEndsAreTheReconstructions() throws IOException {
        Path out = tmp.resolve("lin.png"), csv = tmp.resolve("lin.csv");
        CliTest.Result r = latent("interpolate", "--from", "3", "--to", "7", "--steps", "5", "-o", out.toString(),
                "--codes", csv.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage img = png(out);
        assertEquals(7 * CELL + 8 * 2, img.getWidth(), "input, 5 steps, input");
        assertEquals(CELL + 4, img.getHeight());
        assertIsInputAndReconstruction(img, 0, 0, 1, 3);
        assertIsInputAndReconstruction(img, 0, 6, 5, 7);
        List<float[]> z = codes(csv);
        assertEquals(5, z.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(i / 4.0, z.get(i)[0], 1e-6);
            for (int k = 1; k <= 2; k++) assertEquals((1 - i / 4.0) * z.get(0)[k] + i / 4.0 * z.get(4)[k], z.get(i)[k], 1e-5, "linear");
        }
        assertTrue(maxDiff(cell(img, 0, 1), cell(img, 0, 5)) > 50, "the path goes somewhere: its ends differ");
    }

    @Test
    void slerpKeepsTheNormBetweenTheEnds() throws IOException {
        Path lin = tmp.resolve("l.csv"), sl = tmp.resolve("s.csv"), out = tmp.resolve("slerp.png");
        assertEquals(0, latent("interpolate", "--from", "0", "--to", "4", "--steps", "9", "-o", tmp.resolve("l.png").toString(),
                "--codes", lin.toString()).code());
        CliTest.Result r = latent("interpolate", "--from", "0", "--to", "4", "--steps", "9", "--mode", "slerp", "-o", out.toString(),
                "--codes", sl.toString());
        assertEquals(0, r.code(), r.err());
        List<float[]> a = codes(lin), b = codes(sl);
        assertArrayEquals(a.get(0), b.get(0), 1e-5f, "same start");
        assertArrayEquals(a.get(8), b.get(8), 1e-5f, "same end");
        double n0 = b.get(0)[3], n1 = b.get(8)[3];
        for (float[] row : b) {
            double norm = Math.hypot(row[1], row[2]);
            assertEquals(norm, row[3], 1e-5, "the norm column");
            assertTrue(norm >= Math.min(n0, n1) - 1e-5 && norm <= Math.max(n0, n1) + 1e-5, "norm " + norm + " between " + n0 + " and " + n1);
        }
        assertTrue(b.get(4)[3] >= a.get(4)[3] - 1e-6, "the straight line cuts inside the arc");
        assertIsInputAndReconstruction(png(out), 0, 0, 1, 0);
        assertIsInputAndReconstruction(png(out), 0, 10, 9, 4);
    }

    @Test
    void attributeScaleZeroIsTheReconstruction() throws IOException {
        Path out = tmp.resolve("attr.png");
        CliTest.Result r = latent("attribute", "--class-a", "1", "--class-b", "0", "--scales", "0,1,2", "-n", "3", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        Matcher m = Pattern.compile("test indices \\[(\\d+), (\\d+), (\\d+)]").matcher(r.out());
        assertTrue(m.find(), r.out());
        int[] idx = {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
        assertArrayEquals(new int[]{3, 10, 13}, idx, "the first three zeros of the MNIST test set");
        BufferedImage img = png(out);
        assertEquals(4 * CELL + 5 * 2, img.getWidth(), "input and three scales");
        assertEquals(3 * CELL + 4 * 2, img.getHeight(), "three inputs");
        for (int row = 0; row < 3; row++) {
            assertIsInputAndReconstruction(img, row, 0, 1, idx[row]);
            assertTrue(maxDiff(cell(img, row, 1), cell(img, row, 3)) > 50, "scale 2 moves the decoding");
        }
    }

    @Test
    void manifoldHasTheGridSize() throws IOException {
        Path out = tmp.resolve("manifold.png");
        CliTest.Result r = run("latent", "manifold", "-c", run2.toString(), "--device", "cpu", "--grid", "5", "--scale", "2",
                "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage img = png(out);
        assertEquals(5 * CELL + 6 * 2, img.getWidth());
        assertEquals(5 * CELL + 6 * 2, img.getHeight());
        assertTrue(maxDiff(cell(img, 0, 0), cell(img, 4, 4)) > 50, "opposite corners decode differently");
        r = run("latent", "manifold", "-c", run2.toString(), "--device", "cpu", "--grid", "20", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(20 * 28 + 21 * 2, png(out).getWidth(), "default scale 1");
    }

    @Test
    void scatterPlotsTheCodes() throws IOException {
        Path out = tmp.resolve("scatter.png");
        CliTest.Result r = latent("scatter", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("200 test inputs"), r.out());
        BufferedImage img = png(out);
        assertEquals(Plots.SCATTER_WIDTH, img.getWidth());
        assertEquals(Plots.SCATTER_HEIGHT, img.getHeight());
    }

    /** Same k, seed and inputs as eval --scores: the same estimates, digit for digit. */
    @Test
    void densityMatchesEvalScores() throws IOException {
        Path csv = tmp.resolve("density.csv"), low = tmp.resolve("lowest.png"), scores = tmp.resolve("scores.csv");
        CliTest.Result r = latent("density", "-k", "20", "--seed", "5", "-o", csv.toString(), "--lowest", "4",
                "--lowest-out", low.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        CliTest.Result e = run("eval", "-c", run2.toString(), "--data", mnist.toString(), "--limit", "200", "--device", "cpu",
                "-k", "20", "--seed", "5", "--scores", scores.toString(), "--no-progress");
        assertEquals(0, e.code(), e.err());
        List<String> ours = Files.readAllLines(csv), theirs = Files.readAllLines(scores);
        assertEquals("index,label,log_px", ours.getFirst());
        assertEquals(201, ours.size());
        int argmin = -1;
        double min = Double.POSITIVE_INFINITY;
        for (int i = 1; i < ours.size(); i++) {
            String[] a = ours.get(i).split(","), b = theirs.get(i).split(",");
            assertEquals(b[0] + "," + b[1] + "," + b[3], ours.get(i), "row " + i);
            double v = Double.parseDouble(a[2]);
            if (v < min) {
                min = v;
                argmin = i - 1;
            }
        }
        assertTrue(r.out().contains("lowest: #" + argmin + " "), "the first shown is the lowest-scoring: " + r.out());
        BufferedImage img = png(low);
        assertEquals(4 * CELL + 5 * 2, img.getWidth());
        assertEquals(CELL + 4, img.getHeight());
        // A different seed gives different noise, so the estimates are not a constant.
        assertEquals(0, latent("density", "-k", "20", "--seed", "6", "-o", tmp.resolve("d6.csv").toString(), "--lowest", "0",
                "--no-progress").code());
        assertNotEquals(ours, Files.readAllLines(tmp.resolve("d6.csv")));
    }

    /** Without --lowest-out the picture goes beside the CSV, not into the working directory. */
    @Test
    void densityPutsItsPictureBesideItsCsv() throws IOException {
        Path dir = tmp.resolve("density-out");
        Files.createDirectories(dir);
        CliTest.Result r = latent("density", "-k", "2", "-o", dir.resolve("d.csv").toString(), "--lowest", "3", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertEquals(3 * CELL + 4 * 2, png(dir.resolve("lowest.png")).getWidth());
        assertTrue(r.out().contains(dir.resolve("lowest.png").toString()), r.out());
    }

    @Test
    void curvesOfARun() throws IOException {
        BufferedImage fromTrain = png(run2.resolve("curves.png"));
        assertEquals(Plots.CURVES_WIDTH, fromTrain.getWidth());
        assertEquals(Plots.CURVES_HEIGHT, fromTrain.getHeight());
        Path out = tmp.resolve("curves.png");
        CliTest.Result r = run("latent", "curves", run3.toString(), "-o", out.toString(), "--title", "z3");
        assertEquals(0, r.code(), r.err());
        assertEquals(Plots.CURVES_WIDTH, png(out).getWidth());
        r = run("latent", "curves", run3.resolve("log.jsonl").toString(), "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(Plots.CURVES_HEIGHT, png(out).getHeight());
    }

    /**
     * Exit 2 and one line naming the command in full ("elbo4j latent SUB: ...") with every
     * fragment; a parse error adds picocli's second line pointing at the command's --help.
     */
    static void assertUsageError(CliTest.Result r, String... fragments) {
        assertEquals(2, r.code(), r.out() + r.err());
        List<String> lines = r.err().strip().lines().toList();
        String line = lines.getFirst();
        assertTrue(line.startsWith("elbo4j latent"), r.err());
        assertTrue(lines.size() == 1 || lines.size() == 2 && lines.get(1).startsWith("Try 'elbo4j latent") && lines.get(1)
                .endsWith(" --help' for the options."), "one line: " + r.err());
        for (String f : fragments) assertTrue(line.contains(f), "'" + f + "' in " + r.err());
    }

    @Test
    void badFlagsAreOneLineUsageErrors() throws IOException {
        for (CliTest.Result r : List.of(latent("interpolate", "--from", "200", "-o", tmp.resolve("x.png").toString()),
                latent("interpolate", "--to", "-1", "-o", tmp.resolve("x.png").toString()))) {
            assertUsageError(r, "elbo4j latent interpolate: error: --", "must be a test index in 0..199");
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        CliTest.Result unknown = latent("scatter", "--bogus");
        assertUsageError(unknown, "elbo4j latent scatter: Unknown option: '--bogus'");
        assertTrue(unknown.err().contains("Try 'elbo4j latent scatter --help'"), unknown.err());
        assertUsageError(latent("interpolate", "--steps", "1"), "--steps must be in 2..100");
        assertUsageError(latent("interpolate", "--mode", "cubic"), "--mode must be linear or slerp");
        assertUsageError(latent("interpolate", "--label", "3"), "--label", "unconditional");
        assertUsageError(latent("attribute", "--class-a", "10", "--class-b", "0"), "--class-a must be a class in 0..9, got 10");
        assertUsageError(latent("attribute", "--class-a", "1", "--class-b", "-1"), "--class-b must be a class in 0..9");
        assertUsageError(latent("attribute", "--class-b", "0"), "--class-a");
        assertUsageError(latent("attribute", "--class-a", "1", "--class-b", "0", "--scales", "0,x"), "--scales");
        assertUsageError(latent("density", "-k", "0"), "-k must be >= 1, got 0");
        assertUsageError(latent("density", "--lowest", "-1"), "--lowest must be in 0..1000");
        assertUsageError(latent("scatter", "-c", tmp.resolve("nowhere").toString()), "--checkpoint", "no checkpoint file");
        assertUsageError(latent("scatter", "-c", run3.toString()), "latent scatter needs a 2-D latent space", "3 dimensions");
        // the model is checked before the data is read: a 3-D model is refused even where the data is missing
        assertUsageError(latent("scatter", "-c", run3.toString(), "--data", tmp.resolve("no-data").toString()),
                "latent scatter needs a 2-D latent space");
        assertUsageError(run("latent", "manifold", "-c", run3.toString(), "--device", "cpu"), "latent manifold needs a 2-D latent space");
        assertUsageError(run("latent", "manifold", "-c", run2.toString(), "--grid", "1"), "--grid must be in 2..100");
        assertUsageError(run("latent", "curves", tmp.resolve("nowhere").toString()), "no log.jsonl");
        assertUsageError(latent("scatter", "--limit", "-3"), "--limit must be >= 0");
        assertUsageError(run("latent"), "a subcommand is required");
        assertUsageError(run("latent", "wobble"), "wobble");
        for (CliTest.Result r : List.of(latent("scatter", "-o", tmp.resolve("none/x.png").toString(), "--bogus"),
                run("latent", "manifold", "-c", run2.toString(), "--device", "cpu", "-o", tmp.resolve("none/m.png").toString(), "--grid", "1"))) {
            assertEquals(2, r.code());
        }
        assertFalse(Files.exists(tmp.resolve("none")), "nothing written on a usage error");

        Path bad = tmp.resolve("bad-log");
        Files.createDirectories(bad);
        Files.writeString(bad.resolve("log.jsonl"), "{\"epoch\":1,\"train_elbo\":-100}\nnot json\n");
        CliTest.Result r = run("latent", "curves", bad.toString());
        assertEquals(1, r.code(), "a broken log is a bad file, not a bad flag");
        assertTrue(r.err().contains("line 2"), r.err());
    }

    @Test
    void helpExplainsEverySubcommand() {
        CliTest.Result r = run("latent", "--help");
        assertEquals(0, r.code());
        for (String sub : List.of("interpolate", "attribute", "manifold", "scatter", "density", "curves")) {
            assertTrue(r.out().contains(sub), sub + " in " + r.out());
            CliTest.Result h = run("latent", sub, "--help");
            assertEquals(0, h.code(), sub);
            assertTrue(h.out().contains("-o, --out"), sub + ": " + h.out());
        }
    }
}
