package dev.elbo4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar on the error stream: redrawn in place at most ten times a second on a terminal,
 * and as a plain line at every quarter otherwise (logs, CI).
 */
final class Progress {
    private static final int WIDTH = 28;
    private final PrintWriter err;
    private final boolean interactive;
    private final boolean enabled;
    private String label;
    private long total;
    private long start;
    private long lastDraw;
    private int lastQuarter;

    Progress(PrintWriter err, boolean enabled) {
        this.err = err;
        this.enabled = enabled;
        this.interactive = System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    void begin(String label, long total, long done) {
        this.label = label;
        this.total = Math.max(1, total);
        this.start = System.nanoTime();
        this.lastDraw = 0;
        this.lastQuarter = (int) (4 * done / this.total);
    }

    /** {@code done} of total units finished; {@code rateUnit} names what the rate counts. */
    void update(long done, double unitsPerItem, String rateUnit, String extra) {
        update(done, unitsPerItem, rateUnit, () -> extra);
    }

    /** As above, with the extra text computed only when the line is drawn (e.g. a running loss read from the device). */
    void update(long done, double unitsPerItem, String rateUnit, java.util.function.Supplier<String> extraText) {
        if (!enabled) return;
        long now = System.nanoTime();
        int quarter = (int) (4 * done / total);
        boolean last = done >= total;
        if (interactive) {
            if (!last && now - lastDraw < 100_000_000L) return;
        } else if (quarter == lastQuarter && !last) {
            return;
        }
        lastDraw = now;
        lastQuarter = quarter;
        String extra = extraText.get();
        double secs = (now - start) / 1e9;
        double rate = secs > 0 ? done * unitsPerItem / secs : 0;
        double eta = done > 0 ? secs * (total - done) / done : 0;
        int filled = (int) (WIDTH * done / total);
        String bar = "=".repeat(filled) + (filled < WIDTH ? ">" + " ".repeat(WIDTH - filled - 1) : "");
        String line = String.format(Locale.ROOT, "%s [%s] %d/%d  %.0f %s  %s%s", label, bar, done, total, rate, rateUnit,
                last ? "in " + clock(secs) : "eta " + clock(eta), extra == null ? "" : "  " + extra);
        if (interactive) {
            err.print("\r" + line + (last ? "\n" : ""));
        } else {
            err.println(line);
        }
        err.flush();
    }

    /** Erases a bar drawn in place, so that a message can take the line (no-op when not interactive). */
    void clear() {
        if (enabled && interactive && lastDraw != 0) {
            err.print("\r" + " ".repeat(100) + "\r");
            err.flush();
        }
    }

    private static String clock(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                : String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
}
