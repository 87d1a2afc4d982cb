package dev.elbo4j.testing;

import dev.elbo4j.io.Dataset;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The MNIST files fetched by {@code make data} (make test fetches them first). */
public final class Mnist {
    private Mnist() {
    }

    public static Path root() {
        return Path.of(System.getProperty("elbo4j.root", ".")).toAbsolutePath().normalize();
    }

    public static Path dir() {
        Path d = root().resolve("data/mnist");
        if (!Files.isRegularFile(d.resolve("train-images-idx3-ubyte"))) {
            throw new IllegalStateException("MNIST not found under " + d + ": run `make data` (make test does it)");
        }
        return d;
    }

    private static Dataset train, test;

    public static synchronized Dataset train() {
        try {
            if (train == null) train = Dataset.loadDir(dir(), "train");
            return train;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static synchronized Dataset test() {
        try {
            if (test == null) test = Dataset.loadDir(dir(), "test");
            return test;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
