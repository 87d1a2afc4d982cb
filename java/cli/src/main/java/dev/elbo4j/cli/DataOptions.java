package dev.elbo4j.cli;

import dev.elbo4j.io.DataFiles;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.io.Scaling;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the data comes from: a named data set fetched by {@code make data}, the user's own file or
 * folder (any format {@link DataFiles} reads), or, for a command given a checkpoint, the data the
 * checkpoint records it was trained on.
 */
final class DataOptions {
    /** The named data sets `make data` fetches into the data folder. */
    static final List<String> DATASETS = List.of("mnist", "fashion-mnist");

    @Option(names = "--dataset", completionCandidates = Candidates.Datasets.class, paramLabel = "DATASET",
            description = "Data set under the data folder: mnist or fashion-mnist (default: the checkpoint's data, else mnist).")
    String dataset;

    @Option(names = "--data", paramLabel = "PATH",
            description = "Your own data, a file or folder, its format found from the content: a folder of images "
                    + "(PNG, JPEG; grey or RGB, one size; sub-folders are classes), NumPy .npy/.npz, CSV (numbers, "
                    + "optional header; a column named label is the label), or IDX files. A test split comes from the "
                    + "files (train*/test* names or folders) or --test-fraction. Overrides --dataset; docs/DATA.md.")
    Path dir;

    @Option(names = "--data-root", paramLabel = "DIR",
            description = "Folder holding the named data sets (default: $ELBO4J_DATA, else ./data, else the data "
                    + "folder of the elbo4j checkout the command runs from, where `make data` puts them).")
    Path root;

    @Option(names = "--test-fraction", paramLabel = "F",
            description = "Share of the examples held out as test data when the data has no test split of its own "
                    + "(default: 0.1; a fixed shuffle, the same every run).")
    Double testFraction;

    @Option(names = "--downsample", paramLabel = "RxC",
            description = "Shrink every image to R x C pixels by block means (e.g. 4x4 for a fully visible Boltzmann "
                    + "machine, which needs <= 20 pixels); R and C must divide the image size. Commands given a "
                    + "checkpoint use the size it was trained at.")
    String downsample;

    private DataFiles.Split split;
    private Map<String, Object> recorded;
    /** The recorded path is gone and the data set the checkpoint names is used in its place. */
    private boolean recordedByName;
    private int readTrain, readTest;

    /**
     * Limits applied while reading (0: all), where the files hold their own split (IDX): set before
     * the first {@link #load}, by a command that never needs more than {@code train} and {@code test}
     * examples.
     */
    void readAtMost(int train, int test) {
        if (split != null) throw new IllegalStateException("the data is already read");
        readTrain = train;
        readTest = test;
    }

    /** Whether the user named the data (--data or --dataset). */
    boolean given() {
        return dir != null || dataset != null;
    }

    /**
     * Makes the data the checkpoint records (where the model was trained) the default: used when
     * neither --data nor --dataset is given, and said so on {@code err}.
     */
    void defaultTo(Checkpoint c, PrintWriter err, String command) {
        recorded = c.dataSource();
        if (recorded == null || given()) return;
        dir = Path.of(JsonFields.string(recorded, "path"));
        if (!Files.exists(dir) && JsonFields.has(recorded, "dataset")) {
            // The files moved (another clone, data fetched again elsewhere): the named data set, found as
            // train finds it, stands in, and the content hash below still says whether it is the same data.
            err.printf(Locale.ROOT, "%s: data: %s, where the model was trained, is gone; using the data set '%s'%n",
                    command, dir, JsonFields.string(recorded, "dataset"));
            dataset = JsonFields.string(recorded, "dataset");
            dir = null;
            recordedByName = true;
        }
        if (testFraction == null && JsonFields.has(recorded, "test_fraction") && JsonFields.number(recorded, "test_fraction") > 0) {
            testFraction = JsonFields.number(recorded, "test_fraction");
        }
        if (downsample == null && JsonFields.has(recorded, "downsample")) downsample = JsonFields.string(recorded, "downsample");
        if (dir != null) {
            err.printf(Locale.ROOT, "%s: data: %s (where the model was trained; --data or --dataset to use other data)%n", command, dir);
        }
    }

    Path resolve() {
        if (dir != null) {
            if (!Files.exists(dir)) {
                throw new Main.UsageException("--data " + dir + ": no such file or folder"
                        + (recorded != null && dataset == null ? " (the checkpoint records it as the training data; "
                        + "give --data or --dataset)" : ""));
            }
            return dir;
        }
        String name = dataset == null ? "mnist" : dataset;
        if (!DATASETS.contains(name)) {
            throw new Main.UsageException("--dataset " + name + ": unknown (known: " + String.join(", ", DATASETS) + "; or use --data PATH)");
        }
        Path base = namedRoot(name);
        Path d = base.resolve(name);
        if (!Files.isDirectory(d)) {
            Path home = homeData();
            throw new Main.UsageException("data set '" + name + "' not found in " + base.toAbsolutePath()
                    + (root == null && System.getenv("ELBO4J_DATA") == null && home != null ? " nor in " + home : "")
                    + ": run `make data` in the elbo4j folder, or pass --data PATH with your own files");
        }
        return d;
    }

    /**
     * The folder of the named data sets: --data-root, else $ELBO4J_DATA, else ./data when it holds
     * {@code name}, else the data folder beside the elbo4j command ({@link #HOME_PROPERTY}, set by
     * bin/elbo4j) when that holds it, so a command run from any folder finds what `make data` fetched.
     */
    private Path namedRoot(String name) {
        if (root != null) return root;
        if (System.getenv("ELBO4J_DATA") != null) return Path.of(System.getenv("ELBO4J_DATA"));
        Path here = Path.of("data");
        if (Files.isDirectory(here.resolve(name))) return here;
        Path home = homeData();
        return home != null && Files.isDirectory(home.resolve(name)) ? home : here;
    }

    /** System property holding the folder bin/elbo4j runs from (a checkout, or PREFIX/share/elbo4j). */
    static final String HOME_PROPERTY = "elbo4j.home";

    private static Path homeData() {
        String home = System.getProperty(HOME_PROPERTY);
        return home == null || home.isBlank() ? null : Path.of(home).toAbsolutePath().normalize().resolve("data");
    }

    /** Both splits, whole (no limits, no downsampling), read once. */
    DataFiles.Split splits() throws IOException {
        if (split == null) {
            if (testFraction != null && !(testFraction > 0 && testFraction < 1)) {
                throw new Main.UsageException("--test-fraction must be between 0 and 1, got " + testFraction);
            }
            split = DataFiles.load(resolve(), testFraction == null ? 0 : testFraction, readTrain, readTest);
        }
        return split;
    }

    Dataset load(String which, int limit) throws IOException {
        if (limit < 0) throw new Main.UsageException("an example limit must be >= 0 (0: all), got " + limit);
        DataFiles.Split s = splits();
        Dataset d = which.equals("train") ? s.train() : s.test();
        d = limit > 0 && limit < d.n() ? d.subset(limit) : d;
        if (downsample != null) {
            String[] rc = downsample.toLowerCase(Locale.ROOT).split("x");
            int r, c;
            try {
                if (rc.length != 2) throw new NumberFormatException();
                r = Integer.parseInt(rc[0].trim());
                c = Integer.parseInt(rc[1].trim());
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--downsample must be ROWSxCOLS, e.g. 4x4; got '" + downsample + "'");
            }
            try {
                d = d.downsample(r, c);
            } catch (IllegalArgumentException e) {
                throw new Main.UsageException("--downsample: " + e.getMessage());
            }
        }
        return d;
    }

    /**
     * Loads a split and checks it fits a model of {@code image} images ({rows, cols} or {rows, cols,
     * channels}): the same shape, not only the same number of values (14x56 images hold 784 pixels too).
     */
    Dataset loadFor(String which, int limit, int[] image) throws IOException {
        int dim = 1;
        for (int e : image) dim *= e;
        Dataset d = loadFor(which, limit, dim);
        if (!java.util.Arrays.equals(d.imageShape(), image)) {
            throw new Main.UsageException("the model takes " + shape(image) + " images, the " + which + " images of "
                    + name() + " are " + shape(d.imageShape()));
        }
        return d;
    }

    /** An image shape as ROWSxCOLS[xCHANNELS]. */
    static String shape(int[] s) {
        StringBuilder b = new StringBuilder();
        for (int e : s) b.append(b.isEmpty() ? "" : "x").append(e);
        return b.toString();
    }

    /** Loads a split and checks it fits a model taking {@code inputDim} values per example. */
    Dataset loadFor(String which, int limit, int inputDim) throws IOException {
        Dataset d = load(which, limit);
        if (d.dim() != inputDim) {
            throw new Main.UsageException("the model takes " + inputDim + " values per example, " + name() + " has "
                    + d.dim() + " (" + d.rows() + "x" + d.cols() + (d.channels() > 1 ? "x" + d.channels() : "") + ")"
                    + (downsample == null && inputDim < d.dim() ? "; a model trained on smaller images needs --downsample" : ""));
        }
        return d;
    }

    /**
     * The split {@code which} for a model read from {@code c}: the checkpoint's recorded data unless
     * the user named other data (said on {@code err}), checked to fit the model, with a note on
     * {@code err} when the files changed since training.
     */
    Dataset loadFor(Checkpoint c, String which, int limit, PrintWriter err, String command) throws IOException {
        defaultTo(c, err, command);
        Dataset d = loadFor(which, limit, c.image());
        String note = changedNote();
        if (note != null) err.println(command + ": note: " + note);
        err.flush();
        return d;
    }

    /** The splits {@link #loadSplit} takes: eval's --split. */
    static final List<String> SPLITS = List.of("test", "train", "validation");

    /**
     * A split of the data for the model read from {@code c}, as the run used it: "test" the test
     * split (whole: the run's --test-limit only shortened its per-epoch figures); "train" the
     * examples the run trained on, its training split under its recorded --train-limit without the
     * validation examples it held out; "validation" those held-out examples, the rows the trainer
     * evaluated after every epoch ({@link SelectionOptions#holdOut}). Then the first {@code limit}
     * of the split (0: all). Loaded as {@link #loadFor(Checkpoint, String, int, PrintWriter, String)}
     * loads. A run without a validation split refuses "validation" (a usage error saying how to get
     * one).
     */
    Dataset loadSplit(Checkpoint c, String which, int limit, PrintWriter err, String command) throws IOException {
        if (!SPLITS.contains(which)) {
            throw new Main.UsageException("--split must be one of " + String.join(", ", SPLITS) + ", got " + which);
        }
        if (limit < 0) throw new Main.UsageException("an example limit must be >= 0 (0: all), got " + limit);
        if (which.equals("test")) return loadFor(c, which, limit, err, command);
        Map<String, Object> rec = c.dataSource();
        int trainLimit = rec != null && JsonFields.has(rec, "train_limit") ? (int) JsonFields.longValue(rec, "train_limit") : 0;
        int held = rec != null && JsonFields.has(rec, "validation") ? (int) JsonFields.longValue(rec, "validation") : 0;
        if (which.equals("validation") && held == 0) {
            throw new Main.UsageException("--split validation: the run was trained without a validation split"
                    + (rec == null ? " (its checkpoint records no training data)" : "")
                    + "; train with --validation N (or a fraction F) to hold out the last N training examples, "
                    + "or evaluate --split test or train");
        }
        Dataset train = loadFor(c, "train", trainLimit, err, command);
        if (held >= train.n()) {
            throw new Main.UsageException("--split " + which + ": the run held out " + held + " validation examples, but the "
                    + "training split of " + name() + " has only " + train.n() + (trainLimit > 0 ? " (--train-limit " + trainLimit + ")" : ""));
        }
        Dataset d = which.equals("train") ? SelectionOptions.trainedOn(train, held) : SelectionOptions.heldOut(train, held);
        return limit > 0 && limit < d.n() ? d.subset(limit) : d;
    }

    /**
     * A note when the data differs from what the checkpoint records (the files changed since
     * training), or null. Compares the content hash of the whole splits.
     */
    String changedNote() throws IOException {
        if (recorded == null || !JsonFields.has(recorded, "sha256")) return null;
        Path here = resolve().toAbsolutePath().normalize();
        if (!recordedByName && !here.toString().equals(JsonFields.string(recorded, "path"))) return null; // other data, chosen by the user
        // A run trained under limits hashed what it read, which a whole read cannot be compared with.
        if (JsonFields.has(recorded, "train_limit") && JsonFields.number(recorded, "train_limit") > 0
                || JsonFields.has(recorded, "test_limit") && JsonFields.number(recorded, "test_limit") > 0) {
            return null;
        }
        String now = DataFiles.contentHash(splits().train(), splits().test());
        return now.equals(JsonFields.string(recorded, "sha256")) ? null
                : here + " changed since the model was trained (its content hash differs from the checkpoint's)";
    }

    /** What the checkpoint records about the data (docs/FORMAT.md, training.data). */
    Map<String, Object> record(int trainLimit, int testLimit) throws IOException {
        DataFiles.Split s = splits();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", resolve().toAbsolutePath().normalize().toString());
        if (dir == null) m.put("dataset", dataset == null ? "mnist" : dataset);
        m.put("format", s.source().format().name().toLowerCase(Locale.ROOT));
        m.put("train_examples", s.train().n());
        m.put("test_examples", s.test().n());
        m.put("example_shape", s.train().imageShape());
        m.put("labelled", s.train().hasLabels());
        m.put("sha256", DataFiles.contentHash(s.train(), s.test()));
        m.put("test_fraction", s.source().testFraction());
        m.put("train_limit", trainLimit);
        m.put("test_limit", testLimit);
        if (downsample != null) m.put("downsample", downsample);
        Scaling sc = s.source().scaling();
        m.put("scale_min", sc.min());
        m.put("scale_max", sc.max());
        if (!s.source().classes().isEmpty()) m.put("classes", s.source().classes());
        return m;
    }

    /** The keys of two data records that differ (path, sizes, hash, limits, scaling), each as "key: old -> new". */
    static List<String> differences(Map<String, Object> was, Map<String, Object> now) {
        List<String> out = new ArrayList<>();
        for (String k : List.of("path", "sha256", "train_examples", "test_examples", "test_fraction", "train_limit", "test_limit",
                "validation", "downsample", "scale_min", "scale_max")) {
            Object a = was.get(k), b = now.get(k);
            if (a instanceof Number x && b instanceof Number y ? x.doubleValue() != y.doubleValue() : !java.util.Objects.equals(a, b)) {
                out.add(k.equals("sha256") ? "content (sha256) differs" : k + ": " + a + " -> " + b);
            }
        }
        return out;
    }

    /**
     * Whether {@code diff} ({@link #differences}) says only that the path changed while both records
     * hold the same content hash: the same files, moved or copied elsewhere, not other data.
     */
    static boolean onlyMoved(Map<String, Object> was, Map<String, Object> now, List<String> diff) {
        return diff.size() == 1 && diff.getFirst().startsWith("path: ") && JsonFields.has(was, "sha256")
                && JsonFields.has(now, "sha256") && JsonFields.string(was, "sha256").equals(JsonFields.string(now, "sha256"));
    }

    /** The checkpoint's scaling, or bytes (0..255) when it records none. */
    static Scaling scaling(Checkpoint c) {
        Map<String, Object> d = c.dataSource();
        if (d == null || !JsonFields.has(d, "scale_min")) return Scaling.BYTES;
        return new Scaling(JsonFields.number(d, "scale_min"), JsonFields.number(d, "scale_max"));
    }

    String name() {
        return dir != null ? dir.toString() : dataset == null ? "mnist" : dataset;
    }
}
