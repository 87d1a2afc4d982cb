package dev.elbo4j.cli;

import dev.elbo4j.model.Dbn;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.Rbm;

/** {@code sample --gibbs-steps}: the chain length of the energy-based models. */
final class GibbsSteps {
    private GibbsSteps() {
    }

    /** Sets the sampling chains' sweeps of an RBM or DBN; a usage error for other models or N < 1. */
    static void apply(Model m, int steps) {
        if (steps < 1) throw new Main.UsageException("--gibbs-steps must be >= 1, got " + steps);
        if (m instanceof Rbm r) r.sampleGibbsSteps(steps);
        else if (m instanceof Dbn d) d.sampleGibbsSteps(steps);
        else throw new Main.UsageException("--gibbs-steps: the checkpoint's '" + m.config().type()
                    + "' model does not sample by Gibbs chains (rbm and dbn do)");
    }
}
