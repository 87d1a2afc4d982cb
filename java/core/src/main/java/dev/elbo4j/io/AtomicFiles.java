package dev.elbo4j.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a reader never sees a half-written one: the content goes to a temporary
 * file {@code .NAME.tmp-RANDOM} in the target's directory, which is flushed and fsynced, then
 * renamed over the target in one atomic step ({@link StandardCopyOption#ATOMIC_MOVE}), after which
 * the directory is fsynced (best effort; not every platform allows it). If anything fails, the
 * temporary file is deleted and the previous target, if any, is left untouched.
 *
 * <p>If the target is a symbolic link, the link itself is replaced, not the file it points to.
 */
public final class AtomicFiles {

    private AtomicFiles() {
    }

    /**
     * An {@code IOException}-throwing consumer, the body of an atomic write.
     *
     * @param <T> what the body consumes
     */
    @FunctionalInterface
    public interface IOConsumer<T> {
        /**
         * Consumes {@code t}, e.g. writes a file's contents to the stream it is given.
         *
         * @throws IOException when writing fails; the atomic write then leaves the target unchanged
         */
        void accept(T t) throws IOException;
    }

    /**
     * Atomically replaces {@code target} with what {@code body} writes to the stream it is given.
     * The stream is buffered; the body may close it (closing only flushes) or leave it open.
     *
     * @throws IOException if the body or the file system fails; the target is then unchanged and
     *     no temporary file remains
     */
    public static void write(Path target, IOConsumer<OutputStream> body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = folderOf(target);
        Path tmp;
        try {
            tmp = createTemp(dir, abs.getFileName().toString());
        } catch (IOException e) {
            throw named(target, e);
        }
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream raw = Channels.newOutputStream(ch);
                BufferedOutputStream buffered = new BufferedOutputStream(raw, 1 << 16);
                OutputStream guarded = new FilterOutputStream(buffered) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        out.flush(); // the real close happens below, after fsync
                    }
                };
                body.accept(guarded);
                buffered.flush();
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } catch (IOException e) {
            throw named(target, e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException | RuntimeException ignored) {
                    // the original failure is the one to report
                }
            }
        }
        fsyncDirectory(dir);
    }

    /**
     * Checks, before any work whose result goes there, that {@link #write} could write
     * {@code target}: its folder exists and takes a new file (a temporary file is created and
     * deleted again), and the target is not a directory. The target itself is left as it is.
     *
     * @throws IOException naming {@code target} and the cause, as {@link #write} would fail:
     *     {@code out/s.png: cannot write: permission denied}, {@code ...: the folder /abs/out does not exist}
     */
    public static void checkWritable(Path target) throws IOException {
        Path dir = folderOf(target);
        Path probe;
        try {
            probe = createTemp(dir, target.toAbsolutePath().getFileName().toString());
        } catch (IOException e) {
            throw named(target, e);
        }
        Files.deleteIfExists(probe);
    }

    /** The folder {@code target} is written in, or the failure {@link #write} reports when it cannot be. */
    private static Path folderOf(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || abs.getFileName() == null) {
            throw new IOException(target + ": not a file path");
        }
        if (Files.isDirectory(abs)) {
            throw new IOException(target + ": is a directory; cannot write a file there");
        }
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(target.toString(), null, "cannot write: the folder " + dir + " does not exist");
        }
        return dir;
    }

    /**
     * Atomically replaces {@code target} with {@code bytes}.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged and no temporary file
     *     remains
     */
    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Atomically replaces {@code target} with {@code text} encoded as UTF-8.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged and no temporary file
     *     remains
     */
    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The failure of a write as one line naming the user's file and the cause ("No space left on
     * device", "Permission denied"), not the temporary file: {@code TARGET: cannot write: CAUSE}.
     * Exceptions whose message already starts with the target are passed on as they are.
     */
    private static IOException named(Path target, IOException e) {
        String msg = e.getMessage();
        if (msg != null && msg.startsWith(target.toString())) return e;
        // The deepest cause says most (ImageIO wraps "No space left on device" in "I/O error writing PNG file!").
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String cause = root instanceof FileSystemException f && f.getReason() != null ? f.getReason()
                : root instanceof NoSuchFileException ? "the folder does not exist"
                : root instanceof AccessDeniedException ? "permission denied"
                : root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return new IOException(target + ": cannot write: " + cause, e);
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
            Path tmp = dir.resolve("." + name + ".tmp-" + suffix);
            try {
                // Default permissions (umask applies), unlike Files.createTempFile's owner-only 0600.
                FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) throw e;
            }
        }
    }

    /** Makes the rename durable where the platform allows opening a directory; ignored otherwise. */
    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException ignored) {
            // best effort (e.g. Windows cannot open directories)
        }
    }
}
