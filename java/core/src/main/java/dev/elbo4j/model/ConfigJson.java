package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.JsonFields;

import java.util.Locale;
import java.util.Map;

/** The config fields several families share, written and read the same way in every checkpoint. */
final class ConfigJson {
    private ConfigJson() {
    }

    /** "likelihood" and, for the fixed Gaussian only, "sigma". */
    static void putLikelihood(Map<String, Object> m, Likelihood l) {
        m.put("likelihood", l.id());
        if (l.kind() == Likelihood.Kind.GAUSSIAN_FIXED) m.put("sigma", l.sigma());
    }

    /** The inverse of {@link #putLikelihood}. */
    static Likelihood likelihood(Map<String, Object> m) {
        String id = JsonFields.string(m, "likelihood");
        return Likelihood.parse(id, "gaussian".equals(id) ? JsonFields.number(m, "sigma") : 0);
    }

    static void putActivation(Map<String, Object> m, Activation a) {
        m.put("activation", a.name().toLowerCase(Locale.ROOT));
    }

    static Activation activation(Map<String, Object> m) {
        return Activation.parse(JsonFields.string(m, "activation"));
    }

    /** A layer stack's sizes: in, hidden..., out. */
    static int[] sizes(int in, int[] hidden, int out) {
        int[] s = new int[hidden.length + 2];
        s[0] = in;
        System.arraycopy(hidden, 0, s, 1, hidden.length);
        s[s.length - 1] = out;
        return s;
    }
}
