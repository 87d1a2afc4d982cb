package dev.elbo4j.bench;

import dev.elbo4j.backend.cpu.Blas;
import dev.elbo4j.backend.cpu.Blases;
import dev.elbo4j.backend.cpu.JavaBlas;
import dev.elbo4j.backend.cpu.openblas.OpenBlas;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * SGEMM microbenchmark over the shapes of the reference VAE training step (784-400-(2x20)-400-784,
 * weights stored {@code [out, in]}, so a forward layer is {@code Y = X W^T}); prints GFLOP/s per
 * shape and the summed GEMM time of one step, for each implementation and thread count.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... dev.elbo4j.bench.GemmBench \
 *      [--impl java,openblas] [--threads 1,2] [--batch 128,1024] [--millis 300]
 * </pre>
 * Each number is the median of 5 timed runs of at least {@code millis / 5} ms each, after a
 * warm-up of {@code millis} ms.
 */
public final class GemmBench {

    /** One GEMM of the training step: C[m x n] = op(A) op(B), op(A) m x k. */
    record Shape(String name, boolean transA, boolean transB, int m, int n, int k) {
        double flops() {
            return 2.0 * m * n * k;
        }
    }

    private GemmBench() {
    }

    /** The GEMMs of one training step at batch size {@code b}. */
    static List<Shape> shapes(int b) {
        return List.of(
                new Shape("fwd enc1  X W1^T", false, true, b, 400, 784),
                new Shape("fwd enc2  H W2^T", false, true, b, 40, 400),
                new Shape("fwd dec1  Z W3^T", false, true, b, 400, 20),
                new Shape("fwd dec2  H W4^T", false, true, b, 784, 400),
                new Shape("bwd dX4   dY W4", false, false, b, 400, 784),
                new Shape("bwd dX3   dY W3", false, false, b, 20, 400),
                new Shape("bwd dX2   dY W2", false, false, b, 400, 40),
                new Shape("bwd dW4   dY^T H", true, false, 784, 400, b),
                new Shape("bwd dW3   dY^T Z", true, false, 400, 20, b),
                new Shape("bwd dW2   dY^T H", true, false, 40, 400, b),
                new Shape("bwd dW1   dY^T X", true, false, 400, 784, b));
    }

    public static void main(String[] args) {
        List<String> impls = List.of("java", "openblas");
        int[] threads = {1, 2};
        int[] batches = {128, 1024};
        long millis = 300;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--impl" -> impls = List.of(v.split(","));
                case "--threads" -> threads = ints(v);
                case "--batch" -> batches = ints(v);
                case "--millis" -> millis = Long.parseLong(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; options: --impl java,openblas --threads 1,2 --batch 128,1024"
                        + " --millis 300");
            }
            i++;
        }
        System.out.printf(Locale.ROOT, "# %s, %d CPUs, java %s%n", System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), Runtime.version());
        for (String impl : impls) {
            for (int t : threads) {
                Optional<Blas> blas = create(impl, t);
                if (blas.isEmpty()) {
                    continue;
                }
                for (int b : batches) {
                    run(blas.get(), impl + " threads=" + t, b, millis);
                }
            }
        }
    }

    private static Optional<Blas> create(String impl, int threads) {
        switch (impl) {
            case "java":
                return Optional.of(new JavaBlas(threads));
            case "openblas":
                Optional<OpenBlas> o = Blases.openBlas();
                if (o.isEmpty()) {
                    System.out.println("# openblas: not loadable: " + Blases.openBlasReasons());
                    return Optional.empty();
                }
                o.get().setThreads(threads);
                return Optional.of(o.get());
            default:
                throw new IllegalArgumentException("unknown implementation " + impl);
        }
    }

    private static void run(Blas blas, String label, int batch, long millis) {
        System.out.printf(Locale.ROOT, "%n## %s, batch %d%n", label, batch);
        System.out.printf(Locale.ROOT, "%-18s %5s %5s %5s %5s %9s %9s%n",
                "shape", "op", "m", "n", "k", "GFLOP/s", "ms/call");
        double stepSeconds = 0, stepFlops = 0;
        for (Shape s : shapes(batch)) {
            double sec = time(blas, s, millis);
            stepSeconds += sec;
            stepFlops += s.flops();
            System.out.printf(Locale.ROOT, "%-18s %5s %5d %5d %5d %9.1f %9.3f%n", s.name(),
                    (s.transA() ? "T" : "N") + (s.transB() ? "T" : "N"), s.m(), s.n(), s.k(),
                    s.flops() / sec / 1e9, sec * 1e3);
        }
        System.out.printf(Locale.ROOT, "%-18s %29.1f %9.3f%n", "step (all GEMMs)",
                stepFlops / stepSeconds / 1e9, stepSeconds * 1e3);
    }

    /** Median seconds per call. */
    private static double time(Blas blas, Shape s, long millis) {
        SplittableRandom rnd = new SplittableRandom(1);
        int aRows = s.transA() ? s.k() : s.m(), aCols = s.transA() ? s.m() : s.k();
        int bRows = s.transB() ? s.n() : s.k(), bCols = s.transB() ? s.k() : s.n();
        float[] a = random(aRows * aCols, rnd), b = random(bRows * bCols, rnd);
        float[] c = new float[s.m() * s.n()];
        Runnable call = () -> blas.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f,
                a, 0, aCols, b, 0, bCols, 0f, c, 0, s.n());
        runFor(call, millis); // warm-up
        double[] runs = new double[5];
        for (int r = 0; r < runs.length; r++) {
            runs[r] = runFor(call, millis / runs.length);
        }
        Arrays.sort(runs);
        return runs[runs.length / 2];
    }

    /** Calls {@code call} for at least {@code millis} ms (and 3 calls); seconds per call. */
    private static double runFor(Runnable call, long millis) {
        long start = System.nanoTime(), end = start + millis * 1_000_000L;
        long calls = 0, now;
        do {
            call.run();
            calls++;
            now = System.nanoTime();
        } while (now < end || calls < 3);
        return (now - start) / 1e9 / calls;
    }

    private static float[] random(int n, SplittableRandom rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static int[] ints(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            out.add(Integer.parseInt(s.strip()));
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
