package dev.elbo4j.cli;

import sun.misc.Signal;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the trainer to stop after the
 * step it is in ({@code Trainer.requestStop}), so the command can write a checkpoint and say how to
 * resume; a second one ends the process at once (exit 128 + signal). Outside {@link #arm()}...{@link #close()} the signals keep
 * the JVM's own handling.
 */
final class StopSignal implements AutoCloseable {
    private final List<Signal> signals = new ArrayList<>();
    private final List<sun.misc.SignalHandler> previous = new ArrayList<>();
    private volatile String requested;

    private StopSignal() {
    }

    /**
     * Catches INT and TERM until {@link #close()}, the first running {@code stop} (on the JVM's
     * signal thread) once {@link #requested()} says which; a platform without them leaves the defaults.
     */
    static StopSignal arm(Runnable stop) {
        StopSignal s = new StopSignal();
        return s.install(got -> {
            if (s.requested != null) Runtime.getRuntime().halt(128 + got.getNumber()); // the second: now
            s.requested = "SIG" + got.getName();
            stop.run();
        });
    }

    /**
     * After the last epoch (pictures, the final evaluation), when the run is finished and saved:
     * INT or TERM runs {@code before} (e.g. erase a progress bar), prints "elbo4j train: stopped by
     * SIGTERM " + {@code message} and ends the process at once (exit 128 + signal), instead of
     * ending it with nothing said.
     */
    static StopSignal armFinished(PrintWriter err, Runnable before, String message) {
        return new StopSignal().install(got -> {
            before.run();
            err.println("elbo4j train: stopped by SIG" + got.getName() + " " + message);
            err.flush();
            Runtime.getRuntime().halt(128 + got.getNumber());
        });
    }

    private StopSignal install(sun.misc.SignalHandler handler) {
        for (String name : List.of("INT", "TERM")) {
            try {
                Signal sig = new Signal(name);
                previous.add(Signal.handle(sig, handler));
                signals.add(sig);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // not available here (another OS, or the JVM reserves it: -Xrs): the default handling stays
            }
        }
        return this;
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
}
