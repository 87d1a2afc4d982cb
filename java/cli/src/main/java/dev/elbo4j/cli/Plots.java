package dev.elbo4j.cli;

import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.Json;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Line and scatter plots as PNG files, drawn with XChart onto an off-screen image (no display is
 * needed: the JVM runs headless) and written atomically with javax.imageio.
 */
final class Plots {
    /** Size of the loss-curve plot in pixels. */
    static final int CURVES_WIDTH = 800, CURVES_HEIGHT = 500;
    /** Size of the latent scatter plot in pixels. */
    static final int SCATTER_WIDTH = 900, SCATTER_HEIGHT = 800;

    /** Ten colours that stay apart for colour-blind readers too (Tableau 10), for up to ten classes. */
    private static final Color[] PALETTE = {
            new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
            new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)};

    static {
        // Java2D without a display; must be set before the AWT toolkit loads.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /**
     * The per-epoch figures of a run's log.jsonl: for each line holding an {@code "epoch"} number,
     * its {@code train_objective} and {@code test_objective}, or in logs written before those keys
     * existed (and in hand-written ones) its {@code train_elbo} and {@code test_elbo} (NaN where
     * absent or null, as RunLog writes non-finite values); {@code validation} its
     * {@code validation_objective} (train --validation; NaN where absent). {@code objective} is the
     * name the last such line gives the figures ({@code "objective"}, e.g. "ELBO", "IWAE bound",
     * "-loss"), null if none does (older logs). {@code bestEpoch} is the last epoch whose line says
     * {@code "best": true} (train --keep-best or --early-stop: the epoch kept), NaN if none. A resumed
     * run may log an epoch twice; the later line wins. Epochs are sorted ascending.
     */
    record Curves(double[] epochs, double[] train, double[] test, double[] validation, String objective, double bestEpoch) {
        int size() {
            return epochs.length;
        }

        /** Whether any epoch has a finite validation figure. */
        boolean hasValidation() {
            for (double v : validation) if (Double.isFinite(v)) return true;
            return false;
        }
    }

    /**
     * Reads {@code log} (one JSON object per line; blank lines skipped; lines without "epoch",
     * like the final summary, ignored).
     *
     * @throws IllegalArgumentException naming the file and line for a line that is not a JSON
     *     object or whose epoch is not a number
     */
    static Curves readCurves(Path log) throws IOException {
        TreeMap<Double, double[]> byEpoch = new TreeMap<>();
        String objective = null;
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            Map<String, Object> rec;
            try {
                rec = Json.parseObject(line);
            } catch (Json.ParseException e) {
                throw new IllegalArgumentException(log + " line " + (i + 1) + ": not a JSON object (" + e.getMessage() + ")");
            }
            if (!rec.containsKey("epoch")) continue;
            if (!(rec.get("epoch") instanceof Number epoch)) {
                throw new IllegalArgumentException(log + " line " + (i + 1) + ": \"epoch\" is " + Json.typeName(rec.get("epoch"))
                        + ", not a number");
            }
            byEpoch.put(epoch.doubleValue(), new double[]{figure(rec, "train"), figure(rec, "test"),
                    number(rec.get("validation_objective")), Boolean.TRUE.equals(rec.get("best")) ? 1 : 0});
            if (rec.get("objective") instanceof String name) objective = name;
        }
        int n = byEpoch.size(), k = 0;
        double[] e = new double[n], tr = new double[n], te = new double[n], va = new double[n];
        double best = Double.NaN;
        for (var entry : byEpoch.entrySet()) {
            e[k] = entry.getKey();
            tr[k] = entry.getValue()[0];
            te[k] = entry.getValue()[1];
            va[k++] = entry.getValue()[2];
            if (entry.getValue()[3] == 1) best = entry.getKey();
        }
        return new Curves(e, tr, te, va, objective, best);
    }

    /** {@code split_objective} if the line has that key, else {@code split_elbo} (older logs). */
    private static double figure(Map<String, Object> rec, String split) {
        String key = split + "_objective";
        return number(rec.containsKey(key) ? rec.get(key) : rec.get(split + "_elbo"));
    }

    private static double number(Object v) {
        return v instanceof Number x ? x.doubleValue() : Double.NaN;
    }

    /**
     * Writes the train and test curves of {@code log} (see {@link #readCurves}) as a
     * {@value #CURVES_WIDTH} x {@value #CURVES_HEIGHT} PNG line plot: x the epoch, y nats per
     * example (higher is better), one line with markers per series, a legend and {@code title}; a run
     * of {@value #LOG_AXIS_FROM} epochs or more gets a logarithmic epoch axis and no markers. A log
     * with validation figures adds their line, and one whose run kept a best epoch rings that
     * epoch's point on the figure selected on (validation, else test). Non-finite points are left
     * out of their series. Returns false, writing nothing, when the log has no epoch with a finite
     * figure.
     */
    static boolean lossCurves(Path log, Path png, String title) throws IOException {
        XYChart chart = curvesChart(readCurves(log), title);
        if (chart == null) return false;
        write(chart, CURVES_WIDTH, CURVES_HEIGHT, png);
        return true;
    }

    /** The colours of the curves: train, test, validation, and the ring around the best epoch. */
    static final Color TRAIN = PALETTE[0], TEST = PALETTE[1], VALIDATION = PALETTE[2], BEST = PALETTE[3];

    /** {@link #lossCurves}'s chart of {@code c}, or null when it has no finite figure. */
    static XYChart curvesChart(Curves c, String title) {
        XYChart chart = new XYChart(CURVES_WIDTH, CURVES_HEIGHT);
        chart.setTitle(title);
        chart.setXAxisTitle("epoch");
        chart.setYAxisTitle("nats per example (" + (c.objective() != null ? c.objective() : "ELBO or -loss")
                + "; higher is better)");
        style(chart);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        boolean longRun = logEpochAxis(c.epochs());
        if (longRun) {
            // Hundreds of epochs: a log axis shows the first epochs' fall and the long tail alike, and
            // markers would merge into a band.
            chart.getStyler().setXAxisLogarithmic(true);
            chart.setXAxisTitle("epoch (log scale)");
        }
        chart.getStyler().setMarkerSize(7);
        chart.getStyler().setXAxisDecimalPattern("0.#");
        chart.getStyler().setYAxisDecimalPattern("0.0");
        boolean any = addLine(chart, "train", c.epochs(), c.train(), TRAIN, !longRun);
        any |= addLine(chart, "test", c.epochs(), c.test(), TEST, !longRun);
        boolean validation = c.hasValidation();
        if (validation) any |= addLine(chart, "validation", c.epochs(), c.validation(), VALIDATION, !longRun);
        if (!any) return null;
        if (!Double.isNaN(c.bestEpoch())) {
            int i = java.util.Arrays.binarySearch(c.epochs(), c.bestEpoch());
            double y = validation ? c.validation()[i] : c.test()[i];
            if (Double.isFinite(y)) {
                XYSeries s = chart.addSeries(String.format(Locale.ROOT, "best (epoch %.0f, %s)", c.bestEpoch(),
                        validation ? "validation" : "test"), new double[]{c.bestEpoch()}, new double[]{y});
                s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                s.setMarker(new Ring());
                s.setMarkerColor(BEST);
            }
        }
        return chart;
    }

    /** A hollow circle three marker sizes across: rings a point of a line without hiding it. */
    private static final class Ring extends org.knowm.xchart.style.markers.Marker {
        @Override
        public void paint(Graphics2D g, double x, double y, int markerSize) {
            double d = 3.0 * markerSize;
            g.setStroke(new BasicStroke(2.5f));
            g.draw(new java.awt.geom.Ellipse2D.Double(x - d / 2, y - d / 2, d, d));
        }
    }

    /**
     * The end of {@code elbo4j train}: {@link #lossCurves} of the run's log into
     * {@code runFolder/curves.png}, titled by {@link LatentCurvesCommand#defaultTitle}. A log that
     * cannot be plotted (a line torn by a killed run, no finite figure) costs the picture, not the
     * run: a warning on {@code err} and null. Returns the PNG's path when written.
     */
    static Path runCurves(Path runFolder, Path log, PrintWriter err) throws IOException {
        Path png = runFolder.resolve("curves.png");
        try {
            if (lossCurves(log, png, LatentCurvesCommand.defaultTitle(runFolder))) return png;
            err.println("elbo4j train: warning: no curves.png: " + log + " has no finite figure to plot");
        } catch (IllegalArgumentException e) {
            err.println("elbo4j train: warning: no curves.png: " + e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // Java2D without fonts (no fontconfig) fails here; the run itself is complete and saved.
            err.println("elbo4j train: warning: no curves.png: drawing failed (" + e
                    + "); `make deps` installs the fonts the plots need");
        }
        err.flush();
        return null;
    }

    /** Whether a run's curves take a logarithmic epoch axis: from epoch >= 1 to at least {@value #LOG_AXIS_FROM}. */
    static boolean logEpochAxis(double[] epochs) {
        if (epochs.length == 0) return false;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double e : epochs) {
            lo = Math.min(lo, e);
            hi = Math.max(hi, e);
        }
        return lo >= 1 && hi >= LOG_AXIS_FROM;
    }

    static final int LOG_AXIS_FROM = 100;

    private static boolean addLine(XYChart chart, String name, double[] x, double[] y, Color color, boolean markers) {
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(y[i])) {
                xs.add(x[i]);
                ys.add(y[i]);
            }
        }
        if (xs.isEmpty()) return false;
        XYSeries s = chart.addSeries(name, xs, ys);
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setLineStyle(new BasicStroke(2f));
        s.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        return true;
    }

    /**
     * Writes 2-D codes ({@code codes} N x 2, flat) as a {@value #SCATTER_WIDTH} x
     * {@value #SCATTER_HEIGHT} PNG scatter plot, x = z_1, y = z_2, one colour per label with a
     * legend entry "label L (count)"; {@code labels} may be null (one series "test inputs").
     * Labels beyond the ten palette colours reuse them in order.
     */
    static void scatter(Path png, float[] codes, int[] labels, String title) throws IOException {
        int n = codes.length / 2;
        TreeMap<Integer, List<Integer>> byLabel = new TreeMap<>();
        for (int i = 0; i < n; i++) byLabel.computeIfAbsent(labels == null ? -1 : labels[i], k -> new ArrayList<>()).add(i);
        XYChart chart = new XYChart(SCATTER_WIDTH, SCATTER_HEIGHT);
        chart.setTitle(title);
        chart.setXAxisTitle("z1");
        chart.setYAxisTitle("z2");
        style(chart);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setMarkerSize(4);
        int k = 0;
        for (var e : byLabel.entrySet()) {
            List<Integer> rows = e.getValue();
            double[] x = new double[rows.size()], y = new double[rows.size()];
            for (int j = 0; j < x.length; j++) {
                x[j] = codes[rows.get(j) * 2];
                y[j] = codes[rows.get(j) * 2 + 1];
            }
            String name = e.getKey() < 0 ? "test inputs" : String.format(Locale.ROOT, "label %d (%d)", e.getKey(), x.length);
            XYSeries s = chart.addSeries(name, x, y);
            Color c = PALETTE[k++ % PALETTE.length];
            s.setMarkerColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 150));
            s.setMarker(SeriesMarkers.CIRCLE);
        }
        write(chart, SCATTER_WIDTH, SCATTER_HEIGHT, png);
    }

    private static void style(XYChart chart) {
        XYStyler st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setLegendBorderColor(Color.LIGHT_GRAY);
        st.setAntiAlias(true);
        st.setLocale(Locale.ROOT);
    }

    /** Paints the chart onto a width x height RGB image and writes it as PNG through {@link AtomicFiles}. */
    private static void write(XYChart chart, int width, int height, Path png) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            chart.paint(g, width, height);
        } finally {
            g.dispose();
        }
        AtomicFiles.write(png, out -> {
            // In-memory cache: ImageIO's default file cache would write to java.io.tmpdir.
            try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
                if (!ImageIO.write(img, "png", ios)) throw new IOException("this JDK has no PNG writer (javax.imageio)");
            }
        });
    }
}
