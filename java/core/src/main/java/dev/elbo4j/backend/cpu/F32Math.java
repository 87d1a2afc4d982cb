package dev.elbo4j.backend.cpu;

/**
 * The CPU backend's hottest float loops, in two implementations: {@link ScalarF32Math} (plain
 * Java, always there) and {@code VectorF32Math} (the incubating Vector API, whose EXP and LOG1P
 * compile to the JDK's SIMD maths library: about 9x faster on AVX2). {@link #best()} picks the
 * vector one when the JVM runs with {@code --add-modules jdk.incubator.vector}, else says once how
 * to enable it, after Lucene's vectorization provider.
 */
interface F32Math {

    String name();

    /**
     * One row of the Bernoulli-logits likelihood: returns sum_i softplus(l_i) - x_i l_i and, when
     * {@code g} is not null, writes g_i = scale (sigmoid(l_i) - x_i).
     */
    double bernoulliRow(float[] l, int lo, float[] x, int xo, float[] g, int go, int n, float scale);

    /** ReLU backward on one row, from the output: g_i = y_i > 0 ? g_i : 0. */
    void reluBackward(float[] y, int yo, float[] g, int go, int n);

    /**
     * Adam(W) on elements [from, to): m = b1 m + c1 g; v = b2 v + c2 g^2;
     * p = p dc - ss m / (sqrt(v) ib + eps), in float, in that order of operations.
     */
    void adam(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int from, int to,
              float b1, float c1, float b2, float c2, float ss, float ib, float eps, float dc);

    /**
     * im2col of one output pixel whose 4-wide window lies inside the image: for each channel ch
     * and kernel row i, cols[dst + (ch kh + i) 4 + j] = x[src + ch hw + i w + j], j < 4.
     */
    void im2colInside4(float[] x, int src, int hw, int w, int channels, int kh, float[] cols, int dst);

    /**
     * col2im's scatter of one 4-wide window that lies inside the image's columns, kernel rows
     * [iLo, iHi): acc[a + ch hw + i w + j] += cols[q + (ch kh + i) 4 + j], each one addition in double.
     */
    void col2imInside4(float[] cols, int q, int channels, int kh, int iLo, int iHi, int hw, int w, double[] acc, int a);

    /**
     * The conv channel backward's ReLU on one run: g_i = g_i * (y_i > 0 ? 1 : 0), a multiplication
     * (so a zeroed g keeps its sign, and an infinite or NaN g gives NaN), as conv.cu does.
     */
    void reluDerivativeMul(float[] y, int yo, float[] g, int go, int n);

    static F32Math best() {
        return Holder.BEST;
    }

    final class Holder {
        static final F32Math BEST = load();

        private Holder() {
        }

        private static F32Math load() {
            String want = System.getProperty("elbo4j.simd", "auto");
            if (want.equals("scalar")) return new ScalarF32Math();
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
                try {
                    return (F32Math) Class.forName("dev.elbo4j.backend.cpu.VectorF32Math").getDeclaredConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError e) {
                    System.err.println("elbo4j: the Vector API is present but failed to load (" + e + "); using scalar maths");
                    return new ScalarF32Math();
                }
            }
            if (want.equals("vector")) {
                throw new IllegalStateException("-Delbo4j.simd=vector needs the JVM flag --add-modules jdk.incubator.vector");
            }
            System.err.println("elbo4j: CPU maths without SIMD (about 9x slower likelihood); "
                    + "run java with --add-modules jdk.incubator.vector to enable it");
            return new ScalarF32Math();
        }
    }
}
