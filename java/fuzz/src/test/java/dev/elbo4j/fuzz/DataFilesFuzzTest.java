package dev.elbo4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.elbo4j.io.Csv;
import dev.elbo4j.io.DataFiles;
import dev.elbo4j.io.IdxTyped;
import dev.elbo4j.io.Npy;
import dev.elbo4j.io.Npz;
import dev.elbo4j.io.NumericArray;

/**
 * Fuzzes the readers of a user's data files on the same bytes: {@link Npy}, {@link Npz},
 * {@link Csv} and {@link IdxTyped} (each through the reader its content selects, as
 * {@link DataFiles} does). Under {@code make test} Jazzer replays the seeds in
 * {@code src/test/resources/dev/elbo4j/fuzz/DataFilesFuzzTestInputs/data/}; {@code make fuzz}
 * (target {@code data}) fuzzes with coverage guidance.
 */
public class DataFilesFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void data(byte[] data) {
        fuzzerTestOneInput(data);
    }

    /** The libFuzzer-style entry point for Jazzer's command line. */
    public static void fuzzerTestOneInput(byte[] data) {
        ReaderProperty.check(data, file -> {
            switch (DataFiles.formatOf(file)) {
                case NPY -> valid(Npy.read(file));
                case NPZ -> Npz.read(file).values().forEach(DataFilesFuzzTest::valid);
                case IDX -> valid(IdxTyped.read(file));
                default -> {
                    Csv.Table t = Csv.read(file);
                    valid(t.values());
                    ReaderProperty.require(t.header() == null || t.header().size() == t.values().dim(1), "header width");
                }
            }
        });
    }

    private static void valid(NumericArray a) {
        long n = 1;
        for (int d : a.shape()) {
            ReaderProperty.require(d >= 1, "dimension " + d);
            n *= d;
        }
        ReaderProperty.require(n == a.size(), "shape multiplies to " + n + ", data has " + a.size());
    }
}
