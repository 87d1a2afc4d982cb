package dev.elbo4j.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A ready {@link TrainListener} that prints one line per epoch, as the CLI does:
 * {@code epoch 3/10: train ELBO -110.21, test ELBO -108.30 nats (2.5 s)}, and
 * a line for every skipped batch. Pass {@code System.err} or {@code System.out}.
 */
public class PrintingListener implements TrainListener {
    private final PrintStream out;
    private final int epochs;

    /**
     * A listener printing one line per epoch (and one per skipped batch) to {@code out}.
     *
     * @param out where the lines go
     * @param epochs the run's epoch count, for "epoch e/N" (0 prints "epoch e")
     */
    public PrintingListener(PrintStream out, int epochs) {
        this.out = out;
        this.epochs = epochs;
    }

    /** Lines without the total: "epoch e: ...". */
    public PrintingListener(PrintStream out) {
        this(out, 0);
    }

    @Override
    public void stepSkipped(int epoch, int stepInEpoch, long step, String what) {
        out.printf(Locale.ROOT, "skipped batch %d of epoch %d (step %d): %s%n", stepInEpoch, epoch + 1, step, what);
    }

    @Override
    public void epochEnd(EpochResult r) {
        out.println(line(r, epochs));
    }

    /** The line printed for {@code r}. */
    public static String line(EpochResult r, int epochs) {
        return String.format(Locale.ROOT, "epoch %d%s: train ELBO %.2f, test ELBO %.2f nats (%.1f s)", r.epoch(),
                epochs > 0 ? "/" + epochs : "", r.trainElbo(), r.testElbo(), r.seconds());
    }
}
