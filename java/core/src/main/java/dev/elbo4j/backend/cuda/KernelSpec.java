package dev.elbo4j.backend.cuda;

import java.util.List;

/**
 * A kernel entry point: its {@code extern "C"} name, the source file under {@code kernels/}, the
 * threads per block it is launched with (its {@code __launch_bounds__}) and its parameter kinds in
 * order. {@link #check(KernelArgs)} runs before every launch: an argument list that does not match
 * the declaration would make the kernel read garbage, so it never reaches the driver.
 * KernelSourceTest checks each declaration against the .cu source.
 *
 * @param name    the {@code extern "C"} entry point, e.g. {@code elbo4j_adam_f32}
 * @param file    the source file under {@code kernels/}, e.g. {@code optim.cu}
 * @param threads threads per block, 32 to 1024, a multiple of 32
 * @param params  the parameter kinds in declaration order
 */
public record KernelSpec(String name, String file, int threads, List<KernelArgs.Kind> params) {

    /**
     * Copies {@code params} and checks {@code threads}: 32 to 1024, a multiple of the warp size.
     *
     * @throws IllegalArgumentException naming the kernel when {@code threads} is not
     */
    public KernelSpec {
        params = List.copyOf(params);
        if (threads < 1 || threads > 1024 || threads % 32 != 0) {
            throw new IllegalArgumentException(name + ": " + threads + " threads per block");
        }
    }

    static KernelSpec of(String file, String name, int threads, KernelArgs.Kind... params) {
        return new KernelSpec(name, file, threads, List.of(params));
    }

    /** Throws IllegalStateException if {@code args} does not match the declared parameters. */
    public void check(KernelArgs args) {
        if (args.count() != params.size()) {
            throw new IllegalStateException(name + " takes " + params.size() + " arguments, got " + args.count()
                    + " " + args);
        }
        for (int i = 0; i < params.size(); i++) {
            if (args.kind(i) != params.get(i)) {
                throw new IllegalStateException(name + " argument " + i + " must be " + params.get(i) + ", got "
                        + args.kind(i) + " " + args);
            }
        }
    }
}
