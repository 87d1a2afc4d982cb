package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fatbin check, on synthetic headers and on this build's fatbin when one was built. */
class KernelImageTest {

    static byte[] header(int magic, int version, int headerSize, long payload, int length) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(magic).putShort((short) version).putShort((short) headerSize).putLong(payload);
        return b.array();
    }

    /** A minimal well-formed fatbin header with a 16-byte payload (for fake drivers). */
    static byte[] fakeFatbin() {
        return header(KernelImage.FATBIN_MAGIC, 1, 16, 16, 32);
    }

    @Test
    void acceptsAWellFormedHeader() {
        assertNull(KernelImage.problem(fakeFatbin()));
        assertTrue(KernelImage.isFatbin(fakeFatbin()));
    }

    @Test
    void rejectsWhatIsNotAFatbin() {
        assertTrue(KernelImage.problem(new byte[3]).contains("only 3 bytes"));
        assertTrue(KernelImage.problem(header(0x464c457f, 1, 16, 16, 32)).contains("magic 0x464C457F"));
        assertTrue(KernelImage.problem(header(KernelImage.FATBIN_MAGIC, 2, 16, 16, 32)).contains("version 2"));
        assertTrue(KernelImage.problem(header(KernelImage.FATBIN_MAGIC, 1, 24, 16, 32)).contains("header size 24"));
        assertTrue(KernelImage.problem(header(KernelImage.FATBIN_MAGIC, 1, 16, 17, 32)).contains("payload of 17"));
        byte[] bigEndian = ByteBuffer.allocate(32).order(ByteOrder.BIG_ENDIAN).putInt(KernelImage.FATBIN_MAGIC).array();
        assertFalse(KernelImage.isFatbin(bigEndian), "the magic is little-endian");
    }

    /** This build's fatbin (build/kernels/elbo4j.fatbin); the calling test is skipped where nvcc built none. */
    static byte[] builtFatbin() throws IOException {
        Path fatbin = KernelSourceTest.kernelsDir().getParent().resolve("build/kernels/elbo4j.fatbin");
        Assumptions.assumeTrue(Files.isRegularFile(fatbin), "no " + fatbin + " (scripts/build-kernels.sh not run: no nvcc)");
        return Files.readAllBytes(fatbin);
    }

    @Test
    void builtFatbinIsValid() throws IOException {
        byte[] image = builtFatbin();
        assertEquals(0x50, image[0] & 0xff);
        assertEquals(0xED, image[1] & 0xff);
        assertEquals(0x55, image[2] & 0xff);
        assertEquals(0xBA, image[3] & 0xff);
        assertNull(KernelImage.problem(image));
        assertTrue(image.length > 100_000, "SASS for four architectures and PTX: " + image.length + " bytes");
        // Every entry point's name is in the image's symbol tables.
        String text = new String(image, java.nio.charset.StandardCharsets.ISO_8859_1);
        for (KernelSpec k : Kernels.ALL) assertTrue(text.contains(k.name()), k.name() + " missing from the fatbin");
    }

    @Test
    void classpathFatbinIsValidWhenPackaged() throws IOException {
        try (InputStream in = KernelImage.class.getClassLoader().getResourceAsStream(KernelImage.RESOURCE)) {
            List<String> reasons = new ArrayList<>();
            if (in == null) {
                if (System.getProperty(KernelImage.PROPERTY) == null) {
                    assertTrue(KernelImage.find(reasons).isEmpty());
                    assertEquals(List.of(KernelImage.MISSING), reasons);
                }
                return;
            }
            assertTrue(KernelImage.isFatbin(in.readAllBytes()));
            assertTrue(KernelImage.find(reasons).isPresent(), reasons.toString());
        }
    }
}
