package dev.elbo4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file exists and was read, but its contents are not what its format requires. The message
 * always starts with the file and then states the problem, e.g.
 * {@code data/mnist/train-images-idx3-ubyte: truncated: header says 60000 images of 28x28
 * (47040016 bytes) but the file has 1000 bytes}.
 */
public class DataFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    /** What is wrong with the file, without its name. */
    private final String problem;

    /**
     * A data file that cannot be read; the message is "{@code file}: {@code problem}".
     *
     * @param file the offending file
     * @param problem what is wrong with it, phrased so a user can act on it
     */
    public DataFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    /** As {@link #DataFormatException(Path, String)}, keeping the underlying cause. */
    public DataFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
        this.problem = problem;
    }

    /** The file whose contents are wrong. */
    public Path file() {
        return file;
    }

    /** The problem alone, without the file name. */
    public String problem() {
        return problem;
    }
}
