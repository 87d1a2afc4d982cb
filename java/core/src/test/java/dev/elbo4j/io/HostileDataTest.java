package dev.elbo4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The data readers against hostile files: truncated, padded, wrong element types, and headers
 * announcing absurd sizes, which must be refused from the header (a file of a few bytes may not
 * make a reader allocate gigabytes), each with a message naming the file; then random damage to
 * a valid file of every format, which must end in the data or in a DataFormatException, never in
 * another exception.
 */
class HostileDataTest {
    @TempDir
    Path tmp;

    private Path write(String name, byte[] b) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, b);
        return f;
    }

    private static void refused(Path f, String... words) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(f, 0.5));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + w + "' not in: " + e.getMessage());
    }

    @Test
    void npyTruncatedPaddedAbsurdAndUnsupported() throws IOException {
        byte[] ok = DataFilesTest.npy("<f4", "(2, 2)", new byte[16]);
        refused(write("short.npy", Arrays.copyOf(ok, ok.length - 1)), "truncated");
        refused(write("long.npy", Arrays.copyOf(ok, ok.length + 3)), "trailing bytes");
        refused(write("huge.npy", DataFilesTest.npy("<f8", "(1000000, 1000000)", new byte[0])), "2^31");
        refused(write("big.npy", DataFilesTest.npy("<f8", "(100000, 10000)", new byte[0])), "bytes");
        refused(write("neg.npy", DataFilesTest.npy("<f4", "(-1, 4)", new byte[0])));
        refused(write("cplx.npy", DataFilesTest.npy("<c8", "(1, 1)", new byte[8])), "dtype '<c8'");
        refused(write("obj.npy", DataFilesTest.npy("|O", "(1, 1)", new byte[8])), "dtype");
        byte[] fortran = DataFilesTest.npy("<f4", "(1, 1)", new byte[4]);
        String h = new String(fortran, StandardCharsets.ISO_8859_1).replace("'fortran_order': False", "'fortran_order': True ");
        refused(write("f.npy", h.getBytes(StandardCharsets.ISO_8859_1)), "Fortran");
        byte[] v9 = ok.clone();
        v9[6] = 9;
        refused(write("v9.npy", v9), "version 9");
    }

    @Test
    void npzMemberAnnouncingMoreThanItHoldsIsRefusedWithoutAllocatingIt() throws IOException {
        // 2^30 float32 announced (4 GiB), a few bytes present: refused as more than one array holds.
        byte[] lie = DataFilesTest.npy("<f4", "(1073741824, 1)", new byte[8]);
        Path f = write("lie.npz", DataFilesTest.zip(Map.of("x.npy", lie)));
        refused(f, "lie.npz: array 'x'", "bytes");
        // 2^28 bytes announced (256 MiB, within limits), 8 present: truncated, found as data runs out.
        byte[] shortOne = DataFilesTest.npy("|u1", "(268435456, 1)", new byte[8]);
        refused(write("short.npz", DataFilesTest.zip(Map.of("x.npy", shortOne))), "truncated");
        refused(write("none.npz", DataFilesTest.zip(Map.of("notes.npy", DataFilesTest.npy("|u1", "(1, 1)", new byte[1]),
                "more.npy", DataFilesTest.npy("|u1", "(1, 1)", new byte[1])))), "x_train");
        byte[] zip = DataFilesTest.zip(Map.of("x.npy", DataFilesTest.npy("|u1", "(4, 1)", new byte[4])));
        refused(write("cut.npz", Arrays.copyOf(zip, zip.length / 2)));
    }

    @Test
    void idxOfAnyTypeWithAbsurdOrWrongSizes() throws IOException {
        ByteBuffer huge = ByteBuffer.allocate(4 + 12).putInt(0x00000D03).putInt(0x7fffffff).putInt(0x7fffffff).putInt(2);
        refused(write("huge-idx", huge.array()), "dimensions");
        ByteBuffer trunc = ByteBuffer.allocate(4 + 8 + 4).putInt(0x00000E02).putInt(1).putInt(1).putInt(0);
        refused(write("trunc-idx", trunc.array()), "truncated");
        ByteBuffer zero = ByteBuffer.allocate(4 + 8).putInt(0x00000C02).putInt(0).putInt(3);
        refused(write("zero-idx", zero.array()), "zero dimension");
        ByteBuffer type = ByteBuffer.allocate(4 + 4 + 1).putInt(0x00000A01).putInt(1);
        Path f = write("type-idx", type.array());
        // 0x0A is no IDX type, so the content is not recognised as IDX; read as IDX directly it is named.
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxTyped.read(f));
        assertTrue(e.getMessage().contains("0x0A"), e.getMessage());
    }

    /** A PNG of the given size whose pixel data is absent: only its header is valid. */
    private static byte[] pngHeaderOnly(int w, int h) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update("IHDR".getBytes(StandardCharsets.US_ASCII));
        crc.update(ihdr.array());
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 4 + 13 + 4);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        b.putInt(13).put("IHDR".getBytes(StandardCharsets.US_ASCII)).put(ihdr.array()).putInt((int) crc.getValue());
        return b.array();
    }

    @Test
    void imagesClaimingAbsurdSizesAreRefusedFromTheHeader() throws IOException {
        Files.createDirectories(tmp.resolve("imgs"));
        Files.write(tmp.resolve("imgs/a.png"), pngHeaderOnly(100_000, 100_000));
        Path d = tmp.resolve("imgs");
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(d, 0.5));
        assertTrue(e.getMessage().contains("a.png") && e.getMessage().contains("100000x100000"), e.getMessage());
        Files.write(tmp.resolve("imgs/a.png"), "not a picture".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(DataFormatException.class, () -> DataFiles.load(d, 0.5));
        assertTrue(e.getMessage().contains("a.png"), e.getMessage());
        Files.write(tmp.resolve("imgs/a.png"), pngHeaderOnly(4, 4)); // a valid header, no pixel data
        e = assertThrows(DataFormatException.class, () -> DataFiles.load(d, 0.5));
        assertTrue(e.getMessage().contains("a.png") && e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void csvThatIsNotText() throws IOException {
        refused(write("bin.csv", new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2, (byte) 0xc3}), "not a text");
        refused(write("head.csv", "a,b\n".getBytes(StandardCharsets.US_ASCII)), "no data lines");
    }

    /** Random damage (truncation, flipped bytes, inserted bytes) to a valid file of every format. */
    @Test
    void randomDamageEndsInDataOrADataFormatException() throws IOException {
        BufferedImage img = new BufferedImage(3, 3, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSample(1, 1, 0, 200);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        ByteBuffer idx = ByteBuffer.allocate(4 + 12 + 4 * 4 * 4).putInt(0x00000D03).putInt(4).putInt(2).putInt(2);
        for (int i = 0; i < 16; i++) idx.putFloat(i * 0.1f);
        List<Object[]> seeds = List.of(
                new Object[] {"x.npy", DataFilesTest.npy("<f4", "(4, 2, 2)", DataFilesTest.floats(ByteOrder.LITTLE_ENDIAN,
                        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))},
                new Object[] {"x.npz", DataFilesTest.zip(Map.of("x.npy", DataFilesTest.npy("|u1", "(4, 3)", new byte[12]),
                        "y.npy", DataFilesTest.npy("<i8", "(4,)", DataFilesTest.longs(0, 1, 0, 1))))},
                new Object[] {"x.csv", "a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n0.7,0.8,1\n".getBytes(StandardCharsets.US_ASCII)},
                new Object[] {"x-idx", idx.array()},
                new Object[] {"pics/a.png", png.toByteArray()});
        Random rnd = new Random(7);
        for (Object[] s : seeds) {
            byte[] good = (byte[]) s[1];
            for (int trial = 0; trial < 150; trial++) {
                byte[] bad = switch (trial % 3) {
                    case 0 -> Arrays.copyOf(good, rnd.nextInt(good.length));
                    case 1 -> {
                        byte[] b = good.clone();
                        for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                        yield b;
                    }
                    default -> {
                        int at = rnd.nextInt(good.length);
                        byte[] b = new byte[good.length + 1 + rnd.nextInt(8)];
                        System.arraycopy(good, 0, b, 0, at);
                        for (int k = at; k < at + b.length - good.length; k++) b[k] = (byte) rnd.nextInt(256);
                        System.arraycopy(good, at, b, at + b.length - good.length, good.length - at);
                        yield b;
                    }
                };
                Path dir = tmp.resolve("t" + trial + "-" + ((String) s[0]).hashCode());
                Path f = dir.resolve((String) s[0]);
                Files.createDirectories(f.getParent());
                Files.write(f, bad);
                Path target = ((String) s[0]).contains("/") ? f.getParent() : f;
                try {
                    DataFiles.Split split = DataFiles.load(target, 0.5);
                    assertTrue(split.train().n() > 0);
                } catch (DataFormatException | NoSuchFileException expected) {
                    assertTrue(expected.getMessage().contains(dir.toString()), expected.getMessage());
                } catch (Throwable t) {
                    throw new AssertionError(s[0] + " damaged (trial " + trial + "): " + t, t);
                }
            }
        }
    }
}
