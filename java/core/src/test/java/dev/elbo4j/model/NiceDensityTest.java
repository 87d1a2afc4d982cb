package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Nice#logDensity(float[])}: the flow's log density at points of a user's own, checked by
 * the change of variables through the inverse map (log p(x) = sum log p_H(z) + sum s for
 * x = f^{-1}(z)), and equal to the tensor pass's figures across evaluation chunks.
 */
class NiceDensityTest {
    private static final int D = 4;
    private final Backend be = new CpuBackend();

    private static double logLogistic(double z) {
        return -Math.log1p(Math.exp(z)) - Math.log1p(Math.exp(-z));
    }

    @Test
    void logDensityIsTheChangeOfVariablesOfTheInverse() {
        int n = 40;
        float[] x = new float[n * D];
        Random r = new Random(5);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        try (Nice nice = Nice.create(be, new NiceConfig(D, 4, new int[] {8}, true), DType.F64, 3);
             Nice.Pass p = nice.pass(n, false); Tensor xt = be.upload(toDouble(x), Shape.of(n, D))) {
            p.run(xt, null);
            double[] z = p.z();
            // z is the flow's forward map of x: the independent inverse takes it back.
            double[] back = nice.inverse(z, n);
            for (int i = 0; i < x.length; i++) assertEquals(x[i], back[i], 1e-9, "x[" + i + "]");
            // Scales start at 0 (s = 0), so log p(x) = sum_d log p_H(z_d), p_H the standard logistic.
            double[] lp = nice.logDensity(x);
            for (int row = 0; row < n; row++) {
                double want = 0;
                for (int c = 0; c < D; c++) want += logLogistic(z[row * D + c]);
                assertEquals(want, lp[row], 1e-9, "row " + row);
            }
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void logDensityGivesThePassNumbersAcrossChunks() {
        int n = 1203; // more than one evaluation chunk of 500
        float[] x = new float[n * D];
        Random r = new Random(6);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        try (Nice nice = Nice.create(be, new NiceConfig(D, 4, new int[] {8}, false), 7);
             Nice.Pass p = nice.pass(n, false); Tensor xt = be.upload(x, Shape.of(n, D))) {
            p.run(xt, null);
            assertArrayEquals(be.download(p.logLikelihood()), nice.logDensity(x), 1e-4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nice.logDensity(new float[] {0, 0, 0, 2}));
            assertTrue(e.getMessage().startsWith("x[3] (example 0, value 3) is 2.0; this nice model takes values in [0, 1]"), e.getMessage());
        }
    }
}
