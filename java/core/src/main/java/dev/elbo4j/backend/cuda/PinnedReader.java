package dev.elbo4j.backend.cuda;

/**
 * Reads a small block of device memory back without a stream synchronisation: one
 * {@code cuMemcpyDtoHAsync} into page-locked host memory allocated once, one event recorded after
 * it and one {@code cuEventSynchronize}, so the host waits for exactly the work enqueued before
 * the read (and nothing is allocated per read, on the host or the device).
 */
public final class PinnedReader implements AutoCloseable {
    private final CudaBackend be;
    private final int words;
    private final long host;
    private final long event;
    private boolean closed;

    /**
     * Allocates the pinned host block and the event once; {@link #close} frees them.
     *
     * @param words the most 32-bit words a {@link #read} copies
     */
    public PinnedReader(CudaBackend be, int words) {
        if (words < 1) throw new IllegalArgumentException("words must be >= 1, got " + words);
        this.be = be;
        CudaDriver driver = be.driver();
        this.words = words;
        this.host = driver.hostAlloc(4L * words);
        long e;
        try {
            e = driver.createEvent();
        } catch (RuntimeException x) {
            driver.freeHost(host);
            throw x;
        }
        this.event = e;
    }

    /** Copies {@code dst.length} words from device address {@code src} after the work enqueued so far, and waits for them. */
    public void read(long src, int[] dst) {
        if (closed) throw new IllegalStateException("reader closed");
        if (dst.length > words) throw new IllegalArgumentException("this reader copies at most " + words + " words, got " + dst.length);
        CudaDriver driver = be.driver();   // checks the backend is open, makes its context current
        long stream = be.stream();
        driver.copyToHostAsync(host, src, 4L * dst.length, stream);
        driver.recordEvent(event, stream);
        driver.synchronizeEvent(event);
        driver.readHost(host, dst, 0, dst.length);
    }

    /**
     * Frees the pinned block and the event; idempotent, and a no-op once the backend is closed (its context
     * took them along).
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (be.isClosed()) return;   // the context went with the backend, and its pinned memory and events
        CudaDriver driver = be.driver();
        driver.destroyEvent(event);
        driver.freeHost(host);
    }
}
