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

    /**
     * Refuses {@code --device cuda} for a model with conv layers: the CUDA backend has no conv
     * kernels yet (kernels/conv.cu), so such a model runs on the CPU only. A usage error, given
     * before anything is opened or written.
     */
    void checkModel(dev.elbo4j.model.ModelConfig model) {
        if (model.conv() != null && device != null && device.trim().toLowerCase(java.util.Locale.ROOT).startsWith("cuda")) {
            throw new Main.UsageException("--device " + device + ": conv encoders and decoders (" + model.conv().encoderString() + " / "
                    + model.conv().decoderString() + ") have no CUDA kernels yet (kernels/conv.cu); use --device cpu");
        }
    }

    /**
     * The backend for {@code model}: {@link #open()}, except that a model with conv layers stays on
     * the CPU ({@link #checkModel}); with {@code --device auto} a usable GPU is passed over with a
     * line saying why.
     */
    Backend open(dev.elbo4j.model.ModelConfig model) {
        checkModel(model);
        Backend be = open();
        if (model.conv() != null && !be.name().equals("cpu")) {
            be.close();
            System.err.println("elbo4j: running on the CPU: conv layers have no CUDA kernels yet (kernels/conv.cu)");
            return Backends.select("cpu", binding, System.err::println);
        }
        return be;
    }
}
