package dev.elbo4j.backend.cuda;

/**
 * The CUDA driver version the kernels need, and how versions are written in messages.
 * {@code cuDriverGetVersion} reports 1000 x major + 10 x minor (13000 for CUDA 13.0).
 *
 * <p>The packaged fatbin is built by nvcc 13 (SASS for sm_80..sm_90 and PTX 9.0), which a CUDA 12
 * driver refuses, and {@code libcublas.so.13} needs a CUDA 13 driver too (R580 or newer). A fatbin
 * named by {@code -Delbo4j.kernels} may come from another toolkit, so it is not held to this
 * minimum: the driver's module loader decides, and cuBLAS is chosen to match the driver
 * ({@link LibrarySearch#forDriver}).
 */
public final class DriverVersion {
    /** What the packaged kernels need: CUDA 13.0. */
    public static final int KERNELS_NEED = 13000;

    private DriverVersion() {
    }

    /** "13.0" for 13000, "12.4" for 12040. */
    public static String name(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }

    /**
     * The one-line reason for a driver older than {@code needed}, naming both, e.g. "the CUDA driver
     * is version 12.4 (libcuda via FFM (/usr/lib/libcuda.so.1)), older than the CUDA 13.0 driver
     * (R580 or newer) that the kernels of this build (nvcc 13, PTX 9.0) need".
     */
    public static String tooOld(int found, int needed, String driver) {
        return "the CUDA driver is version " + name(found) + " (" + driver + "), older than the CUDA " + name(needed)
                + " driver (R580 or newer) that the kernels of this build (nvcc 13, PTX 9.0) need";
    }
}
