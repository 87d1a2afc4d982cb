package dev.elbo4j.backend.cuda;

/**
 * An executable CUDA graph captured from the work a {@link CudaBackend} enqueued
 * ({@link CudaBackend#capture(Runnable)}). {@link #launch()} replays it on the backend's stream with
 * the arguments it was captured with: values read through device pointers (a
 * {@link DeviceCounter} bound as an RNG or Adam step, data gathered into fixed buffers) are the
 * only things that change between replays.
 */
public final class CudaGraph implements AutoCloseable {
    private final CudaBackend backend;
    private final long graph;
    private final long exec;
    private final boolean gathers;
    private boolean closed;

    CudaGraph(CudaBackend backend, long graph, long exec, boolean gathers) {
        this.backend = backend;
        this.graph = graph;
        this.exec = exec;
        this.gathers = gathers;
    }

    /**
     * Enqueues one replay on the backend's stream (asynchronous). When the graph gathers, the
     * gather's index check is left to the backend's next read, as after an eager gather.
     */
    public void launch() {
        if (closed) throw new IllegalStateException("graph is closed");
        backend.launchGraph(exec, gathers);
    }

    /** Destroys the executable graph and the captured one; idempotent. The work it captured is not affected. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        backend.destroyGraph(graph, exec);
    }
}
