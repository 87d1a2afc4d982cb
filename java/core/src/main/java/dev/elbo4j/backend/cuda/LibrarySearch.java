package dev.elbo4j.backend.cuda;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Where a binding looks for a native library, and how it says what it did not find. Pure Java
 * (no loading here), so the search and its messages are tested without CUDA.
 *
 * <p>Order: the explicit choice (system property, then environment variable) alone when set;
 * otherwise every existing {@code dir/name} for the names in order of preference and the
 * directories in order, then each name bare, for the dynamic loader's own search
 * ({@code LD_LIBRARY_PATH}, {@code ld.so.cache}, the default directories).
 *
 * @param library  what is looked for, for messages ("the CUDA driver", "cuBLAS")
 * @param names    file names in order of preference ({@code libcublas.so.13}, {@code libcublas.so.12})
 * @param dirs     directories searched before the loader, in order
 * @param explicit the user's choice (a path or a bare name), or null
 * @param property the system property that sets {@code explicit}, for the hint
 * @param env      the environment variable that sets {@code explicit}, for the hint
 */
public record LibrarySearch(String library, List<String> names, List<Path> dirs, String explicit, String property,
                            String env) {

    /** System property naming the driver library ({@code libcuda.so.1}) to load. */
    public static final String CUDA_PROPERTY = "elbo4j.libcuda";
    /** Environment variable naming the driver library, read when {@link #CUDA_PROPERTY} is unset. */
    public static final String CUDA_ENV = "ELBO4J_LIBCUDA";
    /** System property naming the cuBLAS library to load. */
    public static final String CUBLAS_PROPERTY = "elbo4j.cublas";
    /** Environment variable naming the cuBLAS library, read when {@link #CUBLAS_PROPERTY} is unset. */
    public static final String CUBLAS_ENV = "ELBO4J_CUBLAS";
    /** System property naming the cuBLASLt library to load. */
    public static final String CUBLASLT_PROPERTY = "elbo4j.cublaslt.library";
    /** Environment variable naming the cuBLASLt library, read when {@link #CUBLASLT_PROPERTY} is unset. */
    public static final String CUBLASLT_ENV = "ELBO4J_CUBLASLT_LIBRARY";

    /** Copies the lists; a blank {@code explicit} counts as none (null). */
    public LibrarySearch {
        names = List.copyOf(names);
        dirs = List.copyOf(dirs);
        if (explicit != null && explicit.isBlank()) explicit = null;
    }

    /** The driver's search as this process sees it (system properties and environment). */
    public static LibrarySearch cudaDriver() {
        return cudaDriver(System::getProperty, System::getenv);
    }

    /**
     * {@code libcuda.so.1} only (a bare {@code libcuda.so} in a toolkit directory is usually the
     * link-time stub, which fails every call with CUDA_ERROR_STUB_LIBRARY): the distribution's
     * library directories, the container mount {@code /usr/local/nvidia}, WSL's, then
     * {@code LD_LIBRARY_PATH} and the loader.
     */
    public static LibrarySearch cudaDriver(UnaryOperator<String> properties, UnaryOperator<String> env) {
        List<Path> dirs = new ArrayList<>();
        for (String d : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib")) {
            dirs.add(Path.of(d));
        }
        addPathList(dirs, env.apply("LD_LIBRARY_PATH"));
        return new LibrarySearch("the CUDA driver", List.of("libcuda.so.1"), dedupe(dirs),
                firstSet(properties.apply(CUDA_PROPERTY), env.apply(CUDA_ENV)), CUDA_PROPERTY, CUDA_ENV);
    }

    /** cuBLAS's search as this process sees it. */
    public static LibrarySearch cublas() {
        return cublas(System::getProperty, System::getenv);
    }

    /**
     * {@code libcublas.so.13}, then {@code .12}: {@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64},
     * {@code /usr/local/cuda/lib64} (and its {@code targets/*-linux/lib}), the distribution's library
     * directories, the NVIDIA wheels of a Python environment ({@code site-packages/nvidia/cublas/lib},
     * {@code nvidia/cu13/lib}; from {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX}, {@code /opt/*}), then
     * {@code LD_LIBRARY_PATH} and the loader.
     */
    public static LibrarySearch cublas(UnaryOperator<String> properties, UnaryOperator<String> env) {
        List<Path> dirs = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = env.apply(var);
            if (home != null && !home.isBlank()) {
                dirs.add(Path.of(home.strip(), "lib64"));
                dirs.add(Path.of(home.strip(), "lib"));
            }
        }
        for (String d : List.of("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                "/usr/local/cuda/targets/sbsa-linux/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/usr/lib64", "/usr/lib")) {
            dirs.add(Path.of(d));
        }
        List<Path> pythonRoots = new ArrayList<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String root = env.apply(var);
            if (root != null && !root.isBlank()) pythonRoots.add(Path.of(root.strip(), "lib"));
        }
        pythonRoots.add(Path.of("/usr/local/lib"));
        pythonRoots.add(Path.of("/usr/lib"));
        for (Path opt : list(Path.of("/opt"))) {
            pythonRoots.add(opt.resolve(".venv/lib"));
            pythonRoots.add(opt.resolve("lib"));
        }
        for (Path root : pythonRoots) {
            for (Path py : list(root)) {
                if (!py.getFileName().toString().startsWith("python3")) continue;
                for (String packages : List.of("site-packages", "dist-packages")) {
                    Path nvidia = py.resolve(packages).resolve("nvidia");
                    for (String sub : List.of("cublas/lib", "cu13/lib", "cu12/lib")) {
                        Path d = nvidia.resolve(sub);
                        if (Files.isDirectory(d)) dirs.add(d);
                    }
                }
            }
        }
        addPathList(dirs, env.apply("LD_LIBRARY_PATH"));
        return new LibrarySearch("cuBLAS", List.of("libcublas.so.13", "libcublas.so.12"), dedupe(dirs),
                firstSet(properties.apply(CUBLAS_PROPERTY), env.apply(CUBLAS_ENV)), CUBLAS_PROPERTY, CUBLAS_ENV);
    }

    /** cuBLASLt's search as this process sees it. */
    public static LibrarySearch cublasLt() {
        return cublasLt(System::getProperty, System::getenv);
    }

    /**
     * {@code libcublasLt.so.13}, then {@code .12}, in the directories {@link #cublas} searches (the two
     * ship together); unless {@link #CUBLASLT_PROPERTY} or {@link #CUBLASLT_ENV} names one, a cuBLAS
     * chosen explicitly brings the cuBLASLt beside it ({@link #cublasLtBeside}).
     */
    public static LibrarySearch cublasLt(UnaryOperator<String> properties, UnaryOperator<String> env) {
        LibrarySearch blas = cublas(properties, env);
        String explicit = firstSet(properties.apply(CUBLASLT_PROPERTY), env.apply(CUBLASLT_ENV));
        if (explicit == null && blas.explicit() != null) return cublasLtBeside(blas);
        return new LibrarySearch("cuBLASLt", List.of("libcublasLt.so.13", "libcublasLt.so.12"), blas.dirs(), explicit,
                CUBLASLT_PROPERTY, CUBLASLT_ENV);
    }

    /**
     * For an explicitly chosen cuBLAS ({@code dir/libcublas.so.N}): {@code dir/libcublasLt.so.N} alone
     * (a test's fake cuBLAS has none, so no real cuBLASLt is mixed with a fake driver); otherwise the
     * usual search.
     */
    public static LibrarySearch cublasLtBeside(LibrarySearch blas) {
        if (blas.explicit() == null) return cublasLt();
        Path p = Path.of(blas.explicit().strip());
        String name = p.getFileName().toString();
        String lt = name.startsWith("libcublas.") ? "libcublasLt." + name.substring("libcublas.".length()) : "libcublasLt.so";
        Path dir = p.getParent();
        return new LibrarySearch("cuBLASLt", List.of(lt), List.of(), (dir == null ? Path.of(lt) : dir.resolve(lt)).toString(),
                CUBLASLT_PROPERTY, CUBLASLT_ENV);
    }

    /**
     * This search without the names whose {@code .so} major version is newer than the driver's
     * (a {@code libcublas.so.13} needs a CUDA 13 driver): the library that matches the driver is
     * tried first, and one that cannot work is never loaded. An explicit choice is kept as it is,
     * and so is every name when the driver version is unknown ({@code driverVersion <= 0}) or
     * no name would be left.
     */
    public LibrarySearch forDriver(int driverVersion) {
        if (explicit != null || driverVersion <= 0) return this;
        List<String> usable = new ArrayList<>();
        for (String name : names) {
            int major = soMajor(name);
            if (major < 0 || major <= driverVersion / 1000) usable.add(name);
        }
        return usable.isEmpty() || usable.size() == names.size() ? this
                : new LibrarySearch(library, usable, dirs, null, property, env);
    }

    /** 13 for {@code libcublas.so.13}, -1 for a name without a numeric {@code .so} version. */
    static int soMajor(String name) {
        int i = name.lastIndexOf(".so.");
        if (i < 0) return -1;
        String v = name.substring(i + 4);
        int dot = v.indexOf('.');
        if (dot >= 0) v = v.substring(0, dot);
        return v.matches("\\d{1,3}") ? Integer.parseInt(v) : -1;
    }

    /**
     * What a binding tries, in order: the explicit choice alone, else each existing file of
     * {@code dirs x names} (preferred name first: a {@code .13} anywhere before a {@code .12}), then
     * each bare name for the dynamic loader.
     */
    public List<String> candidates() {
        if (explicit != null) return List.of(explicit.strip());
        List<String> out = new ArrayList<>();
        for (String name : names) {
            for (Path dir : dirs) {
                Path p = dir.resolve(name);
                if (Files.isRegularFile(p)) out.add(p.toString());
            }
        }
        out.addAll(names);
        return out;
    }

    /**
     * The one-line reason given when no candidate loaded: which names were looked for, every
     * directory searched, the loader, each candidate's failure, and how to point at the library.
     */
    public String notFound(List<String> failures) {
        StringBuilder b = new StringBuilder();
        if (explicit != null) {
            b.append(library).append(": cannot load ").append(explicit.strip()).append(" (set by -D").append(property)
                    .append(" or $").append(env).append(")");
        } else {
            b.append("no ").append(String.join(" or ", names)).append(" found for ").append(library)
                    .append(" (searched ");
            List<String> where = new ArrayList<>();
            for (Path d : dirs) where.add(d.toString());
            where.add("the dynamic loader's path");
            b.append(String.join(", ", where)).append(')');
        }
        if (!failures.isEmpty()) b.append("; ").append(String.join("; ", failures));
        if (explicit == null) b.append("; set -D").append(property).append("=/path/to/").append(names.getFirst())
                .append(" to choose one");
        return b.toString();
    }

    private static String firstSet(String a, String b) {
        if (a != null && !a.isBlank()) return a;
        return b != null && !b.isBlank() ? b : null;
    }

    private static void addPathList(List<Path> dirs, String list) {
        if (list == null) return;
        for (String s : list.split(":")) {
            if (!s.isBlank()) dirs.add(Path.of(s.strip()));
        }
    }

    private static List<Path> dedupe(List<Path> dirs) {
        Set<Path> seen = new LinkedHashSet<>(dirs);
        return List.copyOf(seen);
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (Files.isDirectory(p)) out.add(p);
            }
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        out.sort(null);
        return out;
    }
}
