package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Ais;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.testing.RandomRbm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An RBM's log p(x) from the public API: {@link Rbm#freeEnergy(float[])} and
 * {@link Rbm#freeEnergies} with log Z give a distribution (exp(-F(x) - log Z) sums to 1 over all
 * states), and the data-set path gives the host-array path's numbers in the data set's order.
 */
class RbmLikelihoodTest {
    private final Backend be = new CpuBackend();

    /** All 2^v binary states, state s's pixel i = bit i of s. */
    private static float[] allStates(int v) {
        float[] x = new float[(1 << v) * v];
        for (int s = 0; s < 1 << v; s++) for (int i = 0; i < v; i++) x[s * v + i] = (s >> i & 1);
        return x;
    }

    @Test
    void freeEnergyAndLogZMakeADistribution() {
        int v = 6;
        try (Rbm r = RandomRbm.create(be, v, 4, 1.0, 1.0, 7, DType.F64)) {
            double logZ = Ais.exactLogZ(r.layer());
            double[] f = r.freeEnergy(allStates(v));
            assertEquals(1 << v, f.length);
            double total = 0, min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
            for (double e : f) {
                total += Math.exp(-e - logZ);
                min = Math.min(min, e);
                max = Math.max(max, e);
            }
            assertEquals(1.0, total, 1e-9);
            assertTrue(max - min > 1, "a peaked model's states differ in free energy: " + min + ".." + max);
        }
    }

    @Test
    void theDataSetPathGivesTheHostArraysNumbers() {
        int v = 6, n = 1 << v;
        float[] x = allStates(v);
        try (Rbm r = RandomRbm.create(be, v, 4, 1.0, 1.0, 9, DType.F32);
             DeviceDataset dd = new DeviceDataset(be, Dataset.fromFloats(x, null, 2, 3))) {
            double[] host = r.freeEnergy(x);
            // Binary data binarise to themselves, whatever the draw.
            assertArrayEquals(host, r.freeEnergies(dd, Binarization.DYNAMIC, 3), 1e-5);
            assertArrayEquals(host, r.freeEnergies(dd, Binarization.NONE, 3), 1e-5);
            assertEquals(n, host.length);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.freeEnergy(new float[v + 1]));
            assertTrue(e.getMessage().startsWith("x has 7 values, not a whole number of examples of 6 values"), e.getMessage());
        }
    }
}
