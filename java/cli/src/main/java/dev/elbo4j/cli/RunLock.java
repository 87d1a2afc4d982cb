package dev.elbo4j.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process at a time in a run folder: an operating-system lock ({@link FileChannel#tryLock()},
 * fcntl on Linux) on {@code .elbo4j.lock} in the folder, held while {@code train} runs. The
 * operating system releases it when the process ends in any way, {@code kill -9} included, so a
 * dead run never leaves a stale lock; the file itself stays (deleting it would let two processes
 * lock two different files of the same name). While it is held, the file names the holder (its
 * process id and command line), which a second process reports when it is refused.
 */
final class RunLock implements AutoCloseable {
    static final String FILE = ".elbo4j.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} (which must exist) for this process, or throws a usage error naming the
     * process that holds it.
     */
    static RunLock acquire(Path dir, String command) throws IOException {
        Path file = dir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            String why = Main.describe(e);
            if (why.startsWith(file + ": ")) why = why.substring(file.toString().length() + 2); // the path once, not twice
            throw new IOException(file + ": cannot open the run folder's lock file: " + why, e);
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) { // held by this very JVM (another thread's command)
            lock = null;
        } catch (IOException e) {
            ch.close();
            throw new IOException(file + ": cannot lock the run folder: " + Main.describe(e), e);
        }
        if (lock == null) {
            String holder = holder(ch);
            ch.close();
            throw new Main.UsageException(dir + " is in use by another elbo4j process" + (holder.isEmpty() ? "" : " (" + holder + ")")
                    + "; wait for it to end, or use another --out");
        }
        String me = "pid " + ProcessHandle.current().pid() + ": " + command;
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((me + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        } catch (IOException e) {
            // The holder's name is a courtesy to a refused second process; the lock holds without
            // it (on a full disk the run's first checkpoint write then fails, naming the file).
        }
        return new RunLock(ch, lock);
    }

    /** What the holder wrote into the lock file ("pid 1234: elbo4j train ..."), at most one line. */
    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(1024);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
            int nl = s.indexOf('\n');
            return (nl >= 0 ? s.substring(0, nl) : s).strip();
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Removes {@code dir} if this lock's file is all it holds: for a run folder this process
     * created whose run stopped before writing anything (a device that would not open, a run that
     * does not fit), so a refused run leaves no empty folder behind. Called while the lock is
     * held, so no other elbo4j process is writing there; anything else in the folder keeps it.
     */
    void removeFolderIfOnlyLock(Path dir) {
        try (var entries = java.nio.file.Files.list(dir)) {
            if (entries.anyMatch(p -> !p.getFileName().toString().equals(FILE))) return;
            java.nio.file.Files.deleteIfExists(dir.resolve(FILE));
            java.nio.file.Files.deleteIfExists(dir);
        } catch (IOException e) {
            // Best effort: the folder stays, as it would have before; the run's own error is what the user needs.
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
