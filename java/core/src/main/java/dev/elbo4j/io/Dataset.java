package dev.elbo4j.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An image data set in memory: {@code n} images of {@code rows x cols} pixels with
 * {@code channels} unsigned bytes each (1: grey; 3: red, green, blue, channels last), row-major,
 * image after image, and optionally one u8 label per image. The arrays are shared, not copied;
 * treat them as read-only. Data read from other formats ({@link DataFiles}) arrives here scaled
 * to these 256 levels.
 *
 * @param images {@code n * rows * cols * channels} bytes, values 0..255 (read with {@code & 0xff})
 * @param labels {@code n} labels, or {@code null} for an unlabelled data set
 * @param n the number of images
 * @param rows image height
 * @param cols image width
 * @param channels 1 (grey) or 3 (RGB)
 */
public record Dataset(byte[] images, byte[] labels, int n, int rows, int cols, int channels) {

    /** File names of the two MNIST-layout splits, as {images, labels}. */
    private static final String[] TRAIN = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    private static final String[] TEST = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

    /**
     * Checks the sizes: {@code n >= 0}, positive {@code rows} and {@code cols}, 1 or 3 {@code channels},
     * {@code images} of exactly {@code n * rows * cols * channels} bytes and, when present, {@code n} labels.
     * The arrays are kept, not copied.
     *
     * @throws IllegalArgumentException naming the sizes when one of those does not hold
     */
    public Dataset {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (n < 0 || rows <= 0 || cols <= 0 || (channels != 1 && channels != 3)) {
            throw new IllegalArgumentException("need n >= 0, positive rows, cols and 1 or 3 channels; got n=" + n
                    + ", rows=" + rows + ", cols=" + cols + ", channels=" + channels);
        }
        if ((long) n * rows * cols * channels != images.length) {
            throw new IllegalArgumentException(n + " images of " + rows + "x" + cols + "x" + channels + " need "
                    + (long) n * rows * cols * channels + " bytes, got " + images.length);
        }
        if (labels != null && labels.length != n) {
            throw new IllegalArgumentException(n + " images but " + labels.length + " labels");
        }
    }

    /** A grey data set: {@code n} images of {@code rows x cols} bytes. */
    public Dataset(byte[] images, byte[] labels, int n, int rows, int cols) {
        this(images, labels, n, rows, cols, 1);
    }

    /**
     * A grey data set from values in [0, 1] held in memory, e.g. pixel intensities: {@code values}
     * holds the examples one after another, {@code rows * cols} values each, row-major; {@code labels}
     * (0..255, one per example) may be null. Each value becomes the nearest of the 256 levels
     * ({@link Scaling#UNIT}). Data on another scale: divide by its maximum first, or use
     * {@link #fromFloats(float[], int[], int, int, int, Scaling)}.
     *
     * @throws IllegalArgumentException naming the first value that is NaN, infinite or outside [0, 1],
     *                                  the first label outside 0..255, or sizes that do not fit
     */
    public static Dataset fromFloats(float[] values, int[] labels, int rows, int cols) {
        return fromFloats(values, labels, rows, cols, 1, Scaling.UNIT);
    }

    /**
     * {@link #fromFloats(float[], int[], int, int)} for values on the scale {@code scaling}
     * (level 0 is {@code scaling.min()}, level 255 {@code scaling.max()}; values outside it are
     * refused) and images of {@code channels} (1 grey, 3 RGB, channels last).
     */
    public static Dataset fromFloats(float[] values, int[] labels, int rows, int cols, int channels, Scaling scaling) {
        if (values == null) throw new IllegalArgumentException("values must not be null");
        if (scaling == null) throw new IllegalArgumentException("scaling must not be null");
        if (rows <= 0 || cols <= 0 || (channels != 1 && channels != 3)) {
            throw new IllegalArgumentException("need positive rows and cols and 1 or 3 channels; got rows=" + rows + ", cols="
                    + cols + ", channels=" + channels);
        }
        long per = (long) rows * cols * channels;
        if (values.length % per != 0) {
            throw new IllegalArgumentException("values has " + values.length + " entries, not a whole number of " + rows + "x" + cols
                    + (channels == 1 ? "" : "x" + channels) + " examples (" + per + " values each)");
        }
        int n = (int) (values.length / per);
        byte[] images = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (!(v >= scaling.min() && v <= scaling.max())) { // NaN fails both
                throw new IllegalArgumentException("values[" + i + "] (example " + i / per + ", value " + i % per + ") is " + v
                        + "; every value must be a number in [" + scaling.min() + ", " + scaling.max() + "]");
            }
            images[i] = (byte) scaling.level(v);
        }
        byte[] lab = null;
        if (labels != null) {
            if (labels.length != n) {
                throw new IllegalArgumentException("labels has " + labels.length + " entries for " + n + " examples; give one per example");
            }
            lab = new byte[n];
            for (int i = 0; i < n; i++) {
                if (labels[i] < 0 || labels[i] > 255) {
                    throw new IllegalArgumentException("labels[" + i + "] is " + labels[i] + "; labels are classes 0..255");
                }
                lab[i] = (byte) labels[i];
            }
        }
        return new Dataset(images, lab, n, rows, cols, channels);
    }

    /**
     * Images {@code from .. from + count - 1} as values in [0, 1] (level / 255), row-major, one
     * image after another: the inverse of {@link #fromFloats(float[], int[], int, int)}, and what
     * the models' {@code float[]} methods take (e.g. {@code vae.encodeMean(test.floats(0, 10))}).
     */
    public float[] floats(int from, int count) {
        if (from < 0 || count < 0 || from > n - count) {
            throw new IndexOutOfBoundsException("images [" + from + ", " + ((long) from + count) + ") are outside this data set's "
                    + n + " images");
        }
        int d = dim();
        float[] v = new float[count * d];
        for (int i = 0; i < v.length; i++) v[i] = (images[from * d + i] & 0xff) / 255f;
        return v;
    }

    /** Values per image, {@code rows * cols * channels}. */
    public int dim() {
        return rows * cols * channels;
    }

    /** The shape of one image: {rows, cols} when grey, {rows, cols, 3} when RGB. */
    public int[] imageShape() {
        return channels == 1 ? new int[] {rows, cols} : new int[] {rows, cols, channels};
    }

    /** Whether the data set has labels. */
    public boolean hasLabels() {
        return labels != null;
    }

    /** The label of image {@code i} (0..255). */
    public int label(int i) {
        if (labels == null) throw new IllegalStateException("this data set has no labels");
        checkImage(i);
        return labels[i] & 0xff;
    }

    private void checkImage(int i) {
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("image " + i + " is outside 0.." + (n - 1) + " of this data set's " + n);
    }

    /** Pixel {@code p} (0..dim-1) of image {@code i}, 0..255. */
    public int pixel(int i, int p) {
        checkImage(i);
        if (p < 0 || p >= dim()) throw new IndexOutOfBoundsException("pixel " + p + " is outside 0.." + (dim() - 1) + " of an image");
        return images[i * dim() + p] & 0xff;
    }

    /**
     * Loads images and (optionally) labels from IDX files, plain or gzip-compressed.
     *
     * @param images an IDX file with magic 0x00000803 (count, rows, cols)
     * @param labels an IDX file with magic 0x00000801 (count), or {@code null} for no labels
     * @throws DataFormatException if either file is malformed, or their counts differ
     */
    public static Dataset load(Path images, Path labels) throws IOException {
        return load(images, labels, Integer.MAX_VALUE);
    }

    /**
     * The first {@code maxItems} images and labels only, reading no more than they need (see
     * {@link Idx#read(Path, int)}); the label count is checked over the entries read.
     *
     * @throws DataFormatException if either file is malformed, or their counts differ
     * @throws IOException when a file cannot be read
     */
    public static Dataset load(Path images, Path labels, int maxItems) throws IOException {
        Idx.IdxArray im = Idx.read(images, maxItems);
        if (im.rank() != 3) {
            throw new DataFormatException(images, String.format(
                    "not an image file: magic 0x%08X has %d dimensions; images need 3 (magic 0x%08X)",
                    im.magic(), im.rank(), Idx.MAGIC_IMAGES));
        }
        byte[] lab = null;
        if (labels != null) {
            Idx.IdxArray lb = Idx.read(labels, maxItems);
            if (lb.rank() != 1) {
                throw new DataFormatException(labels, String.format(
                        "not a label file: magic 0x%08X has %d dimensions; labels need 1 (magic 0x%08X)",
                        lb.magic(), lb.rank(), Idx.MAGIC_LABELS));
            }
            if (lb.dim(0) != im.dim(0)) {
                throw new DataFormatException(labels, "has " + lb.dim(0) + " labels but " + images + " has "
                        + im.dim(0) + " images; the two files must come from the same split");
            }
            lab = lb.data();
        }
        return new Dataset(im.data(), lab, im.dim(0), im.dim(1), im.dim(2));
    }

    /**
     * Loads a split from a directory laid out like MNIST: {@code train-images-idx3-ubyte} and
     * {@code train-labels-idx1-ubyte} for "train", {@code t10k-images-idx3-ubyte} and
     * {@code t10k-labels-idx1-ubyte} for "test" (or "t10k"); each may also be gzip-compressed with
     * a {@code .gz} suffix (the uncompressed file wins when both exist).
     *
     * @throws NoSuchFileException naming the expected files if one is missing
     * @throws IllegalArgumentException for a split other than "train", "test" or "t10k"
     */
    public static Dataset loadDir(Path dir, String split) throws IOException {
        return loadDir(dir, split, Integer.MAX_VALUE);
    }

    /**
     * {@link #loadDir(Path, String)} reading only the first {@code maxItems} examples.
     *
     * @throws NoSuchFileException naming the expected files if one is missing
     * @throws DataFormatException if a file is malformed
     * @throws IOException when a file cannot be read
     */
    public static Dataset loadDir(Path dir, String split, int maxItems) throws IOException {
        String[] names = switch (split) {
            case "train" -> TRAIN;
            case "test", "t10k" -> TEST;
            default -> throw new IllegalArgumentException("unknown split '" + split + "'; use \"train\" or \"test\"");
        };
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such directory; expected a directory with "
                    + names[0] + " and " + names[1] + " (optionally .gz); `make data` fetches MNIST into data/mnist");
        }
        Path[] found = new Path[2];
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Path plain = dir.resolve(names[i]);
            Path gz = dir.resolve(names[i] + ".gz");
            if (Files.isRegularFile(plain)) found[i] = plain;
            else if (Files.isRegularFile(gz)) found[i] = gz;
            else missing.add(names[i]);
        }
        if (!missing.isEmpty()) {
            throw new NoSuchFileException(dir.toString(), null, "the " + split + " split needs " + names[0]
                    + " and " + names[1] + " (each optionally .gz); missing: " + String.join(", ", missing)
                    + "; `make data` fetches MNIST into data/mnist");
        }
        return load(found[0], found[1], maxItems);
    }

    /** The first {@code count} images (and labels); {@code this} if {@code count == n}. */
    public Dataset subset(int count) {
        if (count == n) return this;
        return slice(0, count);
    }

    /** Images {@code from .. from+count-1} (and their labels), copied. */
    public Dataset slice(int from, int count) {
        if (from < 0 || count < 0 || (long) from + count > n) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + ((long) from + count)
                    + ") is outside the data set's " + n + " images");
        }
        int d = dim();
        byte[] im = Arrays.copyOfRange(images, from * d, (from + count) * d);
        byte[] lab = labels == null ? null : Arrays.copyOfRange(labels, from, from + count);
        return new Dataset(im, lab, count, rows, cols, channels);
    }

    /**
     * The images shrunk to {@code newRows x newCols} by block means (average pooling over
     * (rows/newRows) x (cols/newCols) blocks, rounded to the nearest level), labels kept: how a
     * small model (a fully visible Boltzmann machine, d &lt;= 20) sees MNIST. The sizes must divide
     * the image's.
     */
    public Dataset downsample(int newRows, int newCols) {
        if (channels != 1) throw new IllegalArgumentException("downsampling is for grey images; these have " + channels + " channels");
        if (newRows < 1 || newCols < 1 || rows % newRows != 0 || cols % newCols != 0) {
            throw new IllegalArgumentException("cannot downsample " + rows + "x" + cols + " images to " + newRows + "x"
                    + newCols + ": the new sizes must divide the old ones");
        }
        int br = rows / newRows, bc = cols / newCols, d = newRows * newCols;
        byte[] px = new byte[n * d];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < newRows; r++) {
                for (int c = 0; c < newCols; c++) {
                    int sum = 0;
                    for (int y = 0; y < br; y++) {
                        for (int x = 0; x < bc; x++) sum += pixel(i, (r * br + y) * cols + c * bc + x);
                    }
                    px[i * d + r * newCols + c] = (byte) Math.round(sum / (double) (br * bc));
                }
            }
        }
        return new Dataset(px, labels, n, newRows, newCols);
    }

    /** The images at {@code indices} (and their labels), in that order, copied. */
    public Dataset pick(int[] indices) {
        int d = dim();
        byte[] im = new byte[indices.length * d];
        byte[] lab = labels == null ? null : new byte[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = indices[k];
            if (i < 0 || i >= n) throw new IndexOutOfBoundsException("index " + i + " is outside the data set's " + n + " images");
            System.arraycopy(images, i * d, im, k * d, d);
            if (lab != null) lab[k] = labels[i];
        }
        return new Dataset(im, lab, indices.length, rows, cols, channels);
    }

    @Override
    public String toString() {
        return "Dataset[" + n + " images of " + rows + "x" + cols + (channels > 1 ? "x" + channels : "") + (labels == null ? ", unlabelled" : ", labelled") + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dataset d && n == d.n && rows == d.rows && cols == d.cols && channels == d.channels
                && Arrays.equals(images, d.images) && Arrays.equals(labels, d.labels);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(images) + Arrays.hashCode(labels)) + n;
    }
}
