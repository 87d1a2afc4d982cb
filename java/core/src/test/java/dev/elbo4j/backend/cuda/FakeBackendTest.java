package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FakeProbe;
import dev.elbo4j.backend.cuda.ffm.FakeProbe.Call;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import java.util.EnumMap;
import java.util.Map;

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

    /** How often the fake driver has seen each call so far. */
    protected static Map<Call, Long> counts() {
        Map<Call, Long> m = new EnumMap<>(Call.class);
        for (Call c : Call.values()) m.put(c, probe.count(c));
        return m;
    }

    /** The calls made since {@code before} ({@link #counts()}), those with a non-zero count only. */
    protected static Map<Call, Long> since(Map<Call, Long> before) {
        Map<Call, Long> d = new EnumMap<>(Call.class);
        for (Call c : Call.values()) {
            long n = probe.count(c) - before.get(c);
            if (n != 0) d.put(c, n);
        }
        return d;
    }
}
