package dev.elbo4j.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The compiled kernels: one fatbin ({@code scripts/build-kernels.sh}, SASS for sm_80, sm_86,
 * sm_89, sm_90 and PTX for compute_90) shipped as the classpath resource {@value #RESOURCE}. The
 * system property {@value #PROPERTY} names a fatbin file to use instead (handy on a GPU host after
 * rebuilding only the kernels).
 *
 * <p>A fatbin starts with a 16-byte little-endian header: magic {@code 0xBA55ED50}, version (u16)
 * 1, header size (u16) 16, then the size (u64) of the payload that follows the header.
 */
public final class KernelImage {
    /** Classpath location of the fatbin. */
    public static final String RESOURCE = "dev/elbo4j/kernels/elbo4j.fatbin";
    /** System property naming a fatbin file that replaces the resource. */
    public static final String PROPERTY = "elbo4j.kernels";
    /** The reason given when a build carries no kernels. */
    public static final String MISSING = "this build has no CUDA kernels: run `make kernels` on a machine with nvcc";
    /** First word of every fatbin, little-endian. */
    public static final int FATBIN_MAGIC = 0xBA55ED50;
    private static final int HEADER_BYTES = 16;

    private KernelImage() {
    }

    /**
     * The kernels of this build: the {@value #PROPERTY} file if set, else the classpath resource.
     * Returns empty and appends the reason when there is none or it is not a fatbin.
     */
    public static Optional<byte[]> find(List<String> reasons) {
        String file = System.getProperty(PROPERTY);
        byte[] image;
        String origin;
        try {
            if (file != null && !file.isBlank()) {
                Path p = Path.of(file.strip());
                if (!Files.isRegularFile(p)) {
                    reasons.add("kernel fatbin " + p + " (from -D" + PROPERTY + ") does not exist");
                    return Optional.empty();
                }
                image = Files.readAllBytes(p);
                origin = p.toString();
            } else {
                image = readResource(KernelImage.class.getClassLoader());
                if (image == null) {
                    reasons.add(MISSING);
                    return Optional.empty();
                }
                origin = "classpath:" + RESOURCE;
            }
        } catch (IOException e) {
            reasons.add("cannot read the kernel fatbin: " + e.getMessage());
            return Optional.empty();
        }
        String problem = problem(image);
        if (problem != null) {
            reasons.add(origin + " is not a valid fatbin: " + problem);
            return Optional.empty();
        }
        return Optional.of(image);
    }

    /** Whether {@value #PROPERTY} names a fatbin to use instead of the packaged one. */
    public static boolean overridden() {
        String file = System.getProperty(PROPERTY);
        return file != null && !file.isBlank();
    }

    /** The kernels of this build, or IllegalStateException with the reason. */
    public static byte[] load() {
        List<String> reasons = new java.util.ArrayList<>();
        return find(reasons).orElseThrow(() -> new IllegalStateException(String.join("; ", reasons)));
    }

    private static byte[] readResource(ClassLoader loader) throws IOException {
        try (InputStream in = loader == null ? ClassLoader.getSystemResourceAsStream(RESOURCE) : loader.getResourceAsStream(RESOURCE)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    /** Whether {@code image} has a fatbin header whose payload size matches its length. */
    public static boolean isFatbin(byte[] image) {
        return problem(image) == null;
    }

    /** Null for a well-formed fatbin, else what is wrong with it. */
    public static String problem(byte[] image) {
        if (image.length < HEADER_BYTES) return "only " + image.length + " bytes";
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(0);
        if (magic != FATBIN_MAGIC) return String.format("magic 0x%08X, expected 0x%08X", magic, FATBIN_MAGIC);
        int version = Short.toUnsignedInt(b.getShort(4));
        int header = Short.toUnsignedInt(b.getShort(6));
        long payload = b.getLong(8);
        if (version != 1) return "fatbin version " + version + ", expected 1";
        if (header != HEADER_BYTES) return "header size " + header + ", expected " + HEADER_BYTES;
        if (payload <= 0 || payload > image.length - HEADER_BYTES) {
            return "payload of " + payload + " bytes in a file of " + image.length;
        }
        return null;
    }

    /** Reads and validates a fatbin file (for tools and tests). */
    public static byte[] read(Path file) {
        try {
            byte[] image = Files.readAllBytes(file);
            String problem = problem(image);
            if (problem != null) throw new IllegalArgumentException(file + " is not a valid fatbin: " + problem);
            return image;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
