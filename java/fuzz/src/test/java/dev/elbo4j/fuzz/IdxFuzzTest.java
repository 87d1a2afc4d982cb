package dev.elbo4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.elbo4j.io.Idx;

/**
 * Fuzzes {@link Idx#read} (plain and gzip-compressed IDX). Under {@code make test} Jazzer replays
 * the seed corpus in {@code src/test/resources/dev/elbo4j/fuzz/IdxFuzzTestInputs/idx/}; with
 * {@code JAZZER_FUZZ=1}, or through {@code make fuzz}, it fuzzes with coverage guidance.
 */
public class IdxFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void idx(byte[] data) {
        fuzzerTestOneInput(data);
    }

    /** The libFuzzer-style entry point for Jazzer's command line. */
    public static void fuzzerTestOneInput(byte[] data) {
        ReaderProperty.check(data, file -> {
            Idx.IdxArray a = Idx.read(file);
            long n = 1;
            for (int d : a.dims()) {
                ReaderProperty.require(d >= 0, "negative dimension");
                n *= d;
            }
            ReaderProperty.require(n == a.data().length, "dims multiply to " + n + ", data has " + a.data().length);
            ReaderProperty.require(a.rank() >= 1, "rank " + a.rank());
        });
    }
}
