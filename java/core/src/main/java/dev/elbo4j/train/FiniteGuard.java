package dev.elbo4j.train;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.TrainStep;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.Tensor;

import java.util.Locale;

/**
 * The per-step NaN/Inf check of a {@link Trainer}, run after the backward pass and before Adam's
 * update. The check itself reads two things from the backend: the batch's mean loss (two small
 * sums) and whether the gradient buffer is all finite ({@link dev.elbo4j.backend.Backend#allFinite}:
 * on the CPU a vectorised scan, elsewhere by default one sum, which a NaN or infinity anywhere makes
 * non-finite). Only when that fails does it download the tensors one by one to name the first bad one.
 */
final class FiniteGuard {
    private final Model model;

    FiniteGuard(Model model) {
        this.model = model;
    }

    /** True when the last pass's loss and every gradient are finite. */
    boolean stepIsFinite(TrainStep pass) {
        return Double.isFinite(pass.meanLoss()) && model.backend().allFinite(model.parameters().grads());
    }

    /**
     * True when every parameter is finite: run after each update, so that an update that
     * overflows (finite gradients, a huge step) is caught at its own step.
     */
    boolean parametersFinite() {
        return model.backend().allFinite(model.parameters().values());
    }

    /** True when some parameter value is NaN or infinite. */
    boolean parametersBad() {
        return firstBad(true) != null;
    }

    /**
     * Names the first non-finite tensor, searching where the fault most likely started: the
     * parameters (in checkpoint order), then the loss terms, then the gradients. Where every value
     * is finite, the loss's sum overflowed (an F64 model's terms can): the first term whose own sum
     * is not finite, else the loss as a whole (its terms' finite sums overflowed when combined).
     */
    String diagnose(TrainStep pass) {
        String p = firstBad(true);
        if (p != null) return p;
        Backend be = model.backend();
        for (var term : pass.lossTerms().entrySet()) {
            String r = describe(term.getKey(), be.download(term.getValue()));
            if (r != null) return r;
        }
        String g = firstBad(false);
        if (g != null) return g;
        for (var term : pass.lossTerms().entrySet()) {
            if (!Double.isFinite(be.sum(term.getValue()))) return term.getKey() + " (its sum overflowed; every element is finite)";
        }
        return "loss (the sum overflowed; every element is finite)";
    }

    private String firstBad(boolean values) {
        Parameters ps = model.parameters();
        Backend be = model.backend();
        for (Parameters.Spec s : ps.specs()) {
            Tensor t = values ? ps.value(s.name()) : ps.grad(s.name());
            String d = describe((values ? "parameter " : "gradient of ") + s.name(), be.download(t));
            if (d != null) return d;
        }
        return null;
    }

    /** As {@link #describe(String, double[])}, for a tensor read from a file. */
    static String describe(String name, float[] v) {
        int first = -1;
        for (int i = 0; i < v.length && first < 0; i++) if (!Float.isFinite(v[i])) first = i;
        if (first < 0) return null;
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return describe(name, d);
    }

    /** "NAME (k of n values non-finite, first at index i: NaN)", or null when all are finite. */
    static String describe(String name, double[] v) {
        int bad = 0, first = -1;
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                if (first < 0) first = i;
                bad++;
            }
        }
        if (bad == 0) return null;
        return String.format(Locale.ROOT, "%s (%d of %d values non-finite, first at index %d: %s)",
                name, bad, v.length, first, v[first]);
    }

    /** The tensor's name without the count, e.g. "gradient of decoder.1.weight". */
    static String nameOf(String description) {
        int i = description.indexOf(" (");
        return i < 0 ? description : description.substring(0, i);
    }
}
