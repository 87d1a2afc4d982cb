package dev.elbo4j.backend;

import java.util.List;

/** A backend cannot run here; {@link #reasons()} lists every reason found. */
public class BackendUnavailableException extends RuntimeException {
    private final List<String> reasons;

    public BackendUnavailableException(String backend, List<String> reasons) {
        super(backend + " backend unavailable: " + String.join("; ", reasons));
        this.reasons = List.copyOf(reasons);
    }

    public List<String> reasons() {
        return reasons;
    }
}
