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
