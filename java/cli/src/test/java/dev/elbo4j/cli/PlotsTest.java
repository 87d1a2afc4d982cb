package dev.elbo4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Reading run logs and drawing the plots headless. */
class PlotsTest {
    @TempDir
    Path tmp;

    @Test
    void readsEpochLinesLaterWinsNullIsNaN() throws IOException {
        Path log = tmp.resolve("log.jsonl");
        Files.writeString(log, """
                {"epoch":1,"step":4,"train_elbo":-200.5,"test_elbo":-190.25}
                {"epoch":2,"step":8,"train_elbo":null,"test_elbo":-180}
                {"event":"final","epochs":2,"test_elbo":-180}

                {"epoch":2,"step":8,"train_elbo":-170,"test_elbo":-175}
                {"epoch":3,"step":12,"test_elbo":-160}
                """);
        Plots.Curves c = Plots.readCurves(log);
        assertArrayEquals(new double[]{1, 2, 3}, c.epochs());
        assertArrayEquals(new double[]{-200.5, -170, Double.NaN}, c.train());
        assertArrayEquals(new double[]{-190.25, -175, -160}, c.test());
        assertNull(c.objective(), "older logs do not name it");
    }

    /**
     * Logs since the objective was named: train_objective and test_objective (an IWAE run has no
     * ELBO keys); a run begun by an older elbo4j and resumed by a newer one mixes both kinds of line.
     */
    @Test
    void readsObjectiveKeysAndOlderElboKeys() throws IOException {
        Path log = tmp.resolve("log.jsonl");
        Files.writeString(log, """
                {"epoch":1,"step":4,"train_elbo":-200.5,"test_elbo":-190.25}
                {"epoch":2,"step":8,"objective":"IWAE bound","train_objective":-170,"test_objective":-165}
                {"epoch":3,"step":12,"objective":"ELBO","train_objective":-160,"test_objective":-158,"train_elbo":-160,"test_elbo":-158}
                {"event":"final","epochs":3,"test_elbo":-159,"test_log_px":-150}
                """);
        Plots.Curves c = Plots.readCurves(log);
        assertArrayEquals(new double[]{1, 2, 3}, c.epochs());
        assertArrayEquals(new double[]{-200.5, -170, -160}, c.train());
        assertArrayEquals(new double[]{-190.25, -165, -158}, c.test());
        assertEquals("ELBO", c.objective());
        Files.writeString(log, "{\"epoch\":1,\"objective\":\"IWAE bound\",\"train_objective\":null,\"test_objective\":-99}\n");
        c = Plots.readCurves(log);
        assertArrayEquals(new double[]{Double.NaN}, c.train());
        assertArrayEquals(new double[]{-99}, c.test());
        assertEquals("IWAE bound", c.objective());
        assertTrue(Plots.lossCurves(log, tmp.resolve("iwae.png"), "t"));
    }

    @Test
    void badLinesAreNamed() throws IOException {
        Path log = tmp.resolve("log.jsonl");
        Files.writeString(log, "{\"epoch\":1,\"train_elbo\":-1}\n{\"epoch\":\n");
        var e = assertThrows(IllegalArgumentException.class, () -> Plots.readCurves(log));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Files.writeString(log, "{\"epoch\":\"one\"}\n");
        e = assertThrows(IllegalArgumentException.class, () -> Plots.readCurves(log));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("epoch"), e.getMessage());
    }

    private static int colours(BufferedImage img) {
        Set<Integer> s = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 2) for (int x = 0; x < img.getWidth(); x += 2) s.add(img.getRGB(x, y));
        return s.size();
    }

    @Test
    void curvesPngHasItsSizeAndItsTwoLineColours() throws IOException {
        Path log = tmp.resolve("log.jsonl"), png = tmp.resolve("c.png");
        Files.writeString(log, "{\"epoch\":1,\"train_elbo\":-200,\"test_elbo\":-190}\n{\"epoch\":2,\"train_elbo\":-150,\"test_elbo\":-160}\n");
        assertTrue(Plots.lossCurves(log, png, "t"));
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(Plots.CURVES_WIDTH, img.getWidth());
        assertEquals(Plots.CURVES_HEIGHT, img.getHeight());
        int blue = count(img, 0x1f77b4), orange = count(img, 0xff7f0e);
        assertTrue(blue > 100 && orange > 100, "train (blue) and test (orange) lines drawn: " + blue + ", " + orange);
    }

    /** The number of pixels of exactly {@code rgb}. */
    static int count(BufferedImage img, int rgb) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xffffff) == rgb) n++;
        return n;
    }

    /** train --validation logs validation_objective, --keep-best / --early-stop "best": true; a resumed epoch's later line wins. */
    @Test
    void readsTheValidationFiguresAndTheBestEpoch() throws IOException {
        Path log = tmp.resolve("log.jsonl");
        Files.writeString(log, """
                {"epoch":1,"objective":"ELBO","train_objective":-200,"test_objective":-190,"validation_objective":-191,"best":true}
                {"epoch":2,"objective":"ELBO","train_objective":-180,"test_objective":-170,"validation_objective":-172,"best":true}
                {"epoch":3,"objective":"ELBO","train_objective":-170,"test_objective":-171,"validation_objective":-175,"best":true}
                {"epoch":3,"objective":"ELBO","train_objective":-170,"test_objective":-171,"validation_objective":-175}
                {"epoch":4,"objective":"ELBO","train_objective":-165,"test_objective":-169,"validation_objective":null}
                {"event":"final","epochs":4,"selection":"validation","best_epoch":2}
                """);
        Plots.Curves c = Plots.readCurves(log);
        assertArrayEquals(new double[]{-191, -172, -175, Double.NaN}, c.validation());
        assertTrue(c.hasValidation());
        assertEquals(2, c.bestEpoch(), "epoch 3's later line has no best flag");
        Files.writeString(log, "{\"epoch\":1,\"train_elbo\":-200,\"test_elbo\":-190}\n");
        c = Plots.readCurves(log);
        assertFalse(c.hasValidation());
        assertTrue(Double.isNaN(c.bestEpoch()));
    }

    /**
     * With validation figures a third line in the third colour (green) and a legend entry; the best
     * epoch ringed (red) on the validation line. A log without them draws train and test alone:
     * the same series and the same bytes as a log whose validation figures are all null.
     */
    @Test
    void theValidationCurveIsDrawnInItsColourAndTheBestEpochRinged() throws IOException {
        Path log = tmp.resolve("log.jsonl"), png = tmp.resolve("c.png");
        Files.writeString(log, """
                {"epoch":1,"train_objective":-200,"test_objective":-190,"validation_objective":-195,"best":true}
                {"epoch":2,"train_objective":-150,"test_objective":-160,"validation_objective":-150,"best":true}
                {"epoch":3,"train_objective":-140,"test_objective":-158,"validation_objective":-155}
                """);
        var chart = Plots.curvesChart(Plots.readCurves(log), "t");
        assertEquals(java.util.List.of("train", "test", "validation", "best (epoch 2, validation)"),
                java.util.List.copyOf(chart.getSeriesMap().keySet()));
        var best = chart.getSeriesMap().get("best (epoch 2, validation)");
        assertEquals(-150, best.getYData()[0], "the ring sits on the validation figure of the best epoch");
        assertTrue(Plots.lossCurves(log, png, "t"));
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(count(img, 0x1f77b4) > 100 && count(img, 0xff7f0e) > 100, "train and test still drawn");
        assertTrue(count(img, 0x2ca02c) > 100, "the validation line (green): " + count(img, 0x2ca02c));
        assertTrue(count(img, 0xd62728) > 50, "the best epoch's ring (red): " + count(img, 0xd62728));

        // Selection on the test figure (--keep-best without --validation): the ring on the test line.
        Files.writeString(log, """
                {"epoch":1,"train_objective":-200,"test_objective":-190,"best":true}
                {"epoch":2,"train_objective":-150,"test_objective":-195}
                """);
        chart = Plots.curvesChart(Plots.readCurves(log), "t");
        assertEquals(java.util.List.of("train", "test", "best (epoch 1, test)"), java.util.List.copyOf(chart.getSeriesMap().keySet()));
        assertEquals(-190, chart.getSeriesMap().get("best (epoch 1, test)").getYData()[0]);

        // Without selection: train and test only, no green, no red.
        Path plain = tmp.resolve("plain.jsonl"), nulls = tmp.resolve("nulls.jsonl");
        Files.writeString(plain, "{\"epoch\":1,\"train_objective\":-200,\"test_objective\":-190}\n"
                + "{\"epoch\":2,\"train_objective\":-150,\"test_objective\":-160}\n");
        Files.writeString(nulls, "{\"epoch\":1,\"train_objective\":-200,\"test_objective\":-190,\"validation_objective\":null}\n"
                + "{\"epoch\":2,\"train_objective\":-150,\"test_objective\":-160,\"validation_objective\":null}\n");
        chart = Plots.curvesChart(Plots.readCurves(plain), "t");
        assertEquals(java.util.List.of("train", "test"), java.util.List.copyOf(chart.getSeriesMap().keySet()));
        Path a = tmp.resolve("plain.png"), b = tmp.resolve("nulls.png");
        assertTrue(Plots.lossCurves(plain, a, "t"));
        assertTrue(Plots.lossCurves(nulls, b, "t"));
        img = ImageIO.read(a.toFile());
        assertEquals(0, count(img, 0x2ca02c) + count(img, 0xd62728), "no validation line, no ring");
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    /**
     * A long run (here 1,000 epochs of -90 - 80 / epoch) gets a logarithmic epoch axis: a quarter of
     * the way across, the train line is still well below where it ends (about epoch 3 there), where a
     * linear axis (about epoch 170 there) would have drawn it at its final height.
     */
    @Test
    void aLongRunsCurvesShowTheEarlyEpochsOnALogAxis() throws IOException {
        Path log = tmp.resolve("log.jsonl"), png = tmp.resolve("c.png");
        StringBuilder b = new StringBuilder();
        for (int e = 1; e <= 1000; e++) {
            b.append("{\"epoch\":").append(e).append(",\"train_elbo\":").append(-90 - 80.0 / e)
                    .append(",\"test_elbo\":").append(-91 - 80.0 / e).append("}\n");
        }
        Files.writeString(log, b);
        assertTrue(Plots.logEpochAxis(Plots.readCurves(log).epochs()));
        assertFalse(Plots.logEpochAxis(new double[] {1, 2, 99}), "short runs keep the linear axis");
        assertFalse(Plots.logEpochAxis(new double[] {0, 500}), "no log axis through epoch 0");
        assertTrue(Plots.lossCurves(log, png, "t"));
        BufferedImage img = ImageIO.read(png.toFile());
        double quarter = blueRow(img, img.getWidth() / 4), end = blueRow(img, img.getWidth() * 9 / 10);
        assertTrue(quarter - end > 40, "the train line a quarter across (row " + quarter + ") is well below its end (row " + end + ")");
    }

    /** The topmost row of the train line's colour (near 0x1f77b4) in column x (the legend's sample sits below the curves); NaN if none. */
    private static double blueRow(BufferedImage img, int x) {
        for (int y = 0; y < img.getHeight(); y++) {
            int rgb = img.getRGB(x, y);
            int r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, bl = rgb & 0xff;
            if (Math.abs(r - 0x1f) + Math.abs(g - 0x77) + Math.abs(bl - 0xb4) < 60) return y;
        }
        return Double.NaN;
    }

    @Test
    void aLogWithoutFiniteFiguresDrawsNothing() throws IOException {
        Path log = tmp.resolve("log.jsonl"), png = tmp.resolve("c.png");
        Files.writeString(log, "{\"epoch\":1,\"train_elbo\":null,\"test_elbo\":null}\n{\"event\":\"final\"}\n");
        assertFalse(Plots.lossCurves(log, png, "t"));
        assertFalse(Files.exists(png));
    }

    /** train's curves.png: a torn log line (a killed run) costs the picture with a warning, not the run. */
    @Test
    void aRunsCurvesSurviveATornLog() throws IOException {
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        Path log = run.resolve("log.jsonl");
        Files.writeString(log, "{\"epoch\":1,\"train_elbo\":-200,\"test_elbo\":-190}\n");
        java.io.StringWriter err = new java.io.StringWriter();
        assertEquals(run.resolve("curves.png"), Plots.runCurves(run, log, new java.io.PrintWriter(err)));
        assertEquals(Plots.CURVES_WIDTH, ImageIO.read(run.resolve("curves.png").toFile()).getWidth());
        assertEquals("", err.toString());
        Files.delete(run.resolve("curves.png"));
        Files.writeString(log, "{\"epoch\":1,\"train_e{\"epoch\":2,\"train_elbo\":-150}\n", java.nio.file.StandardOpenOption.APPEND);
        assertNull(Plots.runCurves(run, log, new java.io.PrintWriter(err)));
        assertTrue(err.toString().startsWith("elbo4j train: warning: no curves.png: ") && err.toString().contains("line 2"), err.toString());
        assertFalse(Files.exists(run.resolve("curves.png")));
    }

    @Test
    void scatterPlotColoursEachLabel() throws IOException {
        int n = 300;
        float[] codes = new float[2 * n];
        int[] labels = new int[n];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < n; i++) {
            labels[i] = i % 10;
            codes[2 * i] = (float) (labels[i] + 0.2 * r.nextGaussian());
            codes[2 * i + 1] = (float) r.nextGaussian();
        }
        Path png = tmp.resolve("s.png");
        Plots.scatter(png, codes, labels, "codes");
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(Plots.SCATTER_WIDTH, img.getWidth());
        assertEquals(Plots.SCATTER_HEIGHT, img.getHeight());
        assertTrue(colours(img) > 20, "ten label colours, text and axes: " + colours(img));
    }
}
