package dev.elbo4j.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Runs an exported ONNX graph in ONNX Runtime for the export tests. */
final class OnnxRuns {
    private OnnxRuns() {
    }

    /**
     * Runs {@code graph} on {@code in}, each input either a float[] of {@code rows} x its width in
     * {@code widths} or a long[] of {@code rows} (an int64 [N] input); asserts the graph's inputs
     * are exactly those names, and returns its outputs ([N, k] floats) by name, flattened row-major.
     */
    static Map<String, float[]> run(Path graph, Map<String, ?> in, Map<String, Integer> widths, int rows) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try (OrtSession s = env.createSession(graph.toString())) {
            assertEquals(in.keySet(), s.getInputNames(), graph + " inputs");
            for (var e : in.entrySet()) {
                OnnxTensor t = e.getValue() instanceof long[] l
                        ? OnnxTensor.createTensor(env, LongBuffer.wrap(l), new long[] {rows})
                        : OnnxTensor.createTensor(env, FloatBuffer.wrap((float[]) e.getValue()), new long[] {rows, widths.get(e.getKey())});
                tensors.put(e.getKey(), t);
            }
            try (OrtSession.Result r = s.run(tensors)) {
                Map<String, float[]> out = new LinkedHashMap<>();
                for (var e : r) {
                    float[][] a = (float[][]) e.getValue().getValue();
                    float[] flat = new float[a.length * a[0].length];
                    for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, flat, i * a[0].length, a[0].length);
                    out.put(e.getKey(), flat);
                }
                return out;
            }
        } finally {
            for (OnnxTensor t : tensors.values()) t.close();
        }
    }
}
