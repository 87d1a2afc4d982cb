package dev.elbo4j.backend.cuda;

/**
 * What the driver reports about one GPU.
 *
 * @param ordinal         the device's index (as in {@code cuDeviceGet})
 * @param name            the marketing name, e.g. "NVIDIA H100 80GB HBM3"
 * @param totalMemory     bytes of device memory
 * @param computeMajor    compute capability, major (9 for sm_90)
 * @param computeMinor    compute capability, minor
 * @param multiprocessors number of SMs
 */
public record CudaDeviceInfo(int ordinal, String name, long totalMemory, int computeMajor, int computeMinor,
                             int multiprocessors) {

    /** "sm_90" for compute capability 9.0. */
    public String arch() {
        return "sm_" + computeMajor + computeMinor;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s (%s, %d SMs, %.1f GiB)", name, arch(), multiprocessors,
                totalMemory / (double) (1L << 30));
    }
}
