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
 * A deep belief net: a stack of binary RBMs D-H1, H1-H2, ..., trained greedily, one layer at a
 * time, for {@code layerSteps} optimizer steps each (the last layer trains on until the run ends).
 *
 * @param inputDim   D, pixels per example
 * @param hidden     H1, H2, ..., the hidden sizes bottom up (the last pair is the top RBM)
 * @param cdK        Gibbs sweeps of each layer's CD-k
 * @param persistent persistent CD for each layer
 * @param layerSteps optimizer steps per layer: layer l trains during steps [l S, (l + 1) S)
 * @param gibbsSteps sweeps of the top RBM's sampling chains
 */
public record DbnConfig(int inputDim, int[] hidden, int cdK, boolean persistent, int layerSteps, int gibbsSteps)
        implements ModelConfig {
    /** Default steps per layer: 6,000 (10 epochs of MNIST at batch 100). */
    public static final int DEFAULT_LAYER_STEPS = 6000;

    /**
     * Copies {@code hidden} and checks the settings: positive sizes, at least one hidden layer, and
     * {@code cdK}, {@code layerSteps} and {@code gibbsSteps} of at least 1.
     *
     * @throws IllegalArgumentException naming the setting (as its CLI flag) that does not hold
     */
    public DbnConfig {
        hidden = hidden.clone();
        if (inputDim < 1) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (hidden.length < 1) throw new IllegalArgumentException("a DBN needs at least one hidden layer (--hidden)");
        for (int h : hidden) if (h < 1) throw new IllegalArgumentException("--hidden sizes must be positive: " + Arrays.toString(hidden));
        if (cdK < 1) throw new IllegalArgumentException("--cd-k must be >= 1, got " + cdK);
        if (layerSteps < 1) throw new IllegalArgumentException("--layer-steps must be >= 1, got " + layerSteps);
        if (gibbsSteps < 1) throw new IllegalArgumentException("--gibbs-steps must be >= 1, got " + gibbsSteps);
    }

    /** A copy of the hidden sizes, bottom up. */
    @Override
    public int[] hidden() {
        return hidden.clone();
    }

    /** Layers (RBMs) in the stack. */
    public int layers() {
        return hidden.length;
    }

    /** Visible size of layer l: D for l = 0, else H_l. */
    public int visibleOf(int l) {
        return l == 0 ? inputDim : hidden[l - 1];
    }

    /** 3e-3: at Adam's usual 1e-3 the visible biases barely move in an epoch and samples stay grey (docs/RBM.md). */
    @Override
    public double defaultLearningRate() {
        return 3e-3;
    }

    @Override
    public String type() {
        return "dbn";
    }

    /** The loss is the reconstruction cross-entropy of the layer in training; the objective its negative. */
    @Override
    public String objectiveName() {
        return "-recon CE";
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Dbn.parameterLayout(this);
    }

    @Override
    public Dbn create(Backend backend, DType dtype, long seed) {
        return Dbn.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("hidden", hidden);
        m.put("cd_k", cdK);
        m.put("pcd", persistent);
        m.put("layer_steps", layerSteps);
        m.put("gibbs_steps", gibbsSteps);
        return m;
    }

    /** The inverse of {@link #toJson}. */
    public static DbnConfig fromJson(Map<String, Object> m) {
        return new DbnConfig(JsonFields.integer(m, "input_dim"), JsonFields.ints(m, "hidden"), JsonFields.integer(m, "cd_k"),
                JsonFields.bool(m, "pcd"), JsonFields.integer(m, "layer_steps"), JsonFields.integer(m, "gibbs_steps"));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DbnConfig c && inputDim == c.inputDim && Arrays.equals(hidden, c.hidden) && cdK == c.cdK
                && persistent == c.persistent && layerSteps == c.layerSteps && gibbsSteps == c.gibbsSteps;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new int[]{inputDim, Arrays.hashCode(hidden), cdK, persistent ? 1 : 0, layerSteps, gibbsSteps});
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("DBN ").append(inputDim);
        for (int h : hidden) b.append('-').append(h);
        return b.append(String.format(Locale.ROOT, ", greedy %s-%d, %d steps per layer", persistent ? "PCD" : "CD", cdK, layerSteps))
                .toString();
    }
}
