package dev.elbo4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code train --preset NAME}: a published setting written as the {@code train} flags that give it.
 * A preset's flags fill in every option the command line did not name; an option given explicitly
 * keeps the command line's value.
 */
final class Presets {

    /**
     * One published setting.
     *
     * @param source where every value comes from, and anything it could not match
     * @param flags  the {@code train} flags, in pairs of name and value
     */
    record Preset(String name, String source, List<String> flags) {
    }

    /** Burda, Grosse and Salakhutdinov (2015), section 5 and Table 1, one stochastic layer. */
    private static final List<String> BURDA2015_NET = List.of(
            "--model", "vae", "--hidden", "200,200", "--latent", "50", "--activation", "tanh", "--likelihood", "bernoulli",
            "--binarize", "dynamic", "--batch-size", "20", "--lr", "1e-3", "--adam-eps", "1e-4", "--lr-schedule", "burda2015",
            "--epochs", "3280", "--eval-k", "5000");

    static final Map<String, Preset> ALL = new LinkedHashMap<>();

    static {
        add(new Preset("burda2015-vae", "Burda, Grosse & Salakhutdinov (2015), Table 1, one stochastic layer, VAE k=1 "
                + "(paper: test log p(x) -86.76, k = 5000): 784-200-200-50 tanh, Bernoulli, dynamically binarised MNIST, "
                + "batch 20, Adam beta1 0.9 beta2 0.999 eps 1e-4, lr 1e-3 * 10^(-i/7) for 3^i epochs, i = 0..7",
                concat(BURDA2015_NET, List.of("--objective", "elbo", "--samples", "1"))));
        add(new Preset("burda2015-iwae5", "Burda, Grosse & Salakhutdinov (2015), Table 1, one stochastic layer, IWAE k=5 "
                + "(paper: -85.54): the burda2015-vae setting with the importance-weighted bound, k = 5",
                concat(BURDA2015_NET, List.of("--objective", "iwae", "--samples", "5"))));
        add(new Preset("kingma2014-m2", "Kingma, Rezende, Mohamed & Welling (2014), M2 with 100 labels (paper: 88.03% "
                + "test accuracy); network and optimiser of Pyro's SS-VAE example (examples/vae/ss_vae_M2.py): one hidden "
                + "layer of 500 in each network, z = 50, Adam lr 3e-4 (0.9, 0.999), batch 200, 100 epochs, but ReLU for "
                + "its softplus (elbo4j has no softplus); the objective is elbo4j's M2 default, beta 3 and alpha 50, not "
                + "the paper's beta 1: with beta 1 this network's test accuracy fell from 76.4% to 70.8% over the first "
                + "three epochs (docs/MODELS.md, \"Reproduced\")",
                List.of("--model", "m2", "--hidden", "500", "--latent", "50", "--activation", "relu", "--likelihood", "bernoulli",
                        "--labels", "100", "--beta", "3", "--alpha", "50", "--binarize", "dynamic", "--batch-size", "200",
                        "--lr", "3e-4", "--adam-eps", "1e-8", "--lr-schedule", "constant", "--epochs", "100")));
    }

    private static void add(Preset p) {
        if (p.flags().size() % 2 != 0) throw new IllegalStateException("preset " + p.name() + ": flags must come in pairs");
        ALL.put(p.name(), p);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return List.copyOf(l);
    }

    /** The names, for --help. */
    static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ALL.keySet().iterator();
        }
    }

    /**
     * What a preset did: its flags as applied and those the command line overrode.
     *
     * @param applied    flag and value pairs taken from the preset
     * @param overridden preset flags the command line gave explicitly (their command-line values stand)
     */
    record Applied(Preset preset, List<String> applied, List<String> overridden) {
        String describe() {
            return "preset " + preset.name() + ": " + preset.source() + "\n  preset flags: " + String.join(" ", preset.flags())
                    + (overridden.isEmpty() ? "" : "\n  given explicitly, overriding the preset: " + String.join(", ", overridden));
        }
    }

    /**
     * Sets every option of {@code name}'s preset that the command line of {@code command} did not
     * give; marks the applied flags in {@code model} as given (its checks tell given flags from defaults).
     *
     * @throws Main.UsageException for an unknown name
     */
    static Applied apply(String name, CommandSpec command, ModelOptions model) {
        Preset p = ALL.get(name);
        if (p == null) {
            throw new Main.UsageException("--preset must be one of " + String.join(", ", ALL.keySet()) + ", got '" + name + "'");
        }
        // The preset's flags parsed by a command of their own give typed values to copy over.
        CommandLine scratch = new CommandLine(new TrainCommand());
        scratch.parseArgs(p.flags().toArray(String[]::new));
        CommandLine.ParseResult given = command.commandLine().getParseResult();
        List<String> applied = new ArrayList<>(), overridden = new ArrayList<>();
        for (int i = 0; i < p.flags().size(); i += 2) {
            String flag = p.flags().get(i);
            if (given != null && given.hasMatchedOption(flag)) {
                overridden.add(flag);
                continue;
            }
            OptionSpec to = command.findOption(flag), from = scratch.getCommandSpec().findOption(flag);
            to.setValue(from.getValue());
            model.presetFlags.add(flag);
            applied.add(flag + " " + p.flags().get(i + 1));
        }
        return new Applied(p, applied, overridden);
    }

    private Presets() {
    }
}
