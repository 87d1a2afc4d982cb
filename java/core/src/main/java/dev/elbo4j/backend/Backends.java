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
 *   <li>{@code auto}: the GPU when it can run, else the CPU with one short line on stderr: the
 *       first reason and how to see every one ({@code --device cuda}, or {@value #VERBOSE_ENV}=1).</li>
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
     * Chooses how a CUDA backend runs the dense layers: on cuBLASLt with fused epilogues (the bias, the
     * ReLU and, in an {@code nn.Mlp}, the ReLU's derivative and bias gradient in the GEMMs; docs/GPU.md)
     * or on cuBLAS with elbo4j's bias/activation kernels. Returns false, changing nothing, for a backend
     * without that choice (the CPU).
     *
     * @throws IllegalStateException where cuBLASLt is asked for and could not be loaded (with the reason)
     */
    public static boolean useCublasLt(Backend backend, boolean on) {
        if (!(backend instanceof CudaBackend cuda)) return false;
        cuda.setCublasLt(on);
        return true;
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
     * The backend for a {@code --device} value (see the class comment), reaching CUDA through {@code cuda};
     * {@code auto}'s fallback line lists every reason when {@link #verbose()}. The caller owns the backend and
     * closes it.
     *
     * @param device   the flag's value
     * @param cuda     how to reach CUDA (the FFM binding; tests pass their own)
     * @param warnings receives the one line {@code auto} prints when it falls back to the CPU
     * @throws IllegalArgumentException    for an unknown value
     * @throws BackendUnavailableException for {@code cuda} when the GPU path cannot run
     */
    public static Backend select(String device, CudaBinding cuda, Consumer<String> warnings) {
        return select(device, cuda, warnings, verbose());
    }

    /**
     * {@link #select(String, CudaBinding, Consumer)}; with {@code verbose}, {@code auto}'s line
     * lists every reason instead of the first.
     */
    public static Backend select(String device, CudaBinding cuda, Consumer<String> warnings, boolean verbose) {
        if (!known(device)) throw new IllegalArgumentException("unknown device '" + device + "' (choices: " + CHOICES + ")");
        String d = device.strip().toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) return new CpuBackend();
        if (d.equals("auto")) {
            try {
                return CudaBackend.open(cuda, 0);
            } catch (BackendUnavailableException e) {
                warnings.accept(fallbackLine(e.reasons(), verbose));
                return new CpuBackend();
            }
        }
        if (d.equals("cuda")) return CudaBackend.open(cuda, 0);
        return CudaBackend.open(cuda, Integer.parseInt(d.substring("cuda:".length())));
    }

    /** Whether {@link #select} knows {@code device}: one of {@link #CHOICES}, N of 1 to 3 digits, in any case. */
    public static boolean known(String device) {
        return device != null && device.strip().toLowerCase(Locale.ROOT).matches("auto|cpu|cuda|cuda:\\d{1,3}");
    }

    /** Whether {@value #VERBOSE_ENV}=1 or {@code -D}{@value #VERBOSE_PROPERTY}{@code =true} asks for every reason. */
    public static boolean verbose() {
        return Boolean.getBoolean(VERBOSE_PROPERTY) || "1".equals(System.getenv(VERBOSE_ENV))
                || "true".equalsIgnoreCase(System.getenv(VERBOSE_ENV));
    }

    /** Environment variable that makes {@code auto}'s fallback line list every reason. */
    public static final String VERBOSE_ENV = "ELBO4J_VERBOSE";
    /** System property with the same effect as {@value #VERBOSE_ENV}. */
    public static final String VERBOSE_PROPERTY = "elbo4j.verbose";
    private static final int SHORT_REASON = 200;

    /**
     * The one line {@code auto} prints when it falls back: the first reason, shortened (no list of
     * searched directories), and how to see the rest; every reason in full when {@code verbose}.
     */
    public static String fallbackLine(java.util.List<String> reasons, boolean verbose) {
        String head = "elbo4j: using the CPU backend; CUDA is unavailable: ";
        if (verbose || reasons.isEmpty()) return head + oneLine(String.join("; ", reasons));
        String first = shorten(oneLine(reasons.getFirst()));
        int more = reasons.size() - 1;
        return head + first + " (" + (more == 0 ? "" : more + (more == 1 ? " more reason; " : " more reasons; "))
                + "--device cuda or " + VERBOSE_ENV + "=1 shows " + (more == 0 ? "the details" : "all") + ")";
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " ");
    }

    /** The reason's first clause (up to "; "), without a " (searched ...)" list, at most 200 characters. */
    public static String shorten(String reason) {
        String s = reason;
        int i = s.indexOf(" (searched ");
        if (i >= 0) {
            int depth = 0, end = -1;
            for (int j = i + 1; j < s.length(); j++) {
                char c = s.charAt(j);
                if (c == '(') depth++;
                else if (c == ')' && --depth == 0) {
                    end = j + 1;
                    break;
                }
            }
            s = end < 0 ? s.substring(0, i) : s.substring(0, i) + s.substring(end);
        }
        int cut = s.indexOf("; ");
        if (cut > 0) s = s.substring(0, cut);
        if (s.length() > SHORT_REASON) s = s.substring(0, SHORT_REASON - 3) + "...";
        return s;
    }
}
