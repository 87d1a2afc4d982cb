package dev.elbo4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.train.Checkpoint;

import java.util.Map;

/**
 * Fuzzes {@link SafeTensors#read} and, on the files it accepts, {@link Checkpoint#load} (the
 * metadata that must match the model). Under {@code make test} Jazzer replays the seed corpus in
 * {@code src/test/resources/dev/elbo4j/fuzz/SafeTensorsFuzzTestInputs/safetensors/}; with
 * {@code JAZZER_FUZZ=1}, or through {@code make fuzz} ({@code scripts/fuzz.sh}, which calls
 * {@link #fuzzerTestOneInput}), it fuzzes with coverage guidance.
 */
public class SafeTensorsFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void safetensors(byte[] data) {
        fuzzerTestOneInput(data);
    }

    /** The libFuzzer-style entry point for Jazzer's command line. */
    public static void fuzzerTestOneInput(byte[] data) {
        ReaderProperty.check(data, file -> {
            SafeTensors.File f = SafeTensors.read(file);
            long total = 0;
            for (Map.Entry<String, SafeTensors.Entry> e : f.tensors().entrySet()) {
                SafeTensors.Entry t = e.getValue();
                long n = 1;
                for (int d : t.shape()) {
                    ReaderProperty.require(d >= 0, e.getKey() + " has a negative dimension");
                    n *= d;
                }
                ReaderProperty.require(n == t.numel(), e.getKey() + ": numel " + t.numel() + " != product of shape " + n);
                ReaderProperty.require(t.bytes().length == n * SafeTensors.dtypeSize(t.dtype()),
                        e.getKey() + ": " + t.bytes().length + " bytes for " + n + " x " + t.dtype());
                total += t.bytes().length;
            }
            ReaderProperty.require(total <= data.length, "tensors hold more bytes than the file");
            Checkpoint.load(file);
        });
    }
}
