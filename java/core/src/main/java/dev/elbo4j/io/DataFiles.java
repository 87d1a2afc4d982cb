package dev.elbo4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A user's data set from a file or folder, its format found from the content: IDX (any element
 * type, the MNIST file names), NumPy {@code .npy} / {@code .npz}, CSV, or a folder of images
 * ({@link ImageFolder}). The test split comes from the files when they have one (MNIST's
 * {@code train-}/{@code t10k-} files; {@code train.*} beside {@code test.*}; {@code train/} and
 * {@code test/} folders; an npz's {@code x_train}/{@code x_test}), else from a fixed shuffle
 * holding out a fraction. Labels are optional everywhere. Values become {@link Dataset}'s 256
 * levels through a {@link Scaling} computed on the training split. docs/DATA.md has the rules.
 */
public final class DataFiles {

    /** The test fraction when the files have no test split and none is given. */
    public static final double DEFAULT_TEST_FRACTION = 0.1;
    /** The seed of the shuffle behind a held-out test fraction (fixed: the split is part of the data). */
    public static final long SPLIT_SEED = 0x5EED;

    private static final String[] MNIST_TRAIN = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    private static final String[] MNIST_TEST = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    private static final List<String> DATA_SUFFIXES = List.of(".npy", ".npz", ".csv", ".tsv", ".idx", ".gz", "-ubyte");

    private DataFiles() {
    }

    /** The data formats found by content. */
    public enum Format {
        /** IDX (MNIST's format, any element type), plain or gzip-compressed. */
        IDX,
        /** A NumPy {@code .npy} array. */
        NPY,
        /** A NumPy {@code .npz} archive of arrays. */
        NPZ,
        /** Numeric delimited text ({@link Csv}), one example per line: any file not recognised by its first bytes. */
        CSV,
        /** A folder of images ({@link ImageFolder}), one example per image, labelled by sub-folder. */
        IMAGES
    }

    /**
     * Where a data set came from and how it was turned into levels.
     *
     * @param path the file or folder given
     * @param format its format
     * @param testFraction the held-out fraction, or 0 when the files had a test split
     * @param scaling the map from values to levels
     * @param classes class names by label (image sub-folders), or empty
     */
    public record Source(Path path, Format format, double testFraction, Scaling scaling, List<String> classes) {
    }

    /**
     * A loaded data set: its two splits and where they came from.
     *
     * @param train  the training split
     * @param test   the test split (from the files, or held out by the test fraction)
     * @param source where they came from and how they were scaled
     */
    public record Split(Dataset train, Dataset test, Source source) {
    }

    /** One side of the data as read, before scaling. */
    private record Raw(NumericArray x, int[] labels, List<String> classes, Path path) {
    }

    /**
     * Loads {@code path} (a file or a folder).
     *
     * @param testFraction the fraction held out as test data when the files have no test split
     *     (0 &lt; f &lt; 1), or 0 for {@link #DEFAULT_TEST_FRACTION}
     * @throws DataFormatException naming the file and the problem
     * @throws NoSuchFileException if {@code path} does not exist or holds no recognisable data
     */
    public static Split load(Path path, double testFraction) throws IOException {
        return load(path, testFraction, 0, 0);
    }

    /**
     * {@link #load(Path, double)} reading at most {@code maxTrain} and {@code maxTest} examples (0:
     * all) where the files hold the split themselves as MNIST-style IDX pairs: the limits apply while
     * reading, so a file declaring more examples than memory holds can still be used in part. Other
     * formats are read whole and the caller takes its subset.
     *
     * @throws DataFormatException naming the file and the problem
     * @throws NoSuchFileException if {@code path} does not exist or holds no recognisable data
     * @throws IOException when a file cannot be read
     */
    public static Split load(Path path, double testFraction, int maxTrain, int maxTest) throws IOException {
        if (testFraction < 0 || testFraction >= 1) throw new IllegalArgumentException("test fraction must be in [0, 1), got " + testFraction);
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file or folder");
        double fraction = testFraction > 0 ? testFraction : DEFAULT_TEST_FRACTION;
        Raw train, test = null;
        Format format;
        if (Files.isDirectory(path)) {
            Path[] mnist = mnistFiles(path, MNIST_TRAIN);
            if (mnist != null) {
                format = Format.IDX;
                train = readIdxPair(mnist, maxTrain);
                Path[] t = mnistFiles(path, MNIST_TEST);
                test = t == null ? null : readIdxPair(t, maxTest);
            } else {
                Path tr = named(path, "train"), te = named(path, "test", "t10k");
                if (tr != null) {
                    format = formatOf(tr);
                    train = readOne(tr);
                    test = te == null ? null : readOne(te);
                } else if (ImageFolder.looksLikeImages(path)) {
                    format = Format.IMAGES;
                    train = readOne(path);
                } else {
                    List<Path> files = dataFiles(path);
                    if (files.size() != 1) {
                        throw new NoSuchFileException(path.toString(), null, files.isEmpty()
                                ? "no data found: expected images (in class sub-folders or not), .npy, .npz, .csv or IDX files, "
                                + "or train and test files or folders"
                                : "holds " + files.size() + " data files and none is named train*: name them train.* and test.*, "
                                + "or give one file");
                    }
                    format = formatOf(files.get(0));
                    train = readOne(files.get(0));
                }
            }
        } else {
            format = formatOf(path);
            if (format == Format.NPZ) {
                Raw[] both = readNpz(path);
                train = both[0];
                test = both[1];
            } else {
                train = readOne(path);
            }
        }
        if (test != null) {
            // A split whose images all happen to be grey beside an RGB one: both RGB.
            if (exampleShape(train)[2] == 3 && exampleShape(test)[2] == 1) test = toRgb(test);
            if (exampleShape(train)[2] == 1 && exampleShape(test)[2] == 3) train = toRgb(train);
            checkSameShape(train, test);
        }
        if (test != null && train.classes != null && test.classes != null && !train.classes.equals(test.classes)) {
            test = remapClasses(train, test);
        }
        Scaling scaling = scalingOf(train);
        List<String> classes = train.classes == null ? List.of() : train.classes;
        Dataset trainSet = toDataset(train, scaling), testSet;
        double held = 0;
        if (test != null) {
            testSet = toDataset(test, scaling);
        } else {
            int nTest = (int) Math.round(trainSet.n() * fraction);
            if (nTest < 1 || nTest >= trainSet.n()) {
                throw new DataFormatException(path, "has " + trainSet.n() + " examples and no test split: too few to hold out "
                        + fraction + " of them (give a test file or folder, or another --test-fraction)");
            }
            int[] perm = permutation(trainSet.n());
            testSet = trainSet.pick(Arrays.copyOfRange(perm, trainSet.n() - nTest, trainSet.n()));
            trainSet = trainSet.pick(Arrays.copyOf(perm, trainSet.n() - nTest));
            held = fraction;
        }
        return new Split(trainSet, testSet, new Source(path, format, held, scaling, classes));
    }

    /** SHA-256 of the data as trained on (images and labels of both splits), in hex. */
    public static String contentHash(Dataset train, Dataset test) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Dataset d : new Dataset[] {train, test}) {
                md.update(java.nio.ByteBuffer.allocate(16).putInt(d.n()).putInt(d.rows()).putInt(d.cols()).putInt(d.channels()).array());
                md.update(d.images());
                if (d.labels() != null) md.update(d.labels());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    /**
     * The format of a file, from its first bytes.
     *
     * @throws IOException when the file cannot be read
     */
    public static Format formatOf(Path p) throws IOException {
        if (Files.isDirectory(p)) return Format.IMAGES;
        byte[] head;
        try (InputStream in = Files.newInputStream(p)) {
            head = in.readNBytes(8);
        }
        if (Npy.isNpy(head)) return Format.NPY;
        if (Npz.isZip(head)) return Format.NPZ;
        if (IdxTyped.isIdx(head) || head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) return Format.IDX;
        return Format.CSV;
    }

    /**
     * A file that is no other format, read as CSV; an image file or a file not named as text says
     * what it was taken for, since its CSV errors alone ("not a text file") would puzzle.
     */
    private static Csv.Table readCsv(Path p) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(p)) {
            head = in.readNBytes(8);
        }
        boolean png = head.length >= 4 && (head[0] & 0xff) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G';
        boolean jpeg = head.length >= 3 && (head[0] & 0xff) == 0xff && (head[1] & 0xff) == 0xd8 && (head[2] & 0xff) == 0xff;
        boolean gif = head.length >= 4 && head[0] == 'G' && head[1] == 'I' && head[2] == 'F' && head[3] == '8';
        if (png || jpeg || gif) {
            throw new DataFormatException(p, "is a single image; images are read from a folder of them (give the folder, "
                    + "with one sub-folder per class if they have labels)");
        }
        String name = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".csv") || name.endsWith(".tsv") || name.endsWith(".txt")) return Csv.read(p);
        try {
            return Csv.read(p);
        } catch (DataFormatException e) {
            throw new DataFormatException(p, "is not .npy, .npz or IDX by its first bytes, so it was read as CSV: " + e.problem(), e);
        }
    }

    private static Raw readOne(Path p) throws IOException {
        Format f = formatOf(p);
        return switch (f) {
            case IMAGES -> {
                ImageFolder.Images im = ImageFolder.read(p);
                yield new Raw(im.images(), im.labels(), im.labels() == null ? null : im.classes(), p);
            }
            case NPY -> new Raw(Npy.read(p), labelsBeside(p), null, p);
            case IDX -> new Raw(IdxTyped.read(p), null, null, p);
            case NPZ -> {
                Raw[] both = readNpz(p);
                if (both[1] != null) throw new DataFormatException(p, "holds a train and a test split itself; give it alone as --data");
                yield both[0];
            }
            case CSV -> {
                Csv.Table t = readCsv(p);
                int lc = t.labelColumn();
                NumericArray v = t.values();
                if (lc < 0) yield new Raw(v, null, null, p);
                int rows = v.dim(0), cols = v.dim(1);
                if (cols < 2) throw new DataFormatException(p, "has only the label column '" + t.header().get(lc) + "'");
                float[] x = new float[rows * (cols - 1)];
                float[] y = new float[rows];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0, k = 0; c < cols; c++) {
                        if (c == lc) y[r] = v.f32()[r * cols + c];
                        else x[r * (cols - 1) + k++] = v.f32()[r * cols + c];
                    }
                }
                yield new Raw(new NumericArray(new int[] {rows, cols - 1}, null, x),
                        labels(new NumericArray(new int[] {rows}, null, y), p, "column '" + t.header().get(lc) + "'"), null, p);
            }
        };
    }

    /** {@code train.npy}'s labels: {@code train_labels.npy} or {@code train-labels.npy} beside it, if there. */
    private static int[] labelsBeside(Path npy) throws IOException {
        String name = npy.getFileName().toString();
        String stem = name.substring(0, name.length() - (name.toLowerCase(Locale.ROOT).endsWith(".npy") ? 4 : 0));
        for (String s : new String[] {stem + "_labels.npy", stem + "-labels.npy"}) {
            Path l = npy.resolveSibling(s);
            if (Files.isRegularFile(l)) return labels(Npy.read(l), l, "labels");
        }
        return null;
    }

    private static final String[][] NPZ_TRAIN = {{"x_train", "train_images", "train_x", "X_train"}, {"y_train", "train_labels", "train_y", "Y_train"}};
    private static final String[][] NPZ_TEST = {{"x_test", "test_images", "test_x", "X_test"}, {"y_test", "test_labels", "test_y", "Y_test"}};
    private static final String[][] NPZ_ALL = {{"x", "X", "images", "data", "features", "arr_0"}, {"y", "Y", "labels", "label", "targets", "arr_1"}};

    private static Raw[] readNpz(Path p) throws IOException {
        Map<String, NumericArray> a = Npz.read(p);
        Raw train = npzSide(a, NPZ_TRAIN, p);
        if (train != null) {
            Raw test = npzSide(a, NPZ_TEST, p);
            return new Raw[] {train, test};
        }
        Raw all = npzSide(a, NPZ_ALL, p);
        if (all == null && a.size() == 1) all = new Raw(a.values().iterator().next(), null, null, p);
        if (all == null) {
            throw new DataFormatException(p, "holds arrays " + a.keySet() + "; elbo4j looks for x_train (and x_test, y_train, "
                    + "y_test), or x (and y), or a single array");
        }
        return new Raw[] {all, null};
    }

    private static Raw npzSide(Map<String, NumericArray> a, String[][] keys, Path p) throws IOException {
        for (String xk : keys[0]) {
            if (!a.containsKey(xk)) continue;
            for (String yk : keys[1]) {
                if (a.containsKey(yk)) return new Raw(a.get(xk), labels(a.get(yk), p, "array '" + yk + "'"), null, p);
            }
            return new Raw(a.get(xk), null, null, p);
        }
        return null;
    }

    /** Whole-number class labels 0..255 from any numeric array of shape [n] or [n, 1]. */
    private static int[] labels(NumericArray a, Path p, String what) throws DataFormatException {
        if (!(a.rank() == 1 || a.rank() == 2 && a.dim(1) == 1)) {
            throw new DataFormatException(p, what + " has shape " + a.shapeString() + "; labels need one value per example");
        }
        int[] out = new int[a.dim(0)];
        for (int i = 0; i < out.length; i++) {
            double v = a.get(i);
            if (v != Math.rint(v) || v < 0 || v > 255) {
                throw new DataFormatException(p, what + ": label " + v + " of example " + i + " is not a class index 0..255");
            }
            out[i] = (int) v;
        }
        return out;
    }

    private static Raw readIdxPair(Path[] files, int max) throws IOException {
        int limit = max > 0 ? max : Integer.MAX_VALUE;
        NumericArray x = IdxTyped.read(files[0], limit);
        int[] y = files[1] == null ? null : labels(IdxTyped.read(files[1], limit), files[1], "labels");
        if (y != null && y.length != x.dim(0)) {
            throw new DataFormatException(files[1], "has " + y.length + " labels but " + files[0] + " has " + x.dim(0)
                    + " images; the two files must come from the same split");
        }
        return new Raw(x, y, null, files[0]);
    }

    /** MNIST's two files for a split (labels null when absent), or null when the images are absent. */
    private static Path[] mnistFiles(Path dir, String[] names) {
        Path[] found = new Path[2];
        for (int i = 0; i < 2; i++) {
            for (String s : new String[] {"", ".gz"}) {
                Path f = dir.resolve(names[i] + s);
                if (found[i] == null && Files.isRegularFile(f)) found[i] = f;
            }
        }
        return found[0] == null ? null : found;
    }

    /** The entry of {@code dir} named {@code prefix} or {@code prefix.*}, not a labels file; null if none. */
    private static Path named(Path dir, String... prefixes) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> hits = s.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                if (n.contains("label")) return false;
                for (String pre : prefixes) {
                    if (n.equals(pre) && Files.isDirectory(p)) return true;
                    if (n.startsWith(pre + ".") && Files.isRegularFile(p)) return true;
                }
                return false;
            }).sorted().toList();
            if (hits.size() > 1) {
                throw new DataFormatException(dir, "has " + hits.size() + " candidates for the " + prefixes[0] + " split: "
                        + hits.stream().map(h -> h.getFileName().toString()).toList() + "; keep one");
            }
            return hits.isEmpty() ? null : hits.get(0);
        }
    }

    private static List<Path> dataFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return !n.contains("label") && DATA_SUFFIXES.stream().anyMatch(n::endsWith);
            }).sorted().toList();
        }
    }

    /** The image shape of an array's examples: {rows, cols, channels}, and whether it is channels-first. */
    private static int[] exampleShape(Raw r) throws DataFormatException {
        NumericArray x = r.x;
        int[] s = x.shape();
        switch (s.length) {
            case 2 -> {
                int side = (int) Math.round(Math.sqrt(s[1]));
                return side * side == s[1] ? new int[] {side, side, 1, 0} : new int[] {1, s[1], 1, 0};
            }
            case 3 -> {
                return new int[] {s[1], s[2], 1, 0};
            }
            case 4 -> {
                if (s[3] == 1 || s[3] == 3) return new int[] {s[1], s[2], s[3], 0};
                if (s[1] == 1 || s[1] == 3) return new int[] {s[2], s[3], s[1], 1};
                throw new DataFormatException(r.path, "has shape " + x.shapeString() + "; 4-dimensional data must be "
                        + "[N, H, W, C] or [N, C, H, W] with 1 or 3 channels");
            }
            default -> throw new DataFormatException(r.path, "has shape " + x.shapeString() + "; examples must be "
                    + "[N, features], [N, H, W], [N, H, W, C] or [N, C, H, W]");
        }
    }

    /** A grey image array ([N, H, W] or [N, H, W, 1]) as RGB, [N, H, W, 3]; other shapes unchanged. */
    private static Raw toRgb(Raw r) {
        NumericArray x = r.x;
        if (x.rank() != 3 && !(x.rank() == 4 && x.dim(3) == 1)) return r;
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), px = n * h * w;
        if ((long) px * 3 > NumericArray.MAX_ELEMENTS) return r;
        int[] shape = {n, h, w, 3};
        if (x.isU8()) {
            byte[] out = new byte[px * 3];
            for (int i = 0; i < px; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = x.u8()[i];
            return new Raw(new NumericArray(shape, out, null), r.labels, r.classes, r.path);
        }
        float[] out = new float[px * 3];
        for (int i = 0; i < px; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = x.f32()[i];
        return new Raw(new NumericArray(shape, null, out), r.labels, r.classes, r.path);
    }

    private static void checkSameShape(Raw train, Raw test) throws DataFormatException {
        int[] a = exampleShape(train), b = exampleShape(test);
        if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) {
            throw new DataFormatException(test.path, "has examples of " + b[0] + "x" + b[1] + "x" + b[2] + ", but "
                    + train.path + " has " + a[0] + "x" + a[1] + "x" + a[2] + "; the splits must match");
        }
        if ((train.labels == null) != (test.labels == null)) {
            throw new DataFormatException(train.labels == null ? train.path : test.path, "has no labels, but "
                    + (train.labels == null ? test.path : train.path) + " has; give labels for both splits or neither");
        }
    }

    private static Raw remapClasses(Raw train, Raw test) throws DataFormatException {
        int[] y = new int[test.labels.length];
        for (int i = 0; i < y.length; i++) {
            String name = test.classes.get(test.labels[i]);
            int k = train.classes.indexOf(name);
            if (k < 0) throw new DataFormatException(test.path, "has class folder '" + name + "', which the training folder lacks");
            y[i] = k;
        }
        return new Raw(test.x, y, train.classes, test.path);
    }

    private static Scaling scalingOf(Raw train) throws DataFormatException {
        NumericArray x = train.x;
        if (x.isU8()) return Scaling.BYTES;
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        boolean whole = true;
        for (float v : x.f32()) {
            if (!Float.isFinite(v)) throw new DataFormatException(train.path, "holds a non-finite value (" + v + ")");
            min = Math.min(min, v);
            max = Math.max(max, v);
            whole &= v == Math.rint(v);
        }
        if (min >= 0 && max <= 1 && max > min) return Scaling.UNIT;
        if (whole && min >= 0 && max <= 255 && max > 1) return Scaling.BYTES;
        if (!(max > min)) throw new DataFormatException(train.path, "every value is " + min + "; there is nothing to learn");
        return new Scaling(min, max);
    }

    private static Dataset toDataset(Raw r, Scaling scaling) throws DataFormatException {
        int[] es = exampleShape(r);
        int rows = es[0], cols = es[1], ch = es[2];
        boolean chw = es[3] == 1;
        int n = r.x.dim(0), d = rows * cols * ch;
        if (r.labels != null && r.labels.length != n) {
            throw new DataFormatException(r.path, "has " + n + " examples but " + r.labels.length + " labels");
        }
        byte[] px = new byte[n * d];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < d; p++) {
                // p is the HWC index of the output; the source index differs for channels-first arrays.
                int src = chw ? (p % ch) * rows * cols + p / ch : p;
                int at = i * d + src;
                px[i * d + p] = (byte) (r.x.isU8() ? r.x.u8()[at] : scaling.level(r.x.f32()[at]));
            }
        }
        byte[] lab = null;
        if (r.labels != null) {
            lab = new byte[n];
            for (int i = 0; i < n; i++) lab[i] = (byte) r.labels[i];
        }
        return new Dataset(px, lab, n, rows, cols, ch);
    }

    private static int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom rnd = new SplittableRandom(SPLIT_SEED);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** "60000 train and 10000 test examples of 28x28 (IDX)". */
    public static String describe(Split s) {
        Dataset t = s.train();
        return String.format(Locale.ROOT, "%d train and %d test examples of %dx%d%s (%s%s)", t.n(), s.test().n(), t.rows(), t.cols(),
                t.channels() > 1 ? "x" + t.channels() : "", s.source().format().name().toLowerCase(Locale.ROOT),
                s.source().testFraction() > 0 ? String.format(Locale.ROOT, ", test split: %.0f%% held out", 100 * s.source().testFraction()) : "");
    }

}
