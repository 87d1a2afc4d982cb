package dev.elbo4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "scatter", sortOptions = false, mixinStandardHelpOptions = true,
        description = "For a 2-D latent space: plot the codes (posterior means) of the test inputs, coloured by "
                + "label, with a legend, as a " + Plots.SCATTER_WIDTH + "x" + Plots.SCATTER_HEIGHT + " PNG.")
final class LatentScatterCommand implements Callable<Integer> {

    @Mixin
    LatentOptions common = new LatentOptions();

    @Option(names = {"-o", "--out"}, paramLabel = "FILE.png", defaultValue = "scatter.png", description = "Output PNG (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--title", paramLabel = "TEXT", description = "Plot title (default: names the checkpoint and the data).")
    String title;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Flags.output("--out", out, ".png");
        Flags.writable(out);
        try (LatentSession s = common.open(spec.commandLine().getErr(), "latent scatter")) {
            float[] codes = s.encodeAll();
            Path dataName = Path.of(common.data.name()).getFileName();
            String t = title != null ? title : String.format(Locale.ROOT, "Codes of %d %s test inputs (%s, %s)", s.n(),
                    dataName == null ? common.data.name() : dataName, s.model.config().type(),
                    common.checkpoint.path.getFileName());
            Plots.scatter(out, codes, s.labels(), t);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote the codes of %d test inputs to %s%n", s.n(), out);
        }
        return 0;
    }
}
