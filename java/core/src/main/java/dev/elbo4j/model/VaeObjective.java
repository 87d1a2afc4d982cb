package dev.elbo4j.model;

import java.util.Locale;

/**
 * The training objective of a {@link Vae}, with L = {@link VaeConfig#samples()} draws z_l of
 * q(z|x) per input and lw_l = log p(x|z_l) + log p(z_l) - log q(z_l|x).
 */
public enum VaeObjective {
    /** The ELBO: loss = (1/L) sum_l -log p(x|z_l) + beta KL(q(z|x) || p(z)) (the KL in closed form). */
    ELBO,
    /**
     * The importance-weighted bound of Burda et al. (2015) with k = L: loss = -log (1/L) sum_l exp(lw_l).
     * It has no separate KL term, so it takes no beta and no KL warm-up.
     */
    IWAE;

    /** The name used in checkpoints and on the command line: "elbo", "iwae". */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The objective named {@code s} ("elbo" or "iwae", any case); IllegalArgumentException otherwise. */
    public static VaeObjective parse(String s) {
        for (VaeObjective o : values()) if (o.id().equals(s.trim().toLowerCase(Locale.ROOT))) return o;
        throw new IllegalArgumentException("unknown objective '" + s + "' (known: elbo, iwae)");
    }
}
