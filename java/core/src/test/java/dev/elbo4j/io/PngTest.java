package dev.elbo4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngTest {

    @TempDir
    Path dir;

    private static float value(int image, int pixel) {
        return ((image * 12 + pixel) % 17) / 16f;
    }

    private static int expectedGray(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255f);
    }

    @Test
    void writesAGridImageIoReadsBack() throws IOException {
        int count = 5, rows = 3, cols = 4, gridCols = 3, scale = 2;
        float[][] images = new float[count][rows * cols];
        for (int i = 0; i < count; i++) {
            for (int p = 0; p < rows * cols; p++) images[i][p] = value(i, p);
        }
        images[4][0] = -1f;
        images[4][1] = 2f;
        images[4][2] = Float.NaN;
        Path f = dir.resolve("grid.png");
        Png.writeGrid(f, images, rows, cols, gridCols, scale);

        BufferedImage img = ImageIO.read(f.toFile());
        assertNotNull(img);
        assertEquals(3 * cols * scale + 4 * Png.SEPARATOR, img.getWidth());  // 32
        assertEquals(2 * rows * scale + 3 * Png.SEPARATOR, img.getHeight()); // 18
        assertEquals(1, img.getRaster().getNumBands());
        Raster r = img.getRaster();
        for (int i = 0; i < count; i++) {
            int x0 = Png.SEPARATOR + (i % gridCols) * (cols * scale + Png.SEPARATOR);
            int y0 = Png.SEPARATOR + (i / gridCols) * (rows * scale + Png.SEPARATOR);
            for (int y = 0; y < rows * scale; y++) {
                for (int x = 0; x < cols * scale; x++) {
                    float v = images[i][(y / scale) * cols + x / scale];
                    int want = Float.isNaN(v) ? 0 : expectedGray(v);
                    assertEquals(want, r.getSample(x0 + x, y0 + y, 0), "image " + i + " at " + x + "," + y);
                }
            }
        }
        // Separators and the unused sixth cell are light gray.
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(0, 0, 0));
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(1, 7, 0));
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(Png.SEPARATOR + cols * scale, 3, 0));
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(Png.SEPARATOR + cols * scale + 1, 3, 0));
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(31, 17, 0));
        int emptyX = Png.SEPARATOR + 2 * (cols * scale + Png.SEPARATOR);
        int emptyY = Png.SEPARATOR + rows * scale + Png.SEPARATOR;
        assertEquals(Png.SEPARATOR_GRAY, r.getSample(emptyX + 3, emptyY + 3, 0));
        // Clamping: -1 -> 0, 2 -> 255, NaN -> 0 (image 4 is cell 1 of row 1).
        int x4 = Png.SEPARATOR + (cols * scale + Png.SEPARATOR);
        assertEquals(0, r.getSample(x4, emptyY, 0));
        assertEquals(255, r.getSample(x4 + scale, emptyY, 0));
        assertEquals(0, r.getSample(x4 + 2 * scale, emptyY, 0));
    }

    @Test
    void flatConvenienceMatchesAndNarrowGrid() throws IOException {
        int rows = 2, cols = 2;
        float[] flat = new float[3 * rows * cols + 5]; // longer than needed: extra values ignored
        for (int i = 0; i < flat.length; i++) flat[i] = (i % 5) / 4f;
        Path f = dir.resolve("flat.png");
        Png.writeGrid(f, flat, 3, rows, cols, 8, 1); // fewer images than grid columns
        BufferedImage img = ImageIO.read(f.toFile());
        assertEquals(3 * cols + 4 * Png.SEPARATOR, img.getWidth());
        assertEquals(rows + 2 * Png.SEPARATOR, img.getHeight());
        Raster r = img.getRaster();
        for (int i = 0; i < 3; i++) {
            for (int p = 0; p < rows * cols; p++) {
                int x = Png.SEPARATOR + i * (cols + Png.SEPARATOR) + p % cols;
                int y = Png.SEPARATOR + p / cols;
                assertEquals(expectedGray(flat[i * rows * cols + p]), r.getSample(x, y, 0));
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        Path f = dir.resolve("x.png");
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[0][], 2, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[][] {new float[3]}, 2, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[][] {new float[4]}, 2, 2, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[][] {new float[4]}, 2, 2, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[7], 2, 2, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Png.writeGrid(f, new float[4], 1, 2, 2, 1, 100_000));
    }

    @Test
    void rgbGridKeepsEachChannel() throws IOException {
        // Two 1x2 RGB images, channels last: red|green, then blue|white.
        float[] px = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
        Path f = dir.resolve("rgb.png");
        Png.writeGrid(f, px, 2, new int[] {1, 2, 3}, 2, 1);
        BufferedImage img = ImageIO.read(f.toFile());
        int s = Png.SEPARATOR;
        assertEquals(0xff0000, img.getRGB(s, s) & 0xffffff);
        assertEquals(0x00ff00, img.getRGB(s + 1, s) & 0xffffff);
        assertEquals(0x0000ff, img.getRGB(s + 2 + s, s) & 0xffffff);
        assertEquals(0xffffff, img.getRGB(s + 2 + s + 1, s) & 0xffffff);
        assertEquals(Png.SEPARATOR_GRAY * 0x010101, img.getRGB(0, 0) & 0xffffff);
    }
}
