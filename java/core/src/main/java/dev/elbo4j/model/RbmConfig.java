package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A binary-binary {@link Rbm}: V visible units (the pixels), H hidden units, trained by CD-k or
 * persistent CD with k Gibbs sweeps per step.
 *
 * @param inputDim    V, pixels per example
 * @param hidden      H, hidden units
 * @param cdK         k, full Gibbs sweeps of the negative phase per training step (>= 1)
 * @param persistent  true: persistent CD (chains kept across steps), false: CD-k from the data
 * @param gibbsSteps  full Gibbs sweeps of a sampling chain from noise (samples.png, {@code elbo4j sample})
 */
public record RbmConfig(int inputDim, int hidden, int cdK, boolean persistent, int gibbsSteps) implements ModelConfig {
    /** Default sampling chain length (sweeps). */
    public static final int DEFAULT_GIBBS_STEPS = 1000;

    /**
     * Checks the settings: positive {@code inputDim} and {@code hidden}, and {@code cdK} and {@code gibbsSteps}
     * of at least 1.
     *
     * @throws IllegalArgumentException naming the setting (as its CLI flag where it has one) that does not hold
     */
    public RbmConfig {
        if (inputDim < 1) throw new IllegalArgumentException("input dimension must be positive, got " + inputDim);
        if (hidden < 1) throw new IllegalArgumentException("hidden units must be positive, got " + hidden);
        if (cdK < 1) throw new IllegalArgumentException("--cd-k must be >= 1, got " + cdK);
        if (gibbsSteps < 1) throw new IllegalArgumentException("--gibbs-steps must be >= 1, got " + gibbsSteps);
    }

    /** 3e-3: at Adam's usual 1e-3 the visible biases barely move in an epoch and samples stay grey (docs/RBM.md). */
    @Override
    public double defaultLearningRate() {
        return 3e-3;
    }

    @Override
    public String type() {
        return "rbm";
    }

    /** The training loss is the one-step reconstruction cross-entropy; the reported objective is its negative. */
    @Override
    public String objectiveName() {
        return "-recon CE";
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Rbm.parameterLayout(this);
    }

    @Override
    public Rbm create(Backend backend, DType dtype, long seed) {
        return Rbm.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        m.put("hidden", hidden);
        m.put("cd_k", cdK);
        m.put("pcd", persistent);
        m.put("gibbs_steps", gibbsSteps);
        return m;
    }

    /** The inverse of {@link #toJson}. */
    public static RbmConfig fromJson(Map<String, Object> m) {
        return new RbmConfig(JsonFields.integer(m, "input_dim"), JsonFields.integer(m, "hidden"), JsonFields.integer(m, "cd_k"),
                JsonFields.bool(m, "pcd"), JsonFields.integer(m, "gibbs_steps"));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "RBM %d-%d, %s-%d", inputDim, hidden, persistent ? "PCD" : "CD", cdK);
    }
}
