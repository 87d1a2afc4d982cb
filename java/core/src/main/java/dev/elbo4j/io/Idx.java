package dev.elbo4j.io;

import dev.elbo4j.backend.HostMemory;

import java.io.BufferedInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reads and writes IDX files, the format MNIST and Fashion-MNIST ship in: a big-endian header
 * (two zero bytes, an element-type byte, a dimension-count byte, then one u32 per dimension)
 * followed by the elements in row-major order. elbo4j handles the unsigned-byte element type
 * (0x08): magic {@code 0x00000803} for images (count, rows, cols) and {@code 0x00000801} for
 * labels (count); other u8 ranks from 1 to 4 are read too. Gzip-compressed files (starting with
 * the bytes {@code 1f 8b}) are decompressed transparently.
 *
 * <p>Everything is validated before the data buffer is allocated: the magic, every dimension
 * positive and below 2^31, the element count fitting a Java array, and the data length matching
 * the header exactly (a short file is "truncated", a long one has "trailing bytes"). For gzip
 * files, whose decompressed size is not known up front, the buffer grows only as data actually
 * arrives, so a small hostile file cannot make the reader allocate gigabytes.
 */
public final class Idx {

    /** The magic of a u8 image file with 3 dimensions (count, rows, cols). */
    public static final int MAGIC_IMAGES = 0x00000803;
    /** The magic of a u8 label file with 1 dimension (count). */
    public static final int MAGIC_LABELS = 0x00000801;

    private static final int TYPE_U8 = 0x08;
    private static final int MAX_ELEMENTS = Integer.MAX_VALUE - 16;

    private Idx() {
    }

    /**
     * The contents of an IDX file: its dimensions (outermost first) and its u8 elements, row-major.
     * The data array is shared, not copied.
     *
     * @param dims dimensions, each in 1..2^31-1, outermost first (images: count, rows, cols)
     * @param data the elements, row-major, length = product of dims
     */
    public record IdxArray(int[] dims, byte[] data) {
        /**
         * Checks 1 to 4 positive dimensions whose product is the data's length; copies {@code dims}, shares
         * {@code data}.
         *
         * @throws IllegalArgumentException naming the dimensions when they do not fit the data
         */
        public IdxArray {
            if (dims.length < 1 || dims.length > 4) {
                throw new IllegalArgumentException("an IDX array has 1 to 4 dimensions, got " + dims.length);
            }
            dims = dims.clone();
            long n = 1;
            for (int d : dims) {
                if (d <= 0) {
                    throw new IllegalArgumentException("IDX dimensions must be positive, got " + Arrays.toString(dims));
                }
                n *= d;
                if (n > MAX_ELEMENTS) {
                    throw new IllegalArgumentException("IDX dimensions " + Arrays.toString(dims) + " are too large");
                }
            }
            if (data.length != n) {
                throw new IllegalArgumentException("IDX dimensions " + Arrays.toString(dims) + " need " + n
                        + " bytes of data, got " + data.length);
            }
        }

        /** A copy of the dimensions, outermost first. */
        @Override
        public int[] dims() {
            return dims.clone();
        }

        /** The i-th dimension. */
        public int dim(int i) {
            return dims[i];
        }

        /** The number of dimensions. */
        public int rank() {
            return dims.length;
        }

        /** The magic number this array is written with. */
        public int magic() {
            return (TYPE_U8 << 8) | dims.length;
        }

        @Override
        public String toString() {
            return "IdxArray[dims=" + Arrays.toString(dims) + ", " + data.length + " bytes]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IdxArray other && Arrays.equals(dims, other.dims) && Arrays.equals(data, other.data);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(dims) + Arrays.hashCode(data);
        }
    }

    /**
     * Reads an IDX file (plain or gzip-compressed).
     *
     * @throws DataFormatException if the file is not a valid u8 IDX file; the message names the
     *     file and the problem
     * @throws IOException if it cannot be read
     */
    public static IdxArray read(Path file) throws IOException {
        return read(file, Integer.MAX_VALUE);
    }

    /**
     * Reads at most the first {@code maxItems} entries along the outermost dimension (images or
     * labels), allocating only what they need: the header is validated in full, a plain file's
     * length against it too, but a gzip file is decompressed only as far as those entries (its
     * remainder is not read, so a truncation after them goes unnoticed). Before the data buffer is
     * allocated it is checked against the heap ({@link HostMemory}).
     *
     * @param maxItems at least 1; {@code Integer.MAX_VALUE} reads everything
     * @throws DataFormatException as {@link #read(Path)}
     * @throws HostMemory.ShortfallException if the entries to read do not fit the heap
     */
    public static IdxArray read(Path file, int maxItems) throws IOException {
        if (maxItems < 1) throw new IllegalArgumentException("maxItems must be >= 1, got " + maxItems);
        try (InputStream raw = Files.newInputStream(file)) {
            BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            if (b0 == 0x1f && b1 == 0x8b) {
                try {
                    return readStream(file, new GZIPInputStream(in, 1 << 16), -1, true, maxItems);
                } catch (ZipException | EOFException e) {
                    throw new DataFormatException(file, "corrupt gzip data: " + e.getMessage(), e);
                }
            }
            return readStream(file, in, Files.size(file), false, maxItems);
        }
    }

    /**
     * Reads from {@code in}. {@code fileSize} is the exact byte count when known (plain files),
     * else -1 and the data length is checked as it arrives.
     */
    private static IdxArray readStream(Path file, InputStream in, long fileSize, boolean gzip, int maxItems)
            throws IOException {
        String what = gzip ? "the decompressed data" : "the file";
        byte[] head = new byte[4];
        int got = in.readNBytes(head, 0, 4);
        if (got < 4) {
            throw new DataFormatException(file, "not an IDX file: " + what + " has only " + got
                    + " bytes, fewer than the 4-byte magic number");
        }
        int magic = ByteBuffer.wrap(head).getInt();
        int rank = head[3] & 0xff;
        if (head[0] != 0 || head[1] != 0 || rank < 1 || rank > 4) {
            throw new DataFormatException(file, String.format(
                    "not an IDX file: magic number 0x%08X (expected 0x%08X for images or 0x%08X for labels)",
                    magic, MAGIC_IMAGES, MAGIC_LABELS));
        }
        if ((head[2] & 0xff) != TYPE_U8) {
            throw new DataFormatException(file, String.format(
                    "unsupported IDX element type 0x%02X in magic 0x%08X: elbo4j reads unsigned bytes (0x08) only",
                    head[2] & 0xff, magic));
        }
        int headerBytes = 4 + 4 * rank;
        byte[] dimBytes = new byte[4 * rank];
        got = in.readNBytes(dimBytes, 0, dimBytes.length);
        if (got < dimBytes.length) {
            throw new DataFormatException(file, "truncated header: magic 0x" + String.format("%08X", magic)
                    + " announces " + rank + " dimensions (" + headerBytes + " header bytes) but " + what
                    + " has only " + (4 + got) + " bytes");
        }
        ByteBuffer db = ByteBuffer.wrap(dimBytes);
        int[] dims = new int[rank];
        long[] rawDims = new long[rank];
        long perItem = 1; // elements of one entry along the outermost dimension
        boolean tooLarge = false;
        for (int i = 0; i < rank; i++) {
            rawDims[i] = Integer.toUnsignedLong(db.getInt());
            if (rawDims[i] == 0) {
                throw new DataFormatException(file, "header has a zero dimension: " + describeDims(rawDims, i + 1)
                        + "; an IDX file must have at least one element");
            }
            if (rawDims[i] > Integer.MAX_VALUE) tooLarge = true;
            else dims[i] = (int) rawDims[i];
            if (i > 0 && !tooLarge) {
                perItem *= rawDims[i]; // both factors < 2^31 and perItem <= MAX_ELEMENTS: no overflow
                if (perItem > MAX_ELEMENTS) tooLarge = true;
            }
        }
        // What is read must fit one array: everything, or under a limit the first maxItems entries.
        long count = tooLarge ? 0 : rawDims[0] * perItem; // < 2^62: no overflow
        boolean partial = !tooLarge && dims[0] > maxItems;
        long want = partial ? perItem * maxItems : count;
        if (tooLarge || want > MAX_ELEMENTS) {
            throw new DataFormatException(file, "header says " + describe(rawDims)
                    + ", more than the 2^31-1 bytes elbo4j can hold in one array; the header is corrupt or "
                    + "the data set must be split" + (partial ? " (or read fewer entries)" : ""));
        }
        long expected = headerBytes + count;
        if (partial) dims[0] = maxItems;
        if (fileSize >= 0) {
            if (fileSize < expected) {
                throw new DataFormatException(file, "truncated: header says " + describe(rawDims) + " ("
                        + expected + " bytes) but the file has " + fileSize + " bytes");
            }
            if (fileSize > expected) {
                throw new DataFormatException(file, "trailing bytes: header says " + describe(rawDims) + " ("
                        + expected + " bytes) but the file has " + fileSize + " bytes");
            }
            HostMemory.require(want, file + ": reading " + (partial ? "the first " + maxItems + " of " : "") + describe(rawDims));
            byte[] data = in.readNBytes((int) want);
            if (data.length != want) { // the file shrank while we read it
                throw new DataFormatException(file, "truncated: header says " + describe(rawDims) + " ("
                        + expected + " bytes) but only " + (headerBytes + data.length) + " could be read");
            }
            return new IdxArray(dims, data);
        }
        // Unknown length (gzip): grow the buffer only as data arrives.
        byte[] data = new byte[(int) Math.min(want, 1 << 20)];
        int filled = 0;
        while (filled < want) {
            if (filled == data.length) {
                int grown = (int) Math.min(want, (long) data.length * 2);
                // The copy needs the old buffer and the new one at once.
                HostMemory.require((long) data.length + grown, file + ": reading " + (partial ? "the first " + maxItems + " of " : "")
                        + describe(rawDims) + " (" + HostMemory.format(want) + " in all, " + HostMemory.format(filled)
                        + " decompressed so far)");
                data = Arrays.copyOf(data, grown);
            }
            int r = in.read(data, filled, data.length - filled);
            if (r < 0) {
                throw new DataFormatException(file, "truncated: header says " + describe(rawDims) + " ("
                        + expected + " bytes) but the decompressed data has " + (headerBytes + filled) + " bytes");
            }
            filled += r;
        }
        if (partial) return new IdxArray(dims, data); // the rest is not read
        if (in.read() >= 0) {
            // Count a bounded amount of the excess only: a gzip bomb must not keep us busy.
            long extra = 1;
            byte[] skip = new byte[8192];
            for (int r; extra <= (1 << 20) && (r = in.read(skip)) >= 0; ) extra += r;
            String has = extra > (1 << 20) ? "more than " + (expected + (1 << 20)) : String.valueOf(expected + extra);
            throw new DataFormatException(file, "trailing bytes: header says " + describe(rawDims) + " ("
                    + expected + " bytes) but the decompressed data has " + has + " bytes");
        }
        return new IdxArray(dims, data);
    }

    /** "60000 images of 28x28", "60000 labels", or "dimensions 2x3x4x5". */
    private static String describe(long[] dims) {
        if (dims.length == 3) return dims[0] + " images of " + dims[1] + "x" + dims[2];
        if (dims.length == 1) return dims[0] + " labels";
        return describeDims(dims, dims.length);
    }

    private static String describeDims(long[] dims, int upTo) {
        StringBuilder sb = new StringBuilder("dimensions ");
        for (int i = 0; i < upTo; i++) {
            if (i > 0) sb.append('x');
            sb.append(dims[i]);
        }
        return sb.toString();
    }

    /**
     * Writes {@code array} as an IDX file, atomically (see {@link AtomicFiles}). If the file name
     * ends in {@code .gz} the file is gzip-compressed.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void write(Path file, IdxArray array) throws IOException {
        boolean gzip = file.getFileName() != null && file.getFileName().toString().endsWith(".gz");
        AtomicFiles.write(file, out -> {
            if (gzip) {
                GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16);
                writeTo(gz, array);
                gz.finish();
            } else {
                writeTo(out, array);
            }
        });
    }

    /**
     * Writes an image file: {@code images} holds {@code count} images of rows x cols, row-major.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeImages(Path file, byte[] images, int count, int rows, int cols) throws IOException {
        write(file, new IdxArray(new int[] {count, rows, cols}, images));
    }

    /**
     * Writes a label file with one u8 label per element of {@code labels}.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void writeLabels(Path file, byte[] labels) throws IOException {
        write(file, new IdxArray(new int[] {labels.length}, labels));
    }

    private static void writeTo(java.io.OutputStream out, IdxArray a) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(a.magic());
        for (int dim : a.dims) d.writeInt(dim);
        d.write(a.data);
        d.flush();
    }
}
