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
    private boolean closed;

    CudaGraph(CudaBackend backend, long graph, long exec) {
        this.backend = backend;
        this.graph = graph;
        this.exec = exec;
    }

    /** Enqueues one replay on the backend's stream (asynchronous). */
    public void launch() {
        if (closed) throw new IllegalStateException("graph is closed");
        backend.launchGraph(exec);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        backend.destroyGraph(graph, exec);
    }
}
