package dev.elbo4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "curves", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Plot a run's loss curves: the train and test objective (ELBO, or -loss for autoencoders; nats "
                + "per example, higher is better) per epoch from its log.jsonl, as a " + Plots.CURVES_WIDTH + "x"
                + Plots.CURVES_HEIGHT + " PNG line plot with axes, legend and title (a run of " + Plots.LOG_AXIS_FROM
                + " epochs or more on a logarithmic epoch axis). A run trained with --validation gets its validation "
                + "line too, and one that kept a best epoch (--keep-best, --early-stop) a ring on that epoch's point.",
                "`elbo4j train` writes the same plot to curves.png in the run folder when it ends."})
final class LatentCurvesCommand implements Callable<Integer> {

    @Option(names = {"-c", "--checkpoint"}, paramLabel = "RUN",
            description = "Run folder holding log.jsonl, or the log file itself (default: runs/default), as the other commands take it.")
    Path checkpoint;
    @Parameters(index = "0", paramLabel = "RUN", arity = "0..1",
            description = "The run folder or log file, as a positional argument (the same as -c).")
    Path positional;
    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", description = "Output PNG (default: curves.png in the run folder).")
    Path out;
    @Option(names = "--title", paramLabel = "TEXT", description = "Plot title (default: names the run folder).")
    String title;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        if (checkpoint != null && positional != null) throw new Main.UsageException("give the run once: -c RUN or RUN, not both");
        Path run = checkpoint != null ? checkpoint : positional != null ? positional : Path.of("runs/default");
        Path log = Files.isDirectory(run) ? run.resolve("log.jsonl") : run;
        if (!Files.isRegularFile(log)) {
            throw new Main.UsageException("RUN " + run + ": no log.jsonl there (a run folder written by `elbo4j train`)");
        }
        Path folder = log.toAbsolutePath().getParent();
        Path png = out != null ? out : folder.resolve("curves.png");
        String t = title != null ? title : defaultTitle(folder);
        if (!Plots.lossCurves(log, png, t)) {
            throw new IllegalArgumentException(log + ": no epoch with a finite train or test figure to plot");
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote the loss curves of %s to %s%n", log, png);
        return 0;
    }

    /** The title train's curves.png gets: "Training curves: " and the run folder's name. */
    static String defaultTitle(Path runFolder) {
        Path name = runFolder.toAbsolutePath().getFileName();
        return "Training curves: " + (name == null ? runFolder : name);
    }
}
