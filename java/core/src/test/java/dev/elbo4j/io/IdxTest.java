package dev.elbo4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {

    @TempDir
    Path dir;

    private static byte[] pixels(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + 3);
        return b;
    }

    private static byte[] header(int magic, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length);
        b.putInt(magic);
        for (long d : dims) b.putInt((int) d);
        return b.array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(b);
        }
        return bos.toByteArray();
    }

    private DataFormatException readFails(String name, byte[] content) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, content);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertEquals(f, e.file());
        return e;
    }

    @Test
    void roundTripImagesAndLabels() throws IOException {
        byte[] im = pixels(5 * 4 * 3);
        Path fi = dir.resolve("images");
        Idx.writeImages(fi, im, 5, 4, 3);
        byte[] raw = Files.readAllBytes(fi);
        assertEquals(16 + 60, raw.length);
        assertEquals(Idx.MAGIC_IMAGES, ByteBuffer.wrap(raw).getInt());
        Idx.IdxArray a = Idx.read(fi);
        assertArrayEquals(new int[] {5, 4, 3}, a.dims());
        assertArrayEquals(im, a.data());

        Path fl = dir.resolve("labels");
        Idx.writeLabels(fl, new byte[] {0, 9, 5, (byte) 200, 1});
        assertEquals(Idx.MAGIC_LABELS, ByteBuffer.wrap(Files.readAllBytes(fl)).getInt());
        Idx.IdxArray l = Idx.read(fl);
        assertArrayEquals(new int[] {5}, l.dims());
        assertEquals(new Idx.IdxArray(new int[] {5}, new byte[] {0, 9, 5, (byte) 200, 1}), l);
    }

    @Test
    void readsAndWritesGzip() throws IOException {
        byte[] im = pixels(7 * 2 * 2);
        Path gz = dir.resolve("x-images-idx3-ubyte.gz");
        Idx.write(gz, new Idx.IdxArray(new int[] {7, 2, 2}, im));
        byte[] raw = Files.readAllBytes(gz);
        assertEquals(0x1f, raw[0] & 0xff);
        assertEquals(0x8b, raw[1] & 0xff);
        assertArrayEquals(im, Idx.read(gz).data());
        // Detection is by content, not by name.
        Path plainName = dir.resolve("noext");
        Files.write(plainName, gzip(concat(header(Idx.MAGIC_IMAGES, 7, 2, 2), im)));
        assertArrayEquals(im, Idx.read(plainName).data());
    }

    @Test
    void rejectsWrongMagic() throws IOException {
        DataFormatException e = readFails("m1", concat(header(0x08030000, 1), new byte[4]));
        assertTrue(e.getMessage().contains("not an IDX file: magic number 0x08030000"), e.getMessage());
        assertTrue(e.getMessage().contains("0x00000803 for images"), e.getMessage());
        e = readFails("m2", concat(header(0x00000D01, 1), new byte[4]));
        assertTrue(e.getMessage().contains("unsupported IDX element type 0x0D"), e.getMessage());
        e = readFails("m3", new byte[] {0, 0});
        assertTrue(e.getMessage().contains("fewer than the 4-byte magic"), e.getMessage());
        readFails("m4", header(0x00000800));
        readFails("png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0, 0});
    }

    @Test
    void rejectsTruncatedAndTrailing() throws IOException {
        byte[] head = header(Idx.MAGIC_IMAGES, 60000, 28, 28);
        DataFormatException e = readFails("train-images-idx3-ubyte", concat(head, new byte[1000 - 16]));
        assertEquals("truncated: header says 60000 images of 28x28 (47040016 bytes) but the file has 1000 bytes",
                e.problem());
        e = readFails("t2", concat(header(Idx.MAGIC_IMAGES, 2, 2, 2), new byte[9]));
        assertTrue(e.problem().startsWith("trailing bytes: header says 2 images of 2x2 (24 bytes) but the file has 25"),
                e.getMessage());
        e = readFails("t3", concat(header(Idx.MAGIC_LABELS, 10), new byte[9]));
        assertTrue(e.problem().contains("10 labels (18 bytes)"), e.getMessage());
        e = readFails("t4", Arrays.copyOf(header(Idx.MAGIC_IMAGES, 2, 2, 2), 10));
        assertTrue(e.problem().startsWith("truncated header"), e.getMessage());
        // The same through gzip.
        e = readFails("t5.gz", gzip(concat(header(Idx.MAGIC_IMAGES, 3, 2, 2), new byte[11])));
        assertTrue(e.problem().contains("but the decompressed data has 27 bytes"), e.getMessage());
        e = readFails("t6.gz", gzip(concat(header(Idx.MAGIC_IMAGES, 3, 2, 2), new byte[13])));
        assertTrue(e.problem().startsWith("trailing bytes"), e.getMessage());
        e = readFails("t7.gz", Arrays.copyOf(gzip(concat(header(Idx.MAGIC_LABELS, 100), pixels(100))), 30));
        assertTrue(e.problem().contains("gzip") || e.problem().startsWith("truncated"), e.getMessage());
    }

    @Test
    void rejectsZeroAndHugeDimsWithoutAllocating() {
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            DataFormatException e = readFails("h1", header(Idx.MAGIC_IMAGES, 1L << 31, 1L << 31, 1));
            assertTrue(e.problem().contains("2147483648 images of 2147483648x1"), e.getMessage());
            assertTrue(e.problem().contains("more than the 2^31-1 bytes"), e.getMessage());
            e = readFails("h2", header(Idx.MAGIC_IMAGES, 0xFFFFFFFFL, 0xFFFFFFFFL, 0xFFFFFFFFL));
            assertTrue(e.problem().contains("4294967295 images"), e.getMessage());
            // Each dimension fits an int but the product does not.
            e = readFails("h3", header(Idx.MAGIC_IMAGES, 65536, 65536, 2));
            assertTrue(e.problem().contains("more than the 2^31-1 bytes"), e.getMessage());
            // Within array range but far beyond the file: an error, not a 2 GB allocation.
            e = readFails("h4", header(Idx.MAGIC_IMAGES, 2000, 1000, 1000));
            assertTrue(e.problem().startsWith("truncated"), e.getMessage());
            e = readFails("h5.gz", gzip(header(Idx.MAGIC_IMAGES, 2000, 1000, 1000)));
            assertTrue(e.problem().startsWith("truncated"), e.getMessage());
            e = readFails("z", header(Idx.MAGIC_IMAGES, 5, 0, 3));
            assertTrue(e.problem().contains("zero dimension"), e.getMessage());
        });
    }

    @Test
    void idxArrayValidates() {
        assertThrows(IllegalArgumentException.class, () -> new Idx.IdxArray(new int[] {2, 2}, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> new Idx.IdxArray(new int[] {0}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new Idx.IdxArray(new int[] {}, new byte[1]));
    }

    // --- Dataset ------------------------------------------------------------------------------

    private void writeSplit(String prefix, int n, boolean gz) throws IOException {
        String sfx = gz ? ".gz" : "";
        Idx.writeImages(dir.resolve(prefix + "-images-idx3-ubyte" + sfx), pixels(n * 6), n, 2, 3);
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) labels[i] = (byte) (i % 10);
        Idx.writeLabels(dir.resolve(prefix + "-labels-idx1-ubyte" + sfx), labels);
    }

    @Test
    void datasetLoadSubsetSlice() throws IOException {
        writeSplit("train", 10, false);
        writeSplit("t10k", 4, true);
        Dataset train = Dataset.loadDir(dir, "train");
        assertEquals(10, train.n());
        assertEquals(2, train.rows());
        assertEquals(3, train.cols());
        assertEquals(6, train.dim());
        assertArrayEquals(pixels(60), train.images());
        assertEquals(7, train.label(7));
        assertEquals(pixels(60)[13] & 0xff, train.pixel(2, 1));
        Dataset test = Dataset.loadDir(dir, "test");
        assertEquals(4, test.n());
        assertEquals(test, Dataset.loadDir(dir, "t10k"));

        Dataset sub = train.subset(3);
        assertEquals(3, sub.n());
        assertArrayEquals(Arrays.copyOf(pixels(60), 18), sub.images());
        assertArrayEquals(new byte[] {0, 1, 2}, sub.labels());
        assertSame(train, train.subset(10));
        Dataset sl = train.slice(8, 2);
        assertArrayEquals(Arrays.copyOfRange(pixels(60), 48, 60), sl.images());
        assertArrayEquals(new byte[] {8, 9}, sl.labels());
        assertEquals(0, train.slice(10, 0).n());
        assertThrows(IndexOutOfBoundsException.class, () -> train.slice(9, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> train.subset(11));
        assertThrows(IndexOutOfBoundsException.class, () -> train.slice(-1, 1));

        Dataset unlabelled = Dataset.load(dir.resolve("train-images-idx3-ubyte"), null);
        assertNull(unlabelled.labels());
        assertNull(unlabelled.slice(1, 2).labels());
    }

    @Test
    void datasetCountMismatchNamesBothFiles() throws IOException {
        Path im = dir.resolve("im");
        Path lb = dir.resolve("lb");
        Idx.writeImages(im, pixels(5 * 4), 5, 2, 2);
        Idx.writeLabels(lb, new byte[4]);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Dataset.load(im, lb));
        assertTrue(e.getMessage().contains(im.toString()) && e.getMessage().contains(lb.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("4 labels") && e.getMessage().contains("5 images"), e.getMessage());
        // Swapped files: rank errors.
        e = assertThrows(DataFormatException.class, () -> Dataset.load(lb, im));
        assertTrue(e.getMessage().contains("not an image file"), e.getMessage());
        e = assertThrows(DataFormatException.class, () -> Dataset.load(im, im));
        assertTrue(e.getMessage().contains("not a label file"), e.getMessage());
    }

    @Test
    void datasetMissingFilesListsExpectedNames() throws IOException {
        writeSplit("train", 3, false);
        Files.delete(dir.resolve("train-labels-idx1-ubyte"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Dataset.loadDir(dir, "train"));
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte") && e.getMessage().contains("train-labels-idx1-ubyte"),
                e.getMessage());
        assertTrue(e.getMessage().contains("missing: train-labels-idx1-ubyte"), e.getMessage());
        e = assertThrows(NoSuchFileException.class, () -> Dataset.loadDir(dir, "test"));
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Dataset.loadDir(dir.resolve("nope"), "train"));
        assertThrows(IllegalArgumentException.class, () -> Dataset.loadDir(dir, "validation"));
    }

    /**
     * A limit applies while reading: only the first entries are read and held, from a plain or a
     * gzip file; a gzip file declaring 2^31-17 images of 1x1 but holding 1000 bytes gives its first
     * 100 without reading (or allocating for) the rest.
     */
    @Test
    void readsOnlyTheFirstEntriesUnderALimit() throws IOException {
        byte[] px = pixels(5 * 2 * 3);
        Path plain = dir.resolve("plain");
        Files.write(plain, concat(header(Idx.MAGIC_IMAGES, 5, 2, 3), px));
        Idx.IdxArray a = Idx.read(plain, 2);
        assertArrayEquals(new int[]{2, 2, 3}, a.dims());
        assertArrayEquals(Arrays.copyOf(px, 12), a.data());
        Path gz = dir.resolve("plain.gz");
        Files.write(gz, gzip(concat(header(Idx.MAGIC_IMAGES, 5, 2, 3), px)));
        assertEquals(a, Idx.read(gz, 2));
        assertEquals(Idx.read(plain), Idx.read(plain, 5));
        assertEquals(Idx.read(plain), Idx.read(plain, 1000));

        Path huge = dir.resolve("huge.gz");
        Files.write(huge, gzip(concat(header(Idx.MAGIC_IMAGES, Integer.MAX_VALUE - 16, 1, 1), pixels(1000))));
        Idx.IdxArray first = Idx.read(huge, 100);
        assertArrayEquals(new int[]{100, 1, 1}, first.dims());
        assertArrayEquals(Arrays.copyOf(pixels(1000), 100), first.data());
        assertThrows(DataFormatException.class, () -> Idx.read(huge), "without a limit the whole declared size is due");
    }
}
