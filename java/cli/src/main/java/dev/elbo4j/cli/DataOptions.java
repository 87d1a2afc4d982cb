package dev.elbo4j.cli;

import dev.elbo4j.io.Dataset;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the data comes from: a named data set fetched by {@code make data}, or the user's IDX files. */
final class DataOptions {

    @Option(names = "--dataset", paramLabel = "NAME", defaultValue = "mnist",
            description = "Data set under the data folder: mnist or fashion-mnist (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with your own IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                    + "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz accepted). Overrides --dataset.")
    Path dir;

    @Option(names = "--data-root", paramLabel = "DIR",
            description = "Folder holding the named data sets (default: $ELBO4J_DATA, else ./data).")
    Path root;

    @Option(names = "--downsample", paramLabel = "RxC",
            description = "Shrink every image to R x C pixels by block means (e.g. 4x4 for a fully visible Boltzmann "
                    + "machine, which needs <= 20 pixels); R and C must divide the image size. Give it again to eval, "
                    + "sample and reconstruct a model trained so.")
    String downsample;

    Path resolve() {
        if (dir != null) {
            if (!Files.isDirectory(dir)) throw new Main.UsageException("--data " + dir + ": not a folder");
            return dir;
        }
        if (!dataset.equals("mnist") && !dataset.equals("fashion-mnist")) {
            throw new Main.UsageException("--dataset " + dataset + ": unknown (known: mnist, fashion-mnist; or use --data DIR)");
        }
        Path base = root != null ? root
                : System.getenv("ELBO4J_DATA") != null ? Path.of(System.getenv("ELBO4J_DATA")) : Path.of("data");
        Path d = base.resolve(dataset);
        if (!Files.isDirectory(d)) {
            throw new Main.UsageException("data set '" + dataset + "' not found in " + base.toAbsolutePath()
                    + ": run `make data` in the elbo4j folder, or pass --data DIR with IDX files");
        }
        return d;
    }

    Dataset load(String split, int limit) throws IOException {
        if (limit < 0) throw new Main.UsageException("an example limit must be >= 0 (0: all), got " + limit);
        // The limit applies while reading: only the first examples are read and held.
        Dataset d = Dataset.loadDir(resolve(), split, limit > 0 ? limit : Integer.MAX_VALUE);
        if (downsample != null) {
            String[] rc = downsample.toLowerCase(java.util.Locale.ROOT).split("x");
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
     * Loads a split and checks it fits a model of {@code image} (rows, cols) images: the same
     * shape, not only the same pixel count (14x56 images hold 784 pixels too).
     */
    Dataset loadFor(String split, int limit, int[] image) throws IOException {
        Dataset d = loadFor(split, limit, image[0] * image[1]);
        if (d.rows() != image[0] || d.cols() != image[1]) {
            throw new Main.UsageException("the model takes " + image[0] + "x" + image[1] + " images, the " + split + " images of "
                    + name() + " are " + d.rows() + "x" + d.cols());
        }
        return d;
    }

    /** Loads a split and checks it fits a model taking {@code inputDim} pixels per example. */
    Dataset loadFor(String split, int limit, int inputDim) throws IOException {
        Dataset d = load(split, limit);
        if (d.dim() != inputDim) {
            throw new Main.UsageException("the model takes " + inputDim + " pixels per example, " + name() + " has "
                    + d.dim() + " (" + d.rows() + "x" + d.cols() + ")"
                    + (downsample == null && inputDim < d.dim() ? "; a model trained on smaller images needs --downsample" : ""));
        }
        return d;
    }

    String name() {
        return dir != null ? dir.toString() : dataset;
    }
}
