package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.cuda.ffm.FfmBinding;
import dev.elbo4j.backend.cuda.jcuda.JCudaBinding;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * The {@code --binding} choice: which {@link CudaBinding} reaches the driver and cuBLAS.
 *
 * <ul>
 *   <li>{@code ffm} (the default): {@code java.lang.foreign} over {@code libcuda.so.1} and
 *       {@code libcublas.so.13}/{@code .12}.</li>
 *   <li>{@code jcuda}: JCuda 12.6 for the driver API and JCublas2 for GEMMs; where JCublas2 cannot
 *       load (no {@code libcublas.so.12}) GEMMs go through the FFM cuBLAS binding, said in one line.</li>
 *   <li>{@code jcuda:strict}: as {@code jcuda}, but a missing JCublas2 makes CUDA unavailable.</li>
 * </ul>
 *
 * <p>Naming a binding creates it and nothing else: JCuda's classes and native libraries are loaded
 * only when the backend asks the jcuda binding for its driver, so the CPU and FFM paths never touch
 * them.
 */
public final class CudaBindings {
    /** The accepted values, for messages. */
    public static final String CHOICES = "ffm, jcuda, jcuda:strict";
    /** The default binding's name. */
    public static final String DEFAULT = "ffm";

    private CudaBindings() {
    }

    /** Whether {@link #named} knows {@code name}: one of {@link #CHOICES} in any case, or null or blank for the default. */
    public static boolean known(String name) {
        return name == null || name.isBlank() || name.strip().toLowerCase(Locale.ROOT).matches("ffm|jcuda|jcuda:strict");
    }

    /**
     * The binding called {@code name} (case-insensitive; null or blank is {@value #DEFAULT}).
     *
     * @param notes receives the jcuda binding's one line about falling back to FFM cuBLAS
     * @throws IllegalArgumentException for an unknown name, listing the choices
     */
    public static CudaBinding named(String name, Consumer<String> notes) {
        String n = name == null || name.isBlank() ? DEFAULT : name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "ffm" -> new FfmBinding();
            case "jcuda" -> new JCudaBinding(false, LibrarySearch.cublas(), notes);
            case "jcuda:strict" -> new JCudaBinding(true, LibrarySearch.cublas(), notes);
            default -> throw new IllegalArgumentException("unknown CUDA binding '" + name + "' (choices: " + CHOICES + ")");
        };
    }
}
