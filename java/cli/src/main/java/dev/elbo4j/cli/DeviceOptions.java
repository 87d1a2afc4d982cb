package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import picocli.CommandLine.Option;

/** Which backend runs the work. */
final class DeviceOptions {

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "cpu, cuda, or auto: the GPU when one is usable, else the CPU with a line saying why "
                    + "(default: ${DEFAULT-VALUE}).")
    String device;

    Backend open() {
        return Backends.select(device);
    }
}
