package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.cuda.ffm.FakeProbe.Call;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The dense layer's backward against the recording fake driver: eagerly one stream (dW then dx on
 * the backend's cuBLAS handle); under capture dW on a second handle bound to a second stream,
 * forked from and joined back to the main stream (two event records, two waits); a replay of that
 * graph is still one cuGraphLaunch.
 */
class ForkedBackwardHostTest extends FakeBackendTest {

    @Test
    void captureForksTheWeightGradientAndAReplayIsOneGraphLaunch() {
        Tensor x = be.upload(new float[6 * 3], Shape.of(6, 3)), w = be.upload(new float[4 * 3], Shape.of(4, 3));
        Tensor y = be.alloc(DType.F32, Shape.of(6, 4)), dy = be.alloc(DType.F32, Shape.of(6, 4));
        Tensor dW = be.alloc(DType.F32, Shape.of(4, 3)), dB = be.alloc(DType.F32, Shape.of(4)), dx = be.alloc(DType.F32, Shape.of(6, 3));
        Runnable backward = () -> be.linearBackward(x, w, y, dy, Activation.RELU, dW, dB, dx);

        long g0 = probe.gemms();
        Map<Call, Long> before = counts();
        backward.run();
        assertEquals(g0 + 2, probe.gemms());
        long main = probe.gemmStream(g0);
        assertEquals(main, probe.gemmStream(g0 + 1), "eagerly dW and dx on the same stream");
        assertEquals(null, since(before).get(Call.STREAM_WAIT), "eagerly no cross-stream wait");

        before = counts();
        CudaGraph graph = be.capture(backward);
        Map<Call, Long> captured = since(before);
        assertEquals(g0 + 4, probe.gemms());
        assertNotEquals(main, probe.gemmStream(g0 + 2), "under capture dW on the side stream");
        assertEquals(main, probe.gemmStream(g0 + 3), "and dx on the main stream");
        assertEquals(2L, captured.get(Call.STREAM_WAIT), "a fork and a join");
        assertEquals(2L, captured.get(Call.EVENT_RECORD), "one event each");

        // a dense layer with no dx (the first layer) has nothing to run beside dW: no fork
        before = counts();
        CudaGraph first = be.capture(() -> be.linearBackward(x, w, y, dy, Activation.RELU, dW, dB, null));
        assertEquals(null, since(before).get(Call.STREAM_WAIT));

        for (int i = 0; i < 3; i++) {
            before = counts();
            long launches = probe.launches(), gemms = probe.gemms();
            graph.launch();
            assertEquals(Map.of(Call.GRAPH_LAUNCH, 1L), since(before), "a replay: one cuGraphLaunch and nothing else");
            assertEquals(launches, probe.launches());
            assertEquals(gemms, probe.gemms());
        }
        graph.close();
        first.close();
        for (Tensor t : new Tensor[]{x, w, y, dy, dW, dB, dx}) t.close();
    }

    @Test
    void theSideStreamsWorkspaceIsCountedInAllocatedBytes() {
        long before = be.allocatedBytes(), allocations = probe.liveAllocations();
        CudaGraph first = be.capture(() -> { });
        assertEquals(allocations + 1, probe.liveAllocations(), "the first capture allocates the side stream's workspace");
        assertEquals(before + CudaBackend.CUBLAS_WORKSPACE_BYTES, be.allocatedBytes());
        CudaGraph second = be.capture(() -> { });
        assertEquals(allocations + 1, probe.liveAllocations(), "one side stream per backend");
        assertEquals(before + CudaBackend.CUBLAS_WORKSPACE_BYTES, be.allocatedBytes());
        first.close();
        second.close();
        be.close();
        assertEquals(0, be.allocatedBytes(), "a closed backend holds nothing");
    }
}
