package dev.elbo4j.rng;

/**
 * Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11): a
 * counter-based generator, a pure function of a 128-bit counter and a 64-bit key. This class is
 * the reference for {@code kernels/common.cuh}, which must produce the same words bit for bit.
 *
 * <h2>How elbo4j lays out the counter (the contract shared with the CUDA kernels)</h2>
 * A draw is named by an {@link RngKey} (seed, stream, step) and an element index {@code j}:
 * <pre>
 *   key     = (k0, k1)           = (seed &amp; 0xffffffff, seed >>> 32)
 *   counter = (c0, c1, c2, c3)   = (block &amp; 0xffffffff, block >>> 32,
 *                                   step &amp; 0xffffffff, (stream &lt;&lt; 24) | ((step >>> 32) &amp; 0xffffff))
 *   block   = j / 4,  lane = j % 4: element j is word {@code lane} of philox(counter, key)
 * </pre>
 * so the four words of one block feed four consecutive elements; a GPU thread that produces four
 * elements calls the generator once. Conversions of a word {@code w} (unsigned):
 * <ul>
 *   <li>uniform float in [0, 1): {@code (w >>> 8) * 2^-24} (exact in float);</li>
 *   <li>standard normals by Box-Muller on lane pairs (0,1) and (2,3), in double:
 *       {@code u1 = (w0 + 1) * 2^-32} in (0, 1], {@code t = 2 pi w1 2^-32},
 *       {@code r = sqrt(-2 ln u1)}: lane 0 is {@code r cos t}, lane 1 {@code r sin t}; then rounded to
 *       float. The CUDA side uses the same double formulas; its libm differs from Java's by at most
 *       1 ulp in double, so the float results agree except in the rare case of a double within an
 *       ulp of a float rounding boundary (the parity test counts them).</li>
 * </ul>
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_PI = 2 * Math.PI;

    private Philox() {
    }

    /** Philox4x32 with ten rounds: writes the four output words into {@code out[0..3]}. */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int r = 0; r < 10; r++) {
            if (r > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (M0 & 0xffffffffL) * (c0 & 0xffffffffL);
            long p1 = (M1 & 0xffffffffL) * (c2 & 0xffffffffL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** The four words of block {@code block} of the draw named by {@code key}. */
    public static void block(RngKey key, long block, int[] out) {
        block((int) block, (int) (block >>> 32), key.counter2(), key.counter3(), key.key0(), key.key1(), out);
    }

    /** Uniform float in [0, 1) from one word. */
    public static float uniform(int w) {
        return (w >>> 8) * 0x1p-24f;
    }

    /** Fills {@code out[0..n)} with standard normals of the draw {@code key}, elements j = first ... */
    public static void normals(RngKey key, long first, float[] out, int off, int n) {
        int[] w = new int[4];
        double[] g = new double[4];
        long j = first;
        int i = 0;
        while (i < n) {
            long blk = j >>> 2;
            block(key, blk, w);
            gaussians(w, g);
            for (int lane = (int) (j & 3); lane < 4 && i < n; lane++, i++, j++) {
                out[off + i] = (float) g[lane];
            }
        }
    }

    /** Same as {@link #normals(RngKey, long, float[], int, int)} in double (the F64 reference path). */
    public static void normals(RngKey key, long first, double[] out, int off, int n) {
        int[] w = new int[4];
        double[] g = new double[4];
        long j = first;
        int i = 0;
        while (i < n) {
            block(key, j >>> 2, w);
            gaussians(w, g);
            for (int lane = (int) (j & 3); lane < 4 && i < n; lane++, i++, j++) {
                // Round through float so the F32 and F64 paths see the same noise.
                out[off + i] = (float) g[lane];
            }
        }
    }

    /** Box-Muller on lane pairs (0,1) and (2,3) of one block. */
    public static void gaussians(int[] w, double[] g) {
        boxMuller(w[0], w[1], g, 0);
        boxMuller(w[2], w[3], g, 2);
    }

    private static void boxMuller(int a, int b, double[] g, int at) {
        double u1 = ((a & 0xffffffffL) + 1) * 0x1p-32;
        double t = TWO_PI * ((b & 0xffffffffL) * 0x1p-32);
        double r = Math.sqrt(-2 * Math.log(u1));
        g[at] = r * Math.cos(t);
        g[at + 1] = r * Math.sin(t);
    }

    /** Fills {@code out[0..n)} with the uniform floats of elements {@code first ...} of {@code key}. */
    public static void uniforms(RngKey key, long first, float[] out, int off, int n) {
        int[] w = new int[4];
        long j = first;
        int i = 0;
        while (i < n) {
            block(key, j >>> 2, w);
            for (int lane = (int) (j & 3); lane < 4 && i < n; lane++, i++, j++) {
                out[off + i] = uniform(w[lane]);
            }
        }
    }

    /**
     * A uniformly random permutation of 0..n-1 (Fisher-Yates from the top, j = (w * (i+1)) >>> 32
     * with word i of the draw; the bias of the multiply-shift is below 2^-32 * n).
     */
    public static int[] permutation(RngKey key, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        int[] w = new int[4];
        long cached = -1;
        for (int i = n - 1; i > 0; i--) {
            long blk = (long) i >>> 2;
            if (blk != cached) {
                block(key, blk, w);
                cached = blk;
            }
            int j = (int) (((w[i & 3] & 0xffffffffL) * (i + 1L)) >>> 32);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
