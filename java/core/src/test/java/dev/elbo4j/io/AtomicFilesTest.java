package dev.elbo4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAndReplaces() throws IOException {
        Path f = dir.resolve("out.txt");
        AtomicFiles.writeString(f, "first");
        assertEquals("first", Files.readString(f));
        AtomicFiles.write(f, out -> out.write("second, longer".getBytes(StandardCharsets.UTF_8)));
        assertEquals("second, longer", Files.readString(f));
        AtomicFiles.writeBytes(f, new byte[0]);
        assertEquals(0, Files.size(f));
        assertEquals(List.of("out.txt"), listing());
    }

    @Test
    void bodyWritesToAHiddenTempFileInTheSameDirectory() throws IOException {
        Path f = dir.resolve("data.bin");
        AtomicFiles.writeString(f, "old");
        AtomicFiles.write(f, out -> {
            out.write(1);
            out.flush();
            List<String> during = listing();
            assertEquals(2, during.size(), during.toString());
            assertTrue(during.get(0).startsWith(".data.bin.tmp-"), during.toString());
            // Readers still see the old content while the body runs.
            assertEquals("old", Files.readString(f));
        });
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(f));
        assertEquals(List.of("data.bin"), listing());
    }

    @Test
    void failingBodyLeavesOldFileAndNoTemp() throws IOException {
        Path f = dir.resolve("keep.txt");
        AtomicFiles.writeString(f, "precious");
        IOException io = new IOException("disk on fire");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("partial garbage".getBytes(StandardCharsets.UTF_8));
            out.flush();
            throw io;
        }));
        assertSame(io, thrown.getCause());
        assertEquals(f + ": cannot write: disk on fire", thrown.getMessage(), "the user's file and the cause");
        assertEquals("precious", Files.readString(f));
        assertEquals(List.of("keep.txt"), listing());

        assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[100_000]);
            throw new UncheckedIOException(new IOException("boom"));
        }));
        assertThrows(OutOfMemoryError.class, () -> AtomicFiles.write(f, out -> {
            throw new OutOfMemoryError("simulated");
        }));
        assertEquals("precious", Files.readString(f));
        assertEquals(List.of("keep.txt"), listing());
    }

    @Test
    void failingBodyCreatesNothingWhenThereWasNoFile() {
        Path f = dir.resolve("new.txt");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            throw new IOException("no");
        }));
        assertFalse(Files.exists(f));
    }

    @Test
    void bodyMayCloseTheStream() throws IOException {
        Path f = dir.resolve("z.gz");
        AtomicFiles.write(f, out -> {
            try (OutputStream gz = new GZIPOutputStream(out)) {
                gz.write("hello".getBytes(StandardCharsets.UTF_8));
            }
        });
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(f))) {
            assertEquals("hello", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /**
     * A full disk, as the JDK reports it from a write or from ImageIO (which wraps it in "I/O error
     * writing PNG file!"): the message names the user's file and the cause, not the temporary file.
     */
    @Test
    void aFullDiskNamesTheFileAndTheCause() throws IOException {
        Path f = dir.resolve("picture.png");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            throw new javax.imageio.IIOException("I/O error writing PNG file!", new IOException("No space left on device"));
        }));
        assertEquals(f + ": cannot write: No space left on device", e.getMessage());
        e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            throw new java.nio.file.FileSystemException(dir.resolve(".picture.png.tmp-1").toString(), null, "No space left on device");
        }));
        assertEquals(f + ": cannot write: No space left on device", e.getMessage());
        assertEquals(List.of(), listing());
    }

    @Test
    void reportsMissingDirectoryAndDirectoryTarget() throws IOException {
        Path missing = dir.resolve("no/such/dir/f");
        IOException m = assertThrows(IOException.class, () -> AtomicFiles.writeString(missing, "x"));
        assertTrue(m.getMessage().startsWith(missing + ": cannot write: the folder " + missing.getParent() + " does not exist"),
                m.getMessage());
        assertFalse(m.getMessage().contains(".tmp-"), "not the internal temporary name: " + m.getMessage());
        Path sub = Files.createDirectory(dir.resolve("sub"));
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(sub, "x"));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        assertEquals(List.of("sub"), listing());
    }

    /** The check before the work: it says what the write would say, and leaves the folder and an existing target as they were. */
    @Test
    void checkWritableAnswersAsTheWriteWouldAndLeavesNothing() throws IOException {
        Path target = dir.resolve("a.png");
        AtomicFiles.checkWritable(target);
        assertEquals(List.of(), listing(), "the probe is deleted, no target made");
        Files.writeString(target, "old");
        AtomicFiles.checkWritable(target);
        assertEquals("old", Files.readString(target));
        assertEquals(List.of("a.png"), listing());
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.checkWritable(dir.resolve("none/b.png")));
        assertTrue(e.getMessage().contains("cannot write: the folder " + dir.resolve("none") + " does not exist"), e.getMessage());
        Files.createDirectory(dir.resolve("sub"));
        e = assertThrows(IOException.class, () -> AtomicFiles.checkWritable(dir.resolve("sub")));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }
}
