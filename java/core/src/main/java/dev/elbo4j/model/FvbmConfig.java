package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fully visible Boltzmann machine on d binary units, d &lt;= {@link #MAX_DIM} (exact enumeration of
 * all 2^d states).
 *
 * @param inputDim d, pixels per example
 */
public record FvbmConfig(int inputDim) implements ModelConfig {
    /** The largest d: 2^20 states are enumerated per training step. */
    public static final int MAX_DIM = 20;

    /**
     * Checks {@code inputDim}: 1 to {@link #MAX_DIM}.
     *
     * @throws IllegalArgumentException when it is outside that range
     */
    public FvbmConfig {
        if (inputDim < 1 || inputDim > MAX_DIM) {
            throw new IllegalArgumentException("a fully visible Boltzmann machine enumerates 2^d states and takes 1.."
                    + MAX_DIM + " pixels, got " + inputDim + " (use a downsampled data set, e.g. 4x4)");
        }
    }

    @Override
    public String type() {
        return "fvbm";
    }

    /** The exact log-likelihood, log p(x). */
    @Override
    public String objectiveName() {
        return "log p(x)";
    }

    @Override
    public Parameters.Builder parameterLayout() {
        return Fvbm.parameterLayout(this);
    }

    @Override
    public Fvbm create(Backend backend, DType dtype, long seed) {
        return Fvbm.create(backend, this, dtype, seed);
    }

    @Override
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_dim", inputDim);
        return m;
    }

    /** The inverse of {@link #toJson}. */
    public static FvbmConfig fromJson(Map<String, Object> m) {
        return new FvbmConfig(JsonFields.integer(m, "input_dim"));
    }

    @Override
    public String toString() {
        return "FVBM " + inputDim + " units, exact maximum likelihood";
    }
}
