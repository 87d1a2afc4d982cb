package dev.elbo4j.backend;

import java.util.List;

/** A backend cannot run here; {@link #reasons()} lists every reason found. */
public class BackendUnavailableException extends RuntimeException {
    /** Every reason found, in the order the checks ran. */
    private final List<String> reasons;

    /**
     * An exception whose message is "{@code backend} backend unavailable: " and the reasons joined by "; ".
     *
     * @param backend the backend's name ("cuda")
     * @param reasons why it cannot run, one sentence each (copied)
     */
    public BackendUnavailableException(String backend, List<String> reasons) {
        super(backend + " backend unavailable: " + String.join("; ", reasons));
        this.reasons = List.copyOf(reasons);
    }

    /** Every reason found, in the order the checks ran; unmodifiable. */
    public List<String> reasons() {
        return reasons;
    }
}
