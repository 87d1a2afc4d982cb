package dev.elbo4j.backend.cpu;

import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both F32Math implementations against the Bernoulli likelihood computed in double. */
class F32MathTest {

    static F32Math vector() {
        Assumptions.assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "the JVM runs without --add-modules jdk.incubator.vector");
        return F32Math.best();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 9, 31, 784, 1001})
    void bernoulliRowMatchesDouble(int n) {
        for (F32Math m : new F32Math[]{new ScalarF32Math(), vector()}) {
            // Logits from -40 to 40: both tails of softplus and sigmoid.
            float[] l = Rand.toFloat(Rand.uniform(n, n, -40, 40));
            float[] x = Rand.toFloat(Rand.uniform(n + 1, n, 0, 1));
            float[] g = new float[n + 3];
            float scale = 0.37f;
            double loss = m.bernoulliRow(l, 0, x, 0, g, 3, n, scale);
            double want = 0, abs = 0;
            for (int i = 0; i < n; i++) {
                double lv = l[i], xv = x[i];
                double term = CpuLikelihood.bernoulliNll(lv, xv);
                want += term;
                abs += Math.abs(term);
                double sig = lv >= 0 ? 1 / (1 + Math.exp(-lv)) : Math.exp(lv) / (1 + Math.exp(lv));
                assertEquals(scale * (sig - xv), g[3 + i], 2e-7, m.name() + " gradient " + i + " of " + n);
            }
            assertEquals(want, loss, 2e-6 * abs + 1e-6, m.name() + " loss of " + n);
        }
    }

    @Test
    void vectorTranscendentalsAreAccurate() {
        vector();
        int n = 4096;
        float[] x = new float[n], e = new float[n];
        double worstExp = 0, worstLog = 0;
        for (int i = 0; i < n; i++) x[i] = -90f * i / (n - 1);
        for (int i = 0; i + 8 <= n; i += 8) {
            var v = jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_256, x, i);
            VectorF32Math.expNonPositive(v).intoArray(e, i);
        }
        for (int i = 0; i < n; i++) {
            double want = Math.exp(Math.max(x[i], -87f));
            worstExp = Math.max(worstExp, Math.abs(e[i] - want) / want);
        }
        float[] u = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) Math.pow(2, -30.0 * i / n) * (i % 2 == 0 ? 1 : 0.7f);
        for (int i = 0; i + 8 <= n; i += 8) {
            var v = jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_256, u, i);
            VectorF32Math.log1pUnit(v).intoArray(y, i);
        }
        for (int i = 0; i < n; i++) {
            double want = Math.log1p(u[i]);
            worstLog = Math.max(worstLog, Math.abs(y[i] - want) / want);
        }
        assertTrue(worstExp < 2.5e-7, "exp relative error " + worstExp);
        assertTrue(worstLog < 2.5e-7, "log1p relative error " + worstLog);
    }

    /** The vector Adam performs the scalar one's operations in the same order: identical bits. */
    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 9, 1001})
    void vectorAdamEqualsScalarAdam(int n) {
        F32Math vec = vector();
        float[][] a = new float[4][], b = new float[4][];
        for (int t = 0; t < 4; t++) {
            a[t] = Rand.toFloat(Rand.normal(10 + t, n + 2, t == 3 ? 0.01 : 1));
            if (t == 3) for (int i = 0; i < a[t].length; i++) a[t][i] = Math.abs(a[t][i]); // v >= 0
            b[t] = a[t].clone();
        }
        for (int step = 0; step < 3; step++) {
            new ScalarF32Math().adam(a[0], 1, a[1], 1, a[2], 1, a[3], 1, 0, n, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f, 1.2f, 1e-8f, 0.99f);
            vec.adam(b[0], 1, b[1], 1, b[2], 1, b[3], 1, 0, n, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f, 1.2f, 1e-8f, 0.99f);
        }
        for (int t = 0; t < 4; t++) org.junit.jupiter.api.Assertions.assertArrayEquals(a[t], b[t], "buffer " + t);
    }

    /** The conv windows' 4-wide rows: the vector copies and double additions give the scalar loops' bits. */
    @Test
    void convWindowRowsMatchScalar() {
        F32Math vec = vector(), scalar = new ScalarF32Math();
        int channels = 3, kh = 4, w = 9, hw = 9 * 7;
        float[] x = Rand.toFloat(Rand.normal(20, channels * hw + 5, 1));
        float[] c1 = new float[channels * kh * 4 + 6], c2 = c1.clone();
        scalar.im2colInside4(x, 5, hw, w, channels, kh, c1, 6);
        vec.im2colInside4(x, 5, hw, w, channels, kh, c2, 6);
        org.junit.jupiter.api.Assertions.assertArrayEquals(c1, c2);
        for (int ch = 0; ch < channels; ch++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < 4; j++) assertEquals(x[5 + ch * hw + i * w + j], c1[6 + (ch * kh + i) * 4 + j]);
            }
        }
        // Partial sums of +-2^60 and small values: each lane's addition must be the scalar one.
        float[] cols = Rand.toFloat(Rand.normal(21, channels * kh * 4 + 2, 1));
        for (int k = 0; k < cols.length; k += 3) cols[k] = k % 2 == 0 ? 0x1p60f : -0x1p60f;
        double[] acc = Rand.normal(22, channels * hw + 4, 1), acc2 = acc.clone();
        for (int k = 0; k < acc.length; k += 5) acc[k] = acc2[k] = 0x1p60;
        scalar.col2imInside4(cols, 2, channels, kh, 1, 3, hw, w, acc, 4);
        vec.col2imInside4(cols, 2, channels, kh, 1, 3, hw, w, acc2, 4);
        org.junit.jupiter.api.Assertions.assertArrayEquals(acc, acc2, 0.0);
        double[] want = Rand.normal(22, channels * hw + 4, 1);
        for (int k = 0; k < want.length; k += 5) want[k] = 0x1p60;
        for (int ch = 0; ch < channels; ch++) {
            for (int i = 1; i < 3; i++) {
                for (int j = 0; j < 4; j++) want[4 + ch * hw + i * w + j] += cols[2 + (ch * kh + i) * 4 + j];
            }
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(want, acc, 0.0);
    }

    /** The conv ReLU backward multiplies: signed zeros, infinities and NaN as the scalar g * (y > 0 ? 1 : 0). */
    @ParameterizedTest
    @ValueSource(ints = {1, 15, 16, 17, 196, 1001})
    void reluDerivativeMulMatchesScalar(int n) {
        F32Math vec = vector();
        float[] y = Rand.toFloat(Rand.normal(30 + n, n + 1, 1));
        float[] g = Rand.toFloat(Rand.normal(40 + n, n + 2, 1));
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -1e-30f};
        for (int i = 0; i < n; i += 3) y[1 + i] = special[i % special.length];
        for (int i = 0; i < n; i += 4) g[2 + i] = special[(i / 4) % special.length];
        float[] want = g.clone(), got = g.clone();
        for (int i = 0; i < n; i++) want[2 + i] = g[2 + i] * (y[1 + i] > 0f ? 1f : 0f);
        vec.reluDerivativeMul(y, 1, got, 2, n);
        float[] scalar = g.clone();
        new ScalarF32Math().reluDerivativeMul(y, 1, scalar, 2, n);
        for (int i = 0; i < want.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "vector at " + i + " of " + n);
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(scalar[i]), "scalar at " + i + " of " + n);
        }
    }
}
