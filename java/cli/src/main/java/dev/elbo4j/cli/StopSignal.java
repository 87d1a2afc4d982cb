package dev.elbo4j.cli;

import sun.misc.Signal;

import java.util.ArrayList;
import java.util.List;

/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the training loop to stop after
 * the step it is in, so it can write a checkpoint and say how to resume; a second one ends the
 * process at once (exit 128 + signal). Outside {@link #arm()}...{@link #close()} the signals keep
 * the JVM's own handling.
 */
final class StopSignal implements AutoCloseable {
    private final List<Signal> signals = new ArrayList<>();
    private final List<sun.misc.SignalHandler> previous = new ArrayList<>();
    private volatile String requested;

    private StopSignal() {
    }

    /** Catches INT and TERM until {@link #close()}; a platform without them leaves the defaults. */
    static StopSignal arm() {
        StopSignal s = new StopSignal();
        for (String name : List.of("INT", "TERM")) {
            try {
                Signal sig = new Signal(name);
                s.previous.add(Signal.handle(sig, got -> {
                    if (s.requested != null) Runtime.getRuntime().halt(128 + got.getNumber()); // the second: now
                    s.requested = "SIG" + got.getName();
                }));
                s.signals.add(sig);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // not available here (another OS, or the JVM reserves it: -Xrs): the default handling stays
            }
        }
        return s;
    }

    /** The signal that asked to stop ("SIGINT"), or null. */
    String requested() {
        return requested;
    }

    /** The exit status a shell gives a process ended by the signal: 130 for SIGINT, 143 for SIGTERM. */
    int exitCode() {
        return "SIGTERM".equals(requested) ? 143 : 130;
    }

    @Override
    public void close() {
        for (int i = 0; i < signals.size(); i++) Signal.handle(signals.get(i), previous.get(i));
        signals.clear();
    }

    /** Thrown from the training listener once the checkpoint of the stopping step is written. */
    static final class Stopped extends RuntimeException {
        final int exitCode;

        Stopped(String message, int exitCode) {
            super(message, null, false, false);
            this.exitCode = exitCode;
        }
    }
}
