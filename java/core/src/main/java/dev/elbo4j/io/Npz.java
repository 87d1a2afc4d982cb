package dev.elbo4j.io;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads NumPy's {@code .npz} archives ({@code numpy.savez}, {@code savez_compressed}): a zip of
 * {@code .npy} members, returned by name without the {@code .npy} suffix, in archive order. A
 * member's size is checked against its own header as it is read (see {@link Npy}), never trusted
 * from the zip directory, so a small archive cannot make the reader allocate more than its
 * members' headers announce and their data actually holds.
 */
public final class Npz {
    private Npz() {
    }

    /** Whether {@code head} starts with a zip local-file header ({@code PK\3\4}). */
    public static boolean isZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    /**
     * The arrays of an .npz file, by member name without ".npy".
     *
     * @throws DataFormatException naming the file and the member when it is not a valid .npz archive of .npy
     *     arrays
     * @throws IOException when it cannot be read
     */
    public static Map<String, NumericArray> read(Path file) throws IOException {
        Map<String, NumericArray> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) continue;
                String name = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                try (InputStream in = new BufferedInputStream(zip.getInputStream(e), 1 << 16)) {
                    out.put(name, Npy.read(in, file, -1));
                } catch (DataFormatException ex) {
                    throw new DataFormatException(file, "array '" + name + "': " + ex.problem(), ex);
                } catch (ZipException | java.io.EOFException ex) {
                    throw new DataFormatException(file, "corrupt member '" + e.getName() + "': " + ex.getMessage(), ex);
                }
            }
        } catch (ZipException | java.io.EOFException e) {
            throw new DataFormatException(file, "not a readable .npz (zip) archive: " + e, e);
        }
        if (out.isEmpty()) throw new DataFormatException(file, "the .npz archive holds no arrays");
        return out;
    }
}
