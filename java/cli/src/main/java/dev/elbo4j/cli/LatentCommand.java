package dev.elbo4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code elbo4j latent}: tools that look into a trained model's code space, and the run's loss curves. */
@Command(name = "latent", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Look into a trained model's latent space (models with a continuous code z: vae, cvae, m2).",
                "Inputs are test examples as the model sees them; their code is the posterior mean (with a planar flow, "
                        + "the mean pushed through the flow). "
                        + "Run `elbo4j latent SUBCOMMAND --help` for each subcommand's options."},
        subcommands = {LatentInterpolateCommand.class, LatentAttributeCommand.class, LatentManifoldCommand.class,
                LatentScatterCommand.class, LatentDensityCommand.class, LatentCurvesCommand.class})
final class LatentCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "a subcommand is required (interpolate, attribute, manifold, scatter, density, curves)");
    }
}
