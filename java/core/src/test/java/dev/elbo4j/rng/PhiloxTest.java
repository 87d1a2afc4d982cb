package dev.elbo4j.rng;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class PhiloxTest {

    /** Random123's kat_vectors for philox4x32 with 10 rounds: counter[4], key[2] -> output[4]. */
    @Test
    void matchesRandom123KnownAnswers() {
        int[][][] kat = {
                {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
                {{-1, -1, -1, -1}, {-1, -1}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
                {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
                        {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
        };
        int[] out = new int[4];
        for (int[][] v : kat) {
            Philox.block(v[0][0], v[0][1], v[0][2], v[0][3], v[1][0], v[1][1], out);
            assertArrayEquals(v[2], out, "counter " + Arrays.toString(v[0]));
        }
    }

    @Test
    void keyLayoutPlacesSeedStreamAndStep() {
        RngKey k = new RngKey(0x1122334455667788L, 0x7f, 0x00abcdef12345678L);
        assertEquals(0x55667788, k.key0());
        assertEquals(0x11223344, k.key1());
        assertEquals(0x12345678, k.counter2());
        assertEquals(0x7fabcdef, k.counter3());
        int[] a = new int[4], b = new int[4];
        Philox.block(k, 0x100000002L, a);
        Philox.block(2, 1, 0x12345678, 0x7fabcdef, 0x55667788, 0x11223344, b);
        assertArrayEquals(b, a);
    }

    @Test
    void normalsDoNotDependOnHowTheStreamIsCut() {
        RngKey k = new RngKey(42, Streams.LATENT, 7);
        float[] whole = new float[103];
        Philox.normals(k, 0, whole, 0, whole.length);
        float[] part = new float[50];
        Philox.normals(k, 37, part, 0, part.length);
        assertArrayEquals(Arrays.copyOfRange(whole, 37, 87), part);
    }

    @Test
    void normalsHaveUnitMomentsAndStreamsDiffer() {
        int n = 200_000;
        float[] a = new float[n], b = new float[n];
        Philox.normals(new RngKey(3, Streams.LATENT, 0), 0, a, 0, n);
        Philox.normals(new RngKey(3, Streams.LATENT, 1), 0, b, 0, n);
        double m = 0, v = 0, cov = 0, k4 = 0;
        for (int i = 0; i < n; i++) {
            m += a[i];
            v += a[i] * a[i];
            k4 += Math.pow(a[i], 4);
            cov += a[i] * b[i];
        }
        m /= n;
        v /= n;
        k4 /= n;
        cov /= n;
        // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032, 4th moment sqrt(96/n) = 0.022.
        assertEquals(0, m, 0.011);
        assertEquals(1, v, 0.016);
        assertEquals(3, k4, 0.11);
        assertEquals(0, cov, 0.011);
    }

    @Test
    void uniformsCoverTheUnitIntervalEvenly() {
        int n = 100_000;
        float[] u = new float[n];
        Philox.uniforms(new RngKey(9, Streams.BINARIZE, 0), 0, u, 0, n);
        int[] bins = new int[10];
        for (float x : u) {
            assertTrue(x >= 0 && x < 1);
            bins[(int) (x * 10)]++;
        }
        // Chi-square with 9 degrees of freedom: the 99.9% quantile is 27.9.
        double chi = 0;
        for (int c : bins) chi += Math.pow(c - n / 10.0, 2) / (n / 10.0);
        assertTrue(chi < 27.9, "chi-square " + chi);
    }

    @Test
    void permutationsArePermutationsAndDependOnTheStep() {
        int[] p = Philox.permutation(new RngKey(5, Streams.SHUFFLE, 0), 1000);
        int[] q = Philox.permutation(new RngKey(5, Streams.SHUFFLE, 1), 1000);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        assertArrayEquals(p, Philox.permutation(new RngKey(5, Streams.SHUFFLE, 0), 1000));
        assertFalse(Arrays.equals(p, q));
        // Position of element 0 is uniform: over many permutations of 4, each slot about 1/4.
        int[] where = new int[4];
        for (int s = 0; s < 4000; s++) {
            int[] r = Philox.permutation(new RngKey(1, Streams.SHUFFLE, s), 4);
            for (int i = 0; i < 4; i++) if (r[i] == 0) where[i]++;
        }
        for (int c : where) assertEquals(1000, c, 120);
    }
}
