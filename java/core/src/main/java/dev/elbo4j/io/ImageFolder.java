package dev.elbo4j.io;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads a folder of images (PNG, JPEG, BMP, GIF: whatever {@code javax.imageio} decodes) as
 * torchvision's {@code ImageFolder} does: either the images lie in the folder itself (no labels),
 * or in one sub-folder per class, the classes numbered 0, 1, ... in the sorted order of the
 * sub-folders' names. Files are taken in sorted order. All images must have one size. The result
 * is greyscale ({@code [n, rows, cols]}) when every pixel of every image has equal red, green
 * and blue, else RGB ({@code [n, rows, cols, 3]}, channels last); alpha is dropped.
 *
 * <p>Every image's size is read from its header before its pixels are decoded, so an image
 * claiming an absurd size is refused without allocating it.
 */
public final class ImageFolder {

    /** The file suffixes taken as images (case-insensitive); other files are skipped. */
    public static final List<String> SUFFIXES = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");
    /** The largest image side accepted. */
    public static final int MAX_SIDE = 4096;

    private ImageFolder() {
    }

    /**
     * A folder's images.
     *
     * @param images [n, rows, cols] or [n, rows, cols, 3], unsigned bytes
     * @param labels one class index per image, or {@code null} for a folder without class sub-folders
     * @param classes the class names (sub-folder names) by index; empty without labels
     */
    public record Images(NumericArray images, int[] labels, List<String> classes) {
    }

    /**
     * Whether {@code dir} holds images directly or in sub-folders, so {@link #read} would find some.
     *
     * @throws IOException when the folder cannot be listed
     */
    public static boolean looksLikeImages(Path dir) throws IOException {
        if (!listImages(dir).isEmpty()) return true;
        for (Path sub : listDirs(dir)) if (!listImages(sub).isEmpty()) return true;
        return false;
    }

    /**
     * Reads the images of {@code dir}.
     *
     * @throws DataFormatException naming the folder or file: no images, images both in the folder and in
     *     sub-folders, an image that cannot be decoded, or one of another size than the
     *     first
     * @throws IOException when the folder or a file cannot be read
     */
    public static Images read(Path dir) throws IOException {
        List<Path> direct = listImages(dir);
        List<Path> subs = listDirs(dir);
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        if (!direct.isEmpty()) {
            List<Path> withImages = new ArrayList<>();
            for (Path s : subs) if (!listImages(s).isEmpty()) withImages.add(s);
            if (!withImages.isEmpty()) {
                throw new DataFormatException(dir, "holds images both in itself and in sub-folders (" + withImages.get(0).getFileName()
                        + "); put them all in class sub-folders, or all in the folder itself for unlabelled data");
            }
            files.addAll(direct);
        } else {
            for (Path s : subs) {
                List<Path> in = listImages(s);
                if (in.isEmpty()) continue;
                int label = classes.size();
                classes.add(s.getFileName().toString());
                for (Path f : in) {
                    files.add(f);
                    labels.add(label);
                }
            }
        }
        if (files.isEmpty()) {
            throw new DataFormatException(dir, "no images (" + String.join(", ", SUFFIXES) + ") in the folder or its sub-folders");
        }
        int rows = -1, cols = -1;
        Path first = null;
        byte[][] rgb = new byte[files.size()][];
        boolean grey = true;
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            BufferedImage img = decode(f);
            if (first == null) {
                first = f;
                rows = img.getHeight();
                cols = img.getWidth();
                if ((long) files.size() * rows * cols * 3 > NumericArray.MAX_ELEMENTS) {
                    throw new DataFormatException(dir, files.size() + " images of " + cols + "x" + rows
                            + " are more than elbo4j holds in one array; use fewer or smaller images");
                }
            } else if (img.getHeight() != rows || img.getWidth() != cols) {
                throw new DataFormatException(f, "is " + img.getWidth() + "x" + img.getHeight() + " pixels, but " + first
                        + " is " + cols + "x" + rows + "; all images must have one size");
            }
            byte[] px = new byte[rows * cols * 3];
            int[] line = new int[cols];
            for (int r = 0; r < rows; r++) {
                img.getRGB(0, r, cols, 1, line, 0, cols);
                for (int c = 0; c < cols; c++) {
                    int v = line[c], o = (r * cols + c) * 3;
                    byte red = (byte) (v >> 16), green = (byte) (v >> 8), blue = (byte) v;
                    px[o] = red;
                    px[o + 1] = green;
                    px[o + 2] = blue;
                    grey &= red == green && green == blue;
                }
            }
            rgb[i] = px;
        }
        int n = files.size(), ch = grey ? 1 : 3, d = rows * cols * ch;
        byte[] all = new byte[n * d];
        for (int i = 0; i < n; i++) {
            if (grey) {
                for (int p = 0; p < rows * cols; p++) all[i * d + p] = rgb[i][3 * p];
            } else {
                System.arraycopy(rgb[i], 0, all, i * d, d);
            }
            rgb[i] = null;
        }
        int[] shape = grey ? new int[] {n, rows, cols} : new int[] {n, rows, cols, 3};
        return new Images(new NumericArray(shape, all, null),
                classes.isEmpty() ? null : labels.stream().mapToInt(Integer::intValue).toArray(), List.copyOf(classes));
    }

    private static BufferedImage decode(Path f) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(f.toFile())) {
            if (in == null) throw new DataFormatException(f, "cannot be opened as an image");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new DataFormatException(f, "not an image javax.imageio can decode (PNG, JPEG, BMP, GIF)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0), h = reader.getHeight(0);
                if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) {
                    throw new DataFormatException(f, "header says " + w + "x" + h + " pixels; elbo4j takes images of 1 to "
                            + MAX_SIDE + " pixels a side");
                }
                return reader.read(0);
            } catch (IOException | RuntimeException e) {
                if (e instanceof DataFormatException dfe) throw dfe;
                throw new DataFormatException(f, "corrupt image: " + e.getMessage(), e);
            } finally {
                reader.dispose();
            }
        }
    }

    private static List<Path> listImages(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return !name.startsWith(".") && SUFFIXES.stream().anyMatch(name::endsWith);
            }).sorted().toList();
        }
    }

    private static List<Path> listDirs(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        }
    }
}
