package dev.elbo4j.fuzz;

import dev.elbo4j.io.DataFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The property every reader must hold on any bytes: it returns a valid object, or throws a
 * {@link DataFormatException} whose message starts with the file's name (or another
 * {@link IOException} that names it). Anything else escaping the reader — a runtime exception
 * such as {@code NegativeArraySizeException} or {@code IndexOutOfBoundsException}, an
 * {@code OutOfMemoryError}, a {@code StackOverflowError} — is a finding: it propagates to the
 * fuzzer, which stores the input.
 */
final class ReaderProperty {
    /** One file per JVM, rewritten for each input (the readers take paths). */
    private static final Path FILE;

    static {
        try {
            Path dir = Files.createTempDirectory("elbo4j-fuzz");
            dir.toFile().deleteOnExit();
            FILE = dir.resolve("input.bin");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A reader under test, plus checks of what it returns. */
    @FunctionalInterface
    interface Reader {
        void readAndCheck(Path file) throws IOException;
    }

    private ReaderProperty() {
    }

    /** Writes {@code data} to the input file and checks the reader's answer. */
    static void check(byte[] data, Reader reader) {
        try {
            Files.write(FILE, data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fuzz input file " + FILE, e);
        }
        try {
            reader.readAndCheck(FILE);
        } catch (DataFormatException e) {
            if (!e.getMessage().startsWith(FILE + ": ") || e.problem().isBlank()) {
                throw new AssertionError("the message does not start with the file name: " + e.getMessage(), e);
            }
        } catch (IOException e) {
            if (e.getMessage() == null || !e.getMessage().contains(FILE.toString())) {
                throw new AssertionError("an I/O error that does not name the file: " + e, e);
            }
        }
    }

    /** Fails the property unless {@code ok}. */
    static void require(boolean ok, String what) {
        if (!ok) throw new AssertionError("reader returned an invalid object: " + what);
    }
}
