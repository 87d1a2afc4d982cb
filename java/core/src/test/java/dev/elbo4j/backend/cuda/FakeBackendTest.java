package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FakeProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A host test of the CUDA backend over the fake driver libraries ({@link FakeProbe}): a fresh
 * backend per test, and after each test every device allocation it made is freed.
 */
abstract class FakeBackendTest {
    protected static FakeProbe probe;
    protected CudaBackend be;
    protected long allocationsBefore;

    @BeforeAll
    static void fakes() {
        probe = new FakeProbe();
    }

    @BeforeEach
    void open() {
        allocationsBefore = probe.liveAllocations();
        be = new CudaBackend(probe.driver(), probe.blas(), KernelImageTest.fakeFatbin(), 0, "ffm");
    }

    @AfterEach
    void close() {
        be.close();
        assertEquals(allocationsBefore, probe.liveAllocations(), "every device allocation is freed");
    }
}
