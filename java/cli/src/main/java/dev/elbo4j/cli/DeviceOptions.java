package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Backends;
import picocli.CommandLine.Option;

/** Which backend runs the work, and through which CUDA binding. */
final class DeviceOptions {

    @Option(names = "--device", completionCandidates = Candidates.Devices.class, paramLabel = "DEVICE", defaultValue = "auto",
            description = "cpu, cuda, or auto: the GPU when one is usable, else the CPU with a line saying why "
                    + "(default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--binding", paramLabel = "BINDING", defaultValue = "ffm", completionCandidates = Candidates.Bindings.class,
            description = "How the CUDA backend reaches the driver and cuBLAS: ffm (java.lang.foreign), jcuda "
                    + "(JCuda 12.6; GEMMs fall back to FFM cuBLAS, with a note, where JCublas2 lacks "
                    + "libcublas.so.12) or jcuda:strict (JCublas2 or nothing) (default: ${DEFAULT-VALUE}).")
    String binding;

    @Option(names = "--threads", paramLabel = "N", converter = PositiveCount.class,
            description = "Threads the CPU backend computes on (its GEMMs and row loops; the header of train and eval "
                    + "shows them). Default: every core, or -Delbo4j.threads. The GPU backend takes no threads of its own.")
    Integer threads;

    /** A count of at least 1, refused at parsing (before a command reads any file), the flag named by picocli. */
    static final class PositiveCount implements picocli.CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n;
            try {
                n = Integer.parseInt(value.strip());
            } catch (NumberFormatException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a whole number");
            }
            if (n < 1) throw new picocli.CommandLine.TypeConversionException("must be at least 1, got " + n);
            return n;
        }
    }

    /** The GPU's two ways of running dense layers (docs/GPU.md, "The cuBLASLt path"). */
    enum Dense { hand, cublaslt }

    @Option(names = "--dense", paramLabel = "PATH",
            description = "How the GPU runs the dense layers: hand (cuBLAS GEMMs and elbo4j's bias/activation "
                    + "kernels) or cublaslt (cuBLASLt GEMMs whose epilogues add the bias, apply the ReLU and, "
                    + "training, its derivative and bias gradient: fewer kernels per step; the same figures "
                    + "to rounding). The CPU has one way; with --device auto on a machine without a GPU "
                    + "the flag is noted and left. Default: hand, or cublaslt where ELBO4J_CUBLASLT=1.")
    Dense dense;

    /** The flags' own consistency, before a command touches any file. */
    void check() {
        if (!Backends.known(device)) {
            throw new Main.UsageException("--device " + device + ": unknown (choices: " + Backends.CHOICES + ")");
        }
        if (!dev.elbo4j.backend.cuda.CudaBindings.known(binding)) {
            throw new Main.UsageException("--binding " + binding + ": unknown (choices: " + dev.elbo4j.backend.cuda.CudaBindings.CHOICES + ")");
        }
        if (dense == Dense.cublaslt && device != null && device.strip().equalsIgnoreCase("cpu")) {
            throw new Main.UsageException("--dense cublaslt runs on the GPU: use --device cuda (or auto), or leave --dense out");
        }
    }

    Backend open() {
        check();
        if (threads != null) dev.elbo4j.backend.cpu.CpuThreads.set(threads); // before the process's first CPU backend
        Backend be = Backends.select(device, binding, System.err::println);
        if (dense == null) return be;
        try {
            if (!Backends.useCublasLt(be, dense == Dense.cublaslt) && dense == Dense.cublaslt) {
                System.err.println("note: --dense cublaslt applies to the GPU only; the CPU runs the dense layers its own way");
            }
        } catch (IllegalStateException e) {
            be.close();
            throw new IllegalStateException("--dense cublaslt: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            be.close();
            throw e;
        }
        return be;
    }

    /** The backend for {@code model}: {@link #open()}; conv layers run on either backend (kernels/conv.cu on the GPU). */
    Backend open(dev.elbo4j.model.ModelConfig model) {
        return open();
    }
}
