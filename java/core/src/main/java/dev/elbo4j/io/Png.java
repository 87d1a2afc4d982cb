package dev.elbo4j.io;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Writes grids of grayscale images (samples, reconstructions) as 8-bit grayscale PNG files.
 *
 * <p>Layout: images are placed left to right, top to bottom, in {@code min(gridCols, count)}
 * columns and {@code ceil(count / gridCols)} rows; each image pixel becomes a
 * {@code scale x scale} block. A {@value #SEPARATOR}-pixel separator of gray level
 * {@value #SEPARATOR_GRAY} surrounds every cell (including the outer border), and unused cells in
 * the last row are filled with the separator gray. So the image is
 * {@code gc * cols * scale + (gc + 1) * 2} pixels wide and
 * {@code gr * rows * scale + (gr + 1) * 2} high. A value {@code v} becomes gray level
 * {@code round(clamp(v, 0, 1) * 255)} (1 is white); NaN becomes 0.
 *
 * <p>Files are written through {@link AtomicFiles}.
 */
public final class Png {

    /** Separator width in pixels. */
    public static final int SEPARATOR = 2;
    /** Separator gray level (0..255). */
    public static final int SEPARATOR_GRAY = 200;

    private Png() {
    }

    /**
     * Writes {@code images} (each {@code rows * cols} values in [0, 1], row-major) as a grid PNG.
     *
     * @throws IllegalArgumentException for non-positive sizes, no images, an image of the wrong
     *     length, or a grid too large for one image
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeGrid(Path file, float[][] images, int rows, int cols, int gridCols, int scale)
            throws IOException {
        if (images.length == 0) throw new IllegalArgumentException("no images to write to " + file);
        for (int i = 0; i < images.length; i++) {
            if (images[i] == null || images[i].length != (long) rows * cols) {
                throw new IllegalArgumentException("image " + i + " has " + (images[i] == null ? "no" : images[i].length)
                        + " values; expected rows x cols = " + rows + "x" + cols);
            }
        }
        BufferedImage img = render(images.length, rows, cols, gridCols, scale,
                (i, p) -> images[i][p]);
        write(file, img);
    }

    /**
     * Writes the first {@code count} images of {@code flat} (image after image, each
     * {@code rows * cols} values in [0, 1]) as a grid PNG; see {@link #writeGrid(Path, float[][], int, int, int, int)}.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeGrid(Path file, float[] flat, int count, int rows, int cols, int gridCols, int scale)
            throws IOException {
        if (count <= 0) throw new IllegalArgumentException("no images to write to " + file);
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("rows and cols must be positive");
        if ((long) count * rows * cols > flat.length) {
            throw new IllegalArgumentException(count + " images of " + rows + "x" + cols + " need "
                    + (long) count * rows * cols + " values, the array has " + flat.length);
        }
        int d = rows * cols;
        BufferedImage img = render(count, rows, cols, gridCols, scale, (i, p) -> flat[i * d + p]);
        write(file, img);
    }

    /**
     * Writes the first {@code count} images of {@code flat} as a grid PNG, each of shape
     * {@code image}: {rows, cols} (grey) or {rows, cols, 3} (RGB, channels last), values in [0, 1].
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeGrid(Path file, float[] flat, int count, int[] image, int gridCols, int scale) throws IOException {
        if (image.length == 2) {
            writeGrid(file, flat, count, image[0], image[1], gridCols, scale);
            return;
        }
        if (image.length != 3 || image[2] != 3) {
            throw new IllegalArgumentException("image shape " + Arrays.toString(image) + ": expected {rows, cols} or {rows, cols, 3}");
        }
        int rows = image[0], cols = image[1], d = rows * cols * 3;
        if (count <= 0) throw new IllegalArgumentException("no images to write to " + file);
        if ((long) count * d > flat.length) {
            throw new IllegalArgumentException(count + " RGB images of " + rows + "x" + cols + " need " + (long) count * d
                    + " values, the array has " + flat.length);
        }
        // Render each channel as a grey grid, then interleave: the grid geometry is the grey one's.
        BufferedImage[] planes = new BufferedImage[3];
        for (int k = 0; k < 3; k++) {
            int ch = k;
            planes[k] = render(count, rows, cols, gridCols, scale, (i, p) -> flat[i * d + 3 * p + ch]);
        }
        int w = planes[0].getWidth(), h = planes[0].getHeight();
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        byte[][] buf = new byte[3][];
        for (int k = 0; k < 3; k++) buf[k] = ((DataBufferByte) planes[k].getRaster().getDataBuffer()).getData();
        int[] line = new int[w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = y * w + x;
                line[x] = (buf[0][o] & 0xff) << 16 | (buf[1][o] & 0xff) << 8 | (buf[2][o] & 0xff);
            }
            rgb.setRGB(0, y, w, 1, line, 0, w);
        }
        write(file, rgb);
    }

    /**
     * Writes {@code count} images (e.g. {@code Vae.sample}'s output) as a square-ish grid, each
     * pixel drawn 2x2: the picture the CLI's {@code sample} writes.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeGrid(Path file, float[] flat, int count, int[] image) throws IOException {
        writeGrid(file, flat, count, image, (int) Math.ceil(Math.sqrt(count)), 2);
    }

    @FunctionalInterface
    private interface Pixels {
        float get(int image, int pixel);
    }

    private static BufferedImage render(int count, int rows, int cols, int gridCols, int scale, Pixels px) {
        if (rows <= 0 || cols <= 0 || gridCols <= 0 || scale <= 0) {
            throw new IllegalArgumentException("rows, cols, gridCols and scale must be positive; got rows=" + rows
                    + ", cols=" + cols + ", gridCols=" + gridCols + ", scale=" + scale);
        }
        int gc = Math.min(gridCols, count);
        int gr = (count + gridCols - 1) / gridCols;
        long cellW = (long) cols * scale;
        long cellH = (long) rows * scale;
        long w = gc * cellW + (long) (gc + 1) * SEPARATOR;
        long h = gr * cellH + (long) (gr + 1) * SEPARATOR;
        if (w > 65535 || h > 65535 || w * h > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a grid of " + count + " images of " + rows + "x" + cols
                    + " at scale " + scale + " would be " + w + "x" + h + " pixels; use fewer images or a smaller scale");
        }
        int width = (int) w;
        BufferedImage img = new BufferedImage(width, (int) h, BufferedImage.TYPE_BYTE_GRAY);
        byte[] buf = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        Arrays.fill(buf, (byte) SEPARATOR_GRAY);
        byte[] row = new byte[(int) cellW];
        for (int i = 0; i < count; i++) {
            int x0 = SEPARATOR + (i % gridCols) * (int) (cellW + SEPARATOR);
            int y0 = SEPARATOR + (i / gridCols) * (int) (cellH + SEPARATOR);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    byte g = gray(px.get(i, r * cols + c));
                    Arrays.fill(row, c * scale, (c + 1) * scale, g);
                }
                for (int s = 0; s < scale; s++) {
                    System.arraycopy(row, 0, buf, (y0 + r * scale + s) * width + x0, row.length);
                }
            }
        }
        return img;
    }

    private static byte gray(float v) {
        if (!(v > 0f)) return 0; // also NaN
        if (v >= 1f) return (byte) 255;
        return (byte) Math.round(v * 255f);
    }

    private static void write(Path file, BufferedImage img) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IOException("this JDK has no PNG writer (javax.imageio)");
        ImageWriter writer = writers.next();
        try {
            AtomicFiles.write(file, out -> {
                // In-memory cache: ImageIO's default file cache would write to java.io.tmpdir.
                try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
                    writer.setOutput(ios);
                    writer.write(img);
                }
            });
        } finally {
            writer.dispose();
        }
    }
}
