package dev.elbo4j.backend;

import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.backend.cuda.CudaBackend;
import dev.elbo4j.backend.cuda.CudaBinding;
import dev.elbo4j.backend.cuda.CudaBindings;
import dev.elbo4j.backend.cuda.ffm.FfmBinding;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * Chooses a backend from the {@code --device} flag: {@code cpu}, {@code cuda} (device 0),
 * {@code cuda:N} (device N) or {@code auto}.
 *
 * <ul>
 *   <li>{@code cpu}: the pure-Java reference.</li>
 *   <li>{@code cuda}, {@code cuda:N}: the GPU, or {@link BackendUnavailableException} listing every
 *       reason it cannot run (no driver library, cuInit failure, no device, no kernels in this build,
 *       no cuBLAS, ...).</li>
 *   <li>{@code auto}: the GPU when it can run, else the CPU with one line on stderr listing the
 *       reasons.</li>
 * </ul>
 */
public final class Backends {
    /** The accepted values, for messages. */
    public static final String CHOICES = "auto, cpu, cuda, cuda:N";

    private Backends() {
    }

    /** {@link #select(String, CudaBinding, Consumer)} with the FFM binding, warning on stderr. */
    public static Backend select(String device) {
        return select(device, new FfmBinding(), System.err::println);
    }

    /** {@link #select(String, CudaBinding, Consumer)} with the FFM binding (a CLI passes its error writer). */
    public static Backend select(String device, Consumer<String> warnings) {
        return select(device, new FfmBinding(), warnings);
    }

    /**
     * {@link #select(String, CudaBinding, Consumer)} with the binding named by {@code --binding}
     * ({@link CudaBindings#named}: {@code ffm}, the default, {@code jcuda} or {@code jcuda:strict}).
     * The binding is only created here; it loads nothing unless the device is {@code cuda} or
     * {@code auto}, so {@code --device cpu --binding jcuda} never touches JCuda.
     *
     * @throws IllegalArgumentException for an unknown device or binding
     */
    public static Backend select(String device, String binding, Consumer<String> warnings) {
        return select(device, CudaBindings.named(binding, warnings), warnings);
    }

    /**
     * @param device   the flag's value
     * @param cuda     how to reach CUDA (the FFM binding; tests pass their own)
     * @param warnings receives the one line {@code auto} prints when it falls back to the CPU
     * @throws IllegalArgumentException    for an unknown value
     * @throws BackendUnavailableException for {@code cuda} when the GPU path cannot run
     */
    public static Backend select(String device, CudaBinding cuda, Consumer<String> warnings) {
        String d = device == null ? "" : device.strip().toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) return new CpuBackend();
        if (d.equals("auto")) {
            try {
                return CudaBackend.open(cuda, 0);
            } catch (BackendUnavailableException e) {
                warnings.accept("elbo4j: using the CPU backend; CUDA is unavailable: "
                        + String.join("; ", e.reasons()).replaceAll("\\s*\\R\\s*", " "));
                return new CpuBackend();
            }
        }
        if (d.equals("cuda")) return CudaBackend.open(cuda, 0);
        if (d.startsWith("cuda:")) {
            String n = d.substring("cuda:".length());
            if (n.matches("\\d{1,3}")) return CudaBackend.open(cuda, Integer.parseInt(n));
        }
        throw new IllegalArgumentException("unknown device '" + device + "' (choices: " + CHOICES + ")");
    }
}
