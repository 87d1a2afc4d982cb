package dev.elbo4j.io;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files of every element type the format defines: unsigned byte (0x08, read by
 * {@link Idx}), signed byte (0x09), short (0x0B), int (0x0C), float (0x0D) and double (0x0E),
 * big-endian, ranks 1 to 4, plain or gzip-compressed. Bytes stay bytes; the other types become
 * float32 (exact for the 8- and 16-bit types, rounded for int and double). The header is checked
 * before the data is allocated, as {@link Idx} does.
 */
public final class IdxTyped {
    private IdxTyped() {
    }

    /** Whether {@code head} (a file's first bytes) looks like an IDX header: 0, 0, a known type, rank 1..4. */
    public static boolean isIdx(byte[] head) {
        return head.length >= 4 && head[0] == 0 && head[1] == 0 && size(head[2] & 0xff) > 0 && head[3] >= 1 && head[3] <= 4;
    }

    /** Element size in bytes of IDX type {@code t}, or -1 for an unknown type. */
    static int size(int t) {
        return switch (t) {
            case 0x08, 0x09 -> 1;
            case 0x0B -> 2;
            case 0x0C, 0x0D -> 4;
            case 0x0E -> 8;
            default -> -1;
        };
    }

    /**
     * Reads an IDX file of any element type.
     *
     * @throws DataFormatException naming the file and the problem when it is not a valid IDX file
     * @throws IOException when it cannot be read
     */
    public static NumericArray read(Path file) throws IOException {
        return read(file, Integer.MAX_VALUE);
    }

    /**
     * Reads an IDX file of any element type; of an unsigned-byte file only the first {@code maxItems}
     * entries are read ({@link Idx#read(Path, int)}), other element types are read whole.
     *
     * @throws DataFormatException naming the file and the problem when it is not a valid IDX file
     * @throws IOException when it cannot be read
     */
    public static NumericArray read(Path file, int maxItems) throws IOException {
        int type;
        boolean gzip;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] head = in.readNBytes(2);
            gzip = head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
             InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw) {
            byte[] head = in.readNBytes(4);
            if (head.length < 4 || head[0] != 0 || head[1] != 0) {
                throw new DataFormatException(file, "not an IDX file (it does not start with two zero bytes)");
            }
            type = head[2] & 0xff;
            if (size(type) < 0) {
                throw new DataFormatException(file, String.format("unknown IDX element type 0x%02X (known: 0x08 ubyte, "
                        + "0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)", type));
            }
            if (type == 0x08) {
                Idx.IdxArray a = Idx.read(file, maxItems);
                return new NumericArray(a.dims(), a.data(), null);
            }
            int rank = head[3] & 0xff;
            if (rank < 1 || rank > 4) throw new DataFormatException(file, "IDX rank " + rank + " (elbo4j reads 1 to 4 dimensions)");
            byte[] db = in.readNBytes(4 * rank);
            if (db.length < 4 * rank) throw new DataFormatException(file, "truncated header: " + rank + " dimensions announced");
            ByteBuffer b = ByteBuffer.wrap(db);
            long[] dims = new long[rank];
            for (int i = 0; i < rank; i++) dims[i] = Integer.toUnsignedLong(b.getInt());
            long count = NumericArray.elements(dims);
            int es = size(type);
            if (count < 0 || count * es > NumericArray.MAX_ELEMENTS) {
                throw new DataFormatException(file, "header says dimensions " + java.util.Arrays.toString(dims)
                        + ": a zero dimension, or more data than elbo4j reads into one array");
            }
            long bytes = count * es, headerBytes = 4 + 4L * rank;
            if (!gzip) {
                long fileSize = Files.size(file);
                if (fileSize != headerBytes + bytes) {
                    throw new DataFormatException(file, (fileSize < headerBytes + bytes ? "truncated" : "trailing bytes")
                            + ": header says " + java.util.Arrays.toString(dims) + " of " + es + "-byte elements ("
                            + (headerBytes + bytes) + " bytes) but the file has " + fileSize);
                }
            }
            long[] got = new long[1];
            byte[] data = BoundedInput.readExactly(in, bytes, got);
            if (data == null) {
                throw new DataFormatException(file, "truncated: header says " + java.util.Arrays.toString(dims) + " ("
                        + bytes + " data bytes) but only " + got[0] + " are present");
            }
            if (gzip && in.read() >= 0) throw new DataFormatException(file, "trailing bytes after the data the header announces");
            ByteBuffer v = ByteBuffer.wrap(data); // IDX is big-endian, ByteBuffer's default
            float[] out = new float[(int) count];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (type) {
                    case 0x09 -> data[i];
                    case 0x0B -> v.getShort(2 * i);
                    case 0x0C -> v.getInt(4 * i);
                    case 0x0D -> v.getFloat(4 * i);
                    default -> (float) v.getDouble(8 * i);
                };
            }
            int[] shape = new int[rank];
            for (int i = 0; i < rank; i++) shape[i] = (int) dims[i];
            return new NumericArray(shape, null, out);
        } catch (ZipException | EOFException e) {
            throw new DataFormatException(file, "corrupt gzip data: " + e.getMessage(), e);
        }
    }
}
