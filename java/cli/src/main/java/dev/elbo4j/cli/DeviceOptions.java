package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import picocli.CommandLine.Option;

/** Which backend runs the work, and through which CUDA binding. */
final class DeviceOptions {

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "cpu, cuda, or auto: the GPU when one is usable, else the CPU with a line saying why "
                    + "(default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--binding", paramLabel = "BINDING", defaultValue = "ffm",
            description = "How the CUDA backend reaches the driver and cuBLAS: ffm (java.lang.foreign), jcuda "
                    + "(JCuda 12.6; GEMMs fall back to FFM cuBLAS, with a note, where JCublas2 lacks "
                    + "libcublas.so.12) or jcuda:strict (JCublas2 or nothing) (default: ${DEFAULT-VALUE}).")
    String binding;

    Backend open() {
        return Backends.select(device, binding, System.err::println);
    }

    /** The backend for {@code model}: {@link #open()}; conv layers run on either backend (kernels/conv.cu on the GPU). */
    Backend open(dev.elbo4j.model.ModelConfig model) {
        return open();
    }
}
