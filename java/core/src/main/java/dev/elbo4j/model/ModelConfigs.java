package dev.elbo4j.model;

import dev.elbo4j.io.JsonFields;

import java.util.List;
import java.util.Map;

/** Reads a {@link ModelConfig} back from the JSON a checkpoint stores, by its "type". */
public final class ModelConfigs {
    private ModelConfigs() {
    }

    /** The model types a checkpoint may hold. */
    public static final List<String> TYPES = List.of("vae", "ae", "cvae", "m2", "nice", "rbm", "dbn", "fvbm");

    /**
     * The architecture in {@code m}; throws IllegalArgumentException naming the bad key (the
     * checkpoint reader adds the file).
     */
    public static ModelConfig fromJson(Map<String, Object> m) {
        String type = JsonFields.string(m, "type");
        return switch (type) {
            case "vae" -> VaeConfig.fromJson(m);
            case "ae" -> AutoencoderConfig.fromJson(m);
            case "cvae" -> CvaeConfig.fromJson(m);
            case "m2" -> M2Config.fromJson(m);
            case "nice" -> NiceConfig.fromJson(m);
            case "rbm" -> RbmConfig.fromJson(m);
            case "dbn" -> DbnConfig.fromJson(m);
            case "fvbm" -> FvbmConfig.fromJson(m);
            default -> throw new IllegalArgumentException("unknown model type '" + type + "' (known: "
                    + String.join(", ", TYPES) + ")");
        };
    }
}
