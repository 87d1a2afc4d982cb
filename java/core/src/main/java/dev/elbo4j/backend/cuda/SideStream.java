package dev.elbo4j.backend.cuda;

/**
 * A second stream for work that is independent of the main stream's next operations: the dense
 * layers' weight gradient (dW = dy^T x, and on the cuBLASLt path the bias gradient with it), while
 * the main stream computes dx = dy W. The weight-gradient GEMM of a wide, short layer has few output
 * tiles (784 x 400: 28 for 132 SMs), so running it beside dx fills the device.
 *
 * <p>Used only while {@link CudaBackend#capture} records a graph: {@link #fork} records an event on
 * the main stream and makes this stream wait on it (under capture: this stream joins the capture,
 * and its work becomes graph nodes after the fork point), {@link #join} the reverse, so the next
 * operation on the main stream depends on both branches and the capture ends joined. Eager calls
 * stay on the main stream, in the reference's order.
 *
 * <p>Its own cuBLAS (and cuBLASLt) handle and workspace: two GEMMs in flight at once must not share
 * a split-K workspace. Created before a capture begins (allocation is not allowed inside one); the
 * workspace has the main handle's size, so cuBLAS's heuristics choose as for the main stream.
 */
final class SideStream implements AutoCloseable {
    private final CudaDriver driver;
    private final long stream, forkEvent, joinEvent, workspace, workspaceBytes;
    private final CudaBlas blas;
    private final CublasLt lt;

    /**
     * Creates the stream, its events, its workspace and handles; on failure releases what it made.
     *
     * @param ltLibrary cuBLASLt, or null when the backend has none
     */
    SideStream(CudaDriver driver, CudaBlas.Library blasLibrary, CudaBlasLt.Library ltLibrary, long workspaceBytes,
               boolean tf32) {
        this.driver = driver;
        long s = 0, f = 0, j = 0, ws = 0;
        CudaBlas b = null;
        try {
            s = driver.createStream();
            f = driver.createEvent();
            j = driver.createEvent();
            ws = workspaceBytes > 0 ? driver.malloc(workspaceBytes) : 0;
            b = blasLibrary.create(s);
            if (ws != 0 && !b.setWorkspace(ws, workspaceBytes)) {
                driver.free(ws);
                ws = 0;
            }
            b.setTf32(tf32);
            this.lt = ltLibrary == null ? null : new CublasLt(ltLibrary.create(s, ws, ws == 0 ? 0 : workspaceBytes));
        } catch (RuntimeException | Error e) {
            RuntimeException r = release(b, ws, j, f, s);
            if (r != null) e.addSuppressed(r);
            throw e;
        }
        this.stream = s;
        this.forkEvent = f;
        this.joinEvent = j;
        this.workspace = ws;
        this.workspaceBytes = ws == 0 ? 0 : workspaceBytes;
        this.blas = b;
    }

    /** Releases in reverse order of creation; the first failure, the later ones suppressed in it, or null. */
    private RuntimeException release(CudaBlas b, long ws, long j, long f, long s) {
        Runnable[] steps = {
            () -> { if (b != null) b.close(); },
            () -> { if (ws != 0) driver.free(ws); },
            () -> { if (j != 0) driver.destroyEvent(j); },
            () -> { if (f != 0) driver.destroyEvent(f); },
            () -> { if (s != 0) driver.destroyStream(s); },
        };
        RuntimeException failure = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (failure == null) failure = e; else failure.addSuppressed(e);
            }
        }
        return failure;
    }

    /** Device bytes this stream holds: its workspace (0 where cuBLAS took none). */
    long workspaceBytes() {
        return workspaceBytes;
    }

    /** cuBLAS on this stream. */
    CudaBlas blas() {
        return blas;
    }

    /** cuBLASLt on this stream, or null. */
    CublasLt lt() {
        return lt;
    }

    void setTf32(boolean enabled) {
        blas.setTf32(enabled);
    }

    /** Work enqueued on this stream from now on runs after the work enqueued on {@code main} so far. */
    void fork(long main) {
        driver.recordEvent(forkEvent, main);
        driver.waitEvent(stream, forkEvent);
    }

    /** Work enqueued on {@code main} from now on runs after the work enqueued on this stream so far. */
    void join(long main) {
        driver.recordEvent(joinEvent, stream);
        driver.waitEvent(main, joinEvent);
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        try {
            if (lt != null) lt.close();
        } catch (RuntimeException e) {
            failure = e;
        }
        RuntimeException r = release(blas, workspace, joinEvent, forkEvent, stream);
        if (failure == null) failure = r; else if (r != null) failure.addSuppressed(r);
        if (failure != null) throw failure;
    }
}
