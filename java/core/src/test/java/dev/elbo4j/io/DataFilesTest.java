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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Each data format read by content into the same Dataset, the test split rules, scaling, and one clear error per problem. */
class DataFilesTest {
    @TempDir
    Path tmp;

    /** A .npy file, written by hand so the test does not depend on {@link Npy#write}. */
    static byte[] npy(String descr, String shape, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    static byte[] floats(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long f : v) b.putLong(f);
        return b.array();
    }

    static byte[] zip(Map<String, byte[]> members) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            for (var e : members.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    @Test
    void npyOfBytesKeepsTheLevelsAndHoldsOutAFixedTestFraction() throws IOException {
        byte[] px = new byte[50 * 4];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        Path f = tmp.resolve("digits.npy");
        Files.write(f, npy("|u1", "(50, 2, 2)", px));
        DataFiles.Split s = DataFiles.load(f, 0.2);
        assertEquals(DataFiles.Format.NPY, s.source().format());
        assertEquals(40, s.train().n());
        assertEquals(10, s.test().n());
        assertEquals(2, s.train().rows());
        assertEquals(Scaling.BYTES, s.source().scaling());
        assertEquals(0.2, s.source().testFraction());
        assertFalse(s.train().hasLabels());
        // The two splits are a partition of the 50 examples, with every example's bytes intact.
        Set<String> seen = new HashSet<>();
        for (Dataset d : List.of(s.train(), s.test())) {
            for (int i = 0; i < d.n(); i++) seen.add(Arrays.toString(Arrays.copyOfRange(d.images(), 4 * i, 4 * i + 4)));
        }
        Set<String> all = new HashSet<>();
        for (int i = 0; i < 50; i++) all.add(Arrays.toString(Arrays.copyOfRange(px, 4 * i, 4 * i + 4)));
        assertEquals(all, seen);
        // The split is fixed: the same files give the same split.
        assertEquals(s.test(), DataFiles.load(f, 0.2).test());
        // And not simply the last examples (a folder sorted by class would put one class in the test split).
        assertNotEquals(new Dataset(Arrays.copyOfRange(px, 160, 200), null, 10, 2, 2), s.test());
    }

    @Test
    void keras_npzGivesItsOwnSplitLabelsAndAScalingFromTheTrainingSplit() throws IOException {
        // Big-endian float32 images, int64 labels, as numpy.savez writes them under Keras's names.
        Path f = tmp.resolve("data.npz");
        Files.write(f, zip(Map.of(
                "x_train.npy", npy(">f4", "(3, 2)", floats(ByteOrder.BIG_ENDIAN, -1, 0, 1, 2, 3, 4)),
                "y_train.npy", npy("<i8", "(3,)", longs(2, 0, 1)),
                "x_test.npy", npy(">f4", "(1, 2)", floats(ByteOrder.BIG_ENDIAN, -5, 1.5f)),
                "y_test.npy", npy("<i8", "(1,)", longs(1)))));
        DataFiles.Split s = DataFiles.load(f, 0);
        assertEquals(new Scaling(-1, 4), s.source().scaling());
        assertEquals(0, s.source().testFraction());
        assertEquals(3, s.train().n());
        assertEquals(1, s.test().n());
        assertEquals(List.of(2, 0, 1), List.of(s.train().label(0), s.train().label(1), s.train().label(2)));
        // Level of x is round((x + 1) / 5 * 255); the test's -5 lies outside the training range: clamped to 0.
        assertEquals(0, s.train().pixel(0, 0));
        assertEquals(51, s.train().pixel(0, 1));
        assertEquals(255, s.train().pixel(2, 1));
        assertEquals(0, s.test().pixel(0, 0));
        assertEquals(128, s.test().pixel(0, 1));
        assertEquals(1.5, s.source().scaling().value(128 / 255.0), 5.0 / 255);
    }

    @Test
    void csvWithAHeaderTakesItsLabelColumnAndFloatsInTheUnitRangeAsLevels() throws IOException {
        Path f = tmp.resolve("table.csv");
        StringBuilder sb = new StringBuilder("a,b,label,c,d\n");
        for (int i = 0; i < 20; i++) sb.append(i / 20.0).append(",0,").append(i % 3).append(",1,\"0.5\"\n");
        Files.writeString(f, sb);
        DataFiles.Split s = DataFiles.load(f, 0.25);
        assertEquals(DataFiles.Format.CSV, s.source().format());
        assertEquals(Scaling.UNIT, s.source().scaling());
        assertEquals(15, s.train().n());
        assertEquals(4, s.train().dim()); // the label column is not an input
        assertEquals(2, s.train().rows()); // 4 values: a 2x2 picture
        for (Dataset d : List.of(s.train(), s.test())) {
            for (int i = 0; i < d.n(); i++) {
                int a = d.pixel(i, 0);
                // Row r had a = r/20 and label r % 3: the pairing survives the shuffle.
                int r = Math.round(a / 255f * 20);
                assertEquals(r % 3, d.label(i));
                assertEquals(0, d.pixel(i, 1));
                assertEquals(255, d.pixel(i, 2));
                assertEquals(128, d.pixel(i, 3));
            }
        }
    }

    @Test
    void csvErrorsNameTheLineAndColumn() throws IOException {
        Path f = tmp.resolve("bad.csv");
        Files.writeString(f, "1,2,3\n4,x,6\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(f, 0));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("line 2, column 2"), e.getMessage());
        Files.writeString(f, "1,2,3\n4,5\n");
        e = assertThrows(DataFormatException.class, () -> DataFiles.load(f, 0));
        assertTrue(e.getMessage().contains("line 2 has 2 columns"), e.getMessage());
        Files.writeString(f, "1,2\n3,NaN\n");
        e = assertThrows(DataFormatException.class, () -> DataFiles.load(f, 0));
        assertTrue(e.getMessage().contains("not a finite number"), e.getMessage());
    }

    @Test
    void aSingleImageOrAFileOfNoKnownFormatSaysWhatItWasTakenFor() throws IOException {
        Path img = tmp.resolve("one/digit.png");
        png(img, 4, 4, 0xffffff);
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(img, 0));
        assertEquals(img + ": is a single image; images are read from a folder of them (give the folder, with one "
                + "sub-folder per class if they have labels)", e.getMessage());
        Path md = tmp.resolve("README.md");
        Files.writeString(md, "# Title\n\nsome, words, here\n");
        e = assertThrows(DataFormatException.class, () -> DataFiles.load(md, 0));
        assertTrue(e.getMessage().startsWith(md + ": is not .npy, .npz or IDX by its first bytes, so it was read as CSV: "),
                e.getMessage());
    }

    private static void png(Path f, int w, int h, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, x == 0 ? rgb : 0);
        Files.createDirectories(f.getParent());
        ImageIO.write(img, "png", f.toFile());
    }

    @Test
    void imageFoldersWithClassSubFoldersAndTrainTestFolders() throws IOException {
        // train/{cat,dog}, test/{dog,cat}: classes by sorted name, the test folder's mapped to the training folder's.
        for (int i = 0; i < 3; i++) {
            png(tmp.resolve("train/cat/" + i + ".png"), 3, 2, 0x808080);
            png(tmp.resolve("train/dog/" + i + ".png"), 3, 2, 0xffffff);
        }
        png(tmp.resolve("test/dog/a.png"), 3, 2, 0xffffff);
        DataFiles.Split s = DataFiles.load(tmp, 0);
        assertEquals(DataFiles.Format.IMAGES, s.source().format());
        assertEquals(List.of("cat", "dog"), s.source().classes());
        assertEquals(6, s.train().n());
        assertEquals(1, s.train().channels()); // grey content in RGB files: grey
        assertEquals(2, s.train().rows());
        assertEquals(3, s.train().cols());
        for (int i = 0; i < 6; i++) assertEquals(s.train().label(i) == 0 ? 128 : 255, s.train().pixel(i, 0));
        assertEquals(1, s.test().label(0));
        // A coloured image makes the set RGB, channels last.
        png(tmp.resolve("train/dog/9.png"), 3, 2, 0xff0000);
        s = DataFiles.load(tmp, 0);
        assertEquals(3, s.train().channels());
        assertArrayEquals(new int[] {2, 3, 3}, s.train().imageShape());
        assertEquals(255, s.train().pixel(6, 0));
        assertEquals(0, s.train().pixel(6, 1));
        // One image of another size: the error names it.
        png(tmp.resolve("train/dog/odd.png"), 4, 2, 0);
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(tmp, 0));
        assertTrue(e.getMessage().contains("odd.png") && e.getMessage().contains("4x2") && e.getMessage().contains("one size"),
                e.getMessage());
    }

    @Test
    void flatImageFolderIsUnlabelled() throws IOException {
        for (int i = 0; i < 10; i++) png(tmp.resolve("faces/" + i + ".png"), 2, 2, 0x101010 * i);
        DataFiles.Split s = DataFiles.load(tmp.resolve("faces"), 0.2);
        assertFalse(s.train().hasLabels());
        assertEquals(8, s.train().n());
        assertTrue(s.source().classes().isEmpty());
    }

    @Test
    void idxOfEveryElementTypeAndMnistNamesWithoutLabels() throws IOException {
        // float32 (0x0D), 2 examples of 1x2, in MNIST's file name, with no label files: unlabelled.
        ByteBuffer b = ByteBuffer.allocate(4 + 12 + 16);
        b.putInt(0x00000D03).putInt(2).putInt(1).putInt(2).putFloat(0).putFloat(0.5f).putFloat(1).putFloat(0.25f);
        Files.write(tmp.resolve("train-images-idx3-ubyte"), b.array());
        ByteBuffer ok = ByteBuffer.allocate(4 + 12 + 8).putInt(0x00000D03).putInt(1).putInt(1).putInt(2).putFloat(1).putFloat(0);
        Files.write(tmp.resolve("t10k-images-idx3-ubyte"), ok.array());
        DataFiles.Split s = DataFiles.load(tmp, 0);
        assertEquals(DataFiles.Format.IDX, s.source().format());
        assertFalse(s.train().hasLabels());
        assertEquals(Scaling.UNIT, s.source().scaling());
        assertEquals(128, s.train().pixel(0, 1));
        assertEquals(255, s.test().pixel(0, 0));
        // int16 (0x0B) with values above 255: min-max scaled.
        ByteBuffer sh = ByteBuffer.allocate(4 + 8 + 8).putInt(0x00000B02).putInt(2).putInt(2)
                .putShort((short) -100).putShort((short) 300).putShort((short) 100).putShort((short) 0);
        Path f = tmp.resolve("shorts.idx");
        Files.write(f, sh.array());
        NumericArray a = IdxTyped.read(f);
        assertArrayEquals(new float[] {-100, 300, 100, 0}, a.f32());
    }

    @Test
    void folderErrorsSayWhatWasExpected() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> DataFiles.load(tmp.resolve("empty"), 0));
        assertTrue(e.getMessage().contains("no data found") && e.getMessage().contains(".npy"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> DataFiles.load(tmp.resolve("nothing-here"), 0));
        Files.write(tmp.resolve("few.npy"), npy("|u1", "(1, 4)", new byte[4]));
        DataFormatException f = assertThrows(DataFormatException.class, () -> DataFiles.load(tmp.resolve("few.npy"), 0.1));
        assertTrue(f.getMessage().contains("too few"), f.getMessage());
        Files.write(tmp.resolve("flat.npy"), npy("<f4", "(4,)", floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4)));
        f = assertThrows(DataFormatException.class, () -> DataFiles.load(tmp.resolve("flat.npy"), 0.1));
        assertTrue(f.getMessage().contains("[N, features]"), f.getMessage());
        Files.write(tmp.resolve("const.npy"), npy("<f4", "(4, 1)", floats(ByteOrder.LITTLE_ENDIAN, 7.5f, 7.5f, 7.5f, 7.5f)));
        f = assertThrows(DataFormatException.class, () -> DataFiles.load(tmp.resolve("const.npy"), 0.25));
        assertTrue(f.getMessage().contains("every value is 7.5"), f.getMessage());
    }

    @Test
    void labelsMustBeClassIndices() throws IOException {
        Path d = tmp.resolve("pair");
        Files.createDirectories(d);
        Files.write(d.resolve("train.npy"), npy("|u1", "(2, 2)", new byte[4]));
        Files.write(d.resolve("train_labels.npy"), npy("<f4", "(2,)", floats(ByteOrder.LITTLE_ENDIAN, 1, 2.5f)));
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataFiles.load(d, 0.5));
        assertTrue(e.getMessage().contains("train_labels.npy") && e.getMessage().contains("2.5"), e.getMessage());
    }

    @Test
    void contentHashChangesWithAnyByte() {
        Dataset a = new Dataset(new byte[] {1, 2, 3, 4}, null, 1, 2, 2);
        Dataset b = new Dataset(new byte[] {1, 2, 3, 5}, null, 1, 2, 2);
        assertEquals(DataFiles.contentHash(a, a), DataFiles.contentHash(a, a.subset(1)));
        assertNotEquals(DataFiles.contentHash(a, a), DataFiles.contentHash(a, b));
    }
}
