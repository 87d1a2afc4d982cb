package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The architecture of a {@link Nice} flow (type "nice"). Defaults: 4 additive coupling layers,
 * each shift function a ReLU MLP with one hidden layer of 400 units, the logistic prior. The
 * paper's MNIST model has 5 hidden layers of 1000 units per coupling; the smaller default trains
 * an epoch of MNIST in well under a minute on two CPU cores.
 *
 * @param inputDim  D, pixels per example (at least 2)
 * @param couplings number of additive coupling layers (at least 1; even/odd halves alternate)
 * @param hidden    hidden sizes of every coupling's shift MLP
 * @param logistic  the prior p_H: standard logistic (true) or standard normal (false)
 */
public record NiceConfig(int inputDim, int couplings, int[] hidden, boolean logistic) implements ModelConfig {

    /**
     * Copies {@code hidden} and checks the settings: at least 2 inputs, at least one coupling, positive hidden
     * sizes.
     *
     * @throws IllegalArgumentException naming the setting that does not hold
     */
    public NiceConfig {
        hidden = hidden.clone();
        if (inputDim < 2) throw new IllegalArgumentException("NICE needs at least 2 input dimensions, got " + inputDim);
        if (couplings < 1) throw new IllegalArgumentException("coupling layers must be >= 1, got " + couplings);
        for (int h : hidden) if (h <= 0) throw new IllegalArgumentException("coupling hidden sizes must be positive: " + Arrays.toString(hidden));
    }

    /** A copy of the shift MLPs' hidden sizes. */
    @Override
    public int[] hidden() {
        return hidden.clone();
    }

    /** 3e-3: in short runs NICE spends its first epochs growing the scaling layer at 1e-3 (docs/FLOWS.md). */
    @Override
    public double defaultLearningRate() {
        return 3e-3;
    }

    /** NICE models the 256 grey levels (dequantised), never binarised pixels. */
    @Override
    public dev.elbo4j.backend.Binarization defaultBinarization() {
        return dev.elbo4j.backend.Binarization.NONE;
    }

    /** Refuses binarised training data: the flow's likelihood is of the 256 dequantised grey levels. */
    @Override
    public void checkTraining(dev.elbo4j.backend.Binarization binarization, double warmupEpochs) {
        checkWarmup(warmupEpochs);
        if (binarization != dev.elbo4j.backend.Binarization.NONE) {
            throw new IllegalArgumentException("--model nice models the 256 grey levels: it needs --binarize none, got "
                    + binarization.name().toLowerCase(Locale.ROOT));
        }
    }

    @Override
    public String type() {
        return "nice";
    }

    @Override
    public String objectiveName() {
        return "log-likelihood";
    }

    /** "logistic" or "gaussian". */
    public String priorName() {
        return logistic ? "logistic" : "gaussian";
    }

    /** Columns of the even half (pixels 0, 2, 4, ...): ceil(D/2). */
    public int evenDim() {
        return (inputDim + 1) / 2;
    }

    /** Columns of the odd half (pixels 1, 3, ...): floor(D/2). */
    public int oddDim() {
        return inputDim / 2;
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Nice.parameterLayout(this);
    }

    @Override
    public Nice create(Backend backend, DType dtype, long seed) {
        return Nice.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("couplings", couplings);
        m.put("hidden", hidden);
        m.put("prior", priorName());
        return m;
    }

    /** The inverse of {@link #toJson}. */
    public static NiceConfig fromJson(Map<String, Object> m) {
        return new NiceConfig(JsonFields.integer(m, "input_dim"), JsonFields.integer(m, "couplings"), JsonFields.ints(m, "hidden"),
                parsePrior(JsonFields.string(m, "prior")));
    }

    /** "logistic" -> true, "gaussian" -> false; anything else is an error naming the value. */
    public static boolean parsePrior(String prior) {
        return switch (prior.toLowerCase(Locale.ROOT)) {
            case "logistic" -> true;
            case "gaussian" -> false;
            default -> throw new IllegalArgumentException("prior must be logistic or gaussian, got '" + prior + "'");
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NiceConfig c && inputDim == c.inputDim && couplings == c.couplings && Arrays.equals(hidden, c.hidden)
                && logistic == c.logistic;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[]{inputDim, couplings, Arrays.hashCode(hidden), logistic});
    }

    @Override
    public String toString() {
        StringBuilder h = new StringBuilder();
        for (int v : hidden) h.append(v).append('-');
        return "NICE " + inputDim + ", " + couplings + " additive couplings " + evenDim() + "-" + h + oddDim()
                + " (relu), diagonal scaling, " + priorName() + " prior";
    }
}
