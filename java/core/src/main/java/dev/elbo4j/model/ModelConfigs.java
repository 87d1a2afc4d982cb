package dev.elbo4j.model;

import dev.elbo4j.io.JsonFields;

import java.util.List;
import java.util.Map;

/** Reads a {@link ModelConfig} back from the JSON a checkpoint stores, by its "type". */
public final class ModelConfigs {
    private ModelConfigs() {
    }

    /** The model types a checkpoint may hold. */
    public static final List<String> TYPES = List.of("vae" /* ae */ /* cvae */, "cvae" /* m2 */, "m2");

    /**
     * The architecture in {@code m}; throws IllegalArgumentException naming the bad key (the
     * checkpoint reader adds the file).
     */
    public static ModelConfig fromJson(Map<String, Object> m) {
        String type = JsonFields.string(m, "type");
        return switch (type) {
            case "vae" -> VaeConfig.fromJson(m);
            // autoencoders (ae)

            // conditional VAE (cvae)
            case "cvae" -> CvaeConfig.fromJson(m);

            // semi-supervised M2 (m2)
            case "m2" -> M2Config.fromJson(m);

            default -> throw new IllegalArgumentException("unknown model type '" + type + "' (known: "
                    + String.join(", ", TYPES) + ")");
        };
    }
}
