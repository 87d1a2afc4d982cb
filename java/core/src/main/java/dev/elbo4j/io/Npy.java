package dev.elbo4j.io;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy's {@code .npy} format (versions 1.0 to 3.0): the magic
 * {@code \x93NUMPY}, a version, a little-endian header length, a Python-literal header
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }} and the elements,
 * C order. Element types: bool, signed and unsigned integers of 1 to 8 bytes, float16, float32
 * and float64, either byte order; {@code uint8} stays bytes, every other type becomes float32
 * (exact for the 8- and 16-bit integers and float16, rounded for the wider ones). Fortran order,
 * structured and object arrays are refused with a message saying so.
 *
 * <p>The header is checked before the data is allocated: the shape's element count must fit an
 * array, and a plain file's length must match the header exactly (shorter is "truncated", longer
 * has "trailing bytes").
 */
public final class Npy {

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 20;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** Whether {@code head} (the first bytes of a file) starts with the .npy magic. */
    public static boolean isNpy(byte[] head) {
        if (head.length < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) if (head[i] != MAGIC[i]) return false;
        return true;
    }

    /**
     * Reads a .npy file.
     *
     * @throws DataFormatException naming the file and the problem when it is not a valid .npy file
     * @throws IOException when it cannot be read
     */
    public static NumericArray read(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in, file, Files.size(file));
        }
    }

    /**
     * Reads one .npy array from {@code in}; {@code name} names it in messages (a file, or an
     * npz member as {@code file.npz:x_train}), {@code size} is the stream's byte count when known, else -1.
     */
    static NumericArray read(InputStream in, Path name, long size) throws IOException {
        byte[] pre = in.readNBytes(10);
        if (pre.length < 10 || !isNpy(pre)) {
            throw new DataFormatException(name, pre.length < 10 ? "not a .npy array: only " + pre.length + " bytes"
                    : "not a .npy array: it does not start with \\x93NUMPY");
        }
        int major = pre[6] & 0xff;
        long headerLen;
        int fixed;
        if (major == 1) {
            headerLen = (pre[8] & 0xff) | (pre[9] & 0xff) << 8;
            fixed = 10;
        } else if (major == 2 || major == 3) {
            byte[] more = in.readNBytes(2);
            if (more.length < 2) throw new DataFormatException(name, "truncated .npy header");
            headerLen = ((pre[8] & 0xffL) | (pre[9] & 0xffL) << 8 | (more[0] & 0xffL) << 16 | (more[1] & 0xffL) << 24);
            fixed = 12;
        } else {
            throw new DataFormatException(name, ".npy format version " + major + "." + (pre[7] & 0xff)
                    + " is unknown (elbo4j reads 1.0 to 3.0)");
        }
        if (headerLen > MAX_HEADER) throw new DataFormatException(name, ".npy header of " + headerLen + " bytes is implausibly large");
        byte[] hb = in.readNBytes((int) headerLen);
        if (hb.length < headerLen) {
            throw new DataFormatException(name, "truncated .npy header: " + headerLen + " bytes announced, " + hb.length + " present");
        }
        String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new DataFormatException(name, "malformed .npy header (needs descr, fortran_order and shape): " + header.strip());
        }
        if (f.group(1).equals("True")) {
            throw new DataFormatException(name, "Fortran-order array: save it in C order (numpy.ascontiguousarray) first");
        }
        Type type = Type.parse(d.group(1), name);
        String[] parts = s.group(1).split(",");
        java.util.List<Long> dims = new java.util.ArrayList<>();
        for (String p : parts) {
            if (p.isBlank()) continue;
            try {
                dims.add(Long.parseLong(p.strip()));
            } catch (NumberFormatException e) {
                throw new DataFormatException(name, "malformed .npy shape (" + s.group(1) + ")");
            }
        }
        if (dims.isEmpty()) throw new DataFormatException(name, "a 0-dimensional .npy array (a scalar) holds no examples");
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = NumericArray.elements(shape);
        if (count < 0) {
            throw new DataFormatException(name, "shape " + java.util.Arrays.toString(shape)
                    + " is empty or holds more than 2^31 elements; the header is corrupt or the data set must be split");
        }
        long bytes = count * type.size;
        if (bytes > NumericArray.MAX_ELEMENTS) {
            throw new DataFormatException(name, "shape " + java.util.Arrays.toString(shape) + " of " + type.descr
                    + " is " + bytes + " bytes, more than elbo4j reads into one array");
        }
        long expected = fixed + headerLen + bytes;
        if (size >= 0 && size != expected) {
            throw new DataFormatException(name, (size < expected ? "truncated" : "trailing bytes") + ": header says "
                    + java.util.Arrays.toString(shape) + " of " + type.descr + " (" + expected + " bytes) but there are "
                    + size + " bytes");
        }
        long[] got = new long[1];
        byte[] raw = size >= 0 ? in.readNBytes((int) bytes) : BoundedInput.readExactly(in, bytes, got);
        if (raw == null || raw.length != bytes) {
            throw new DataFormatException(name, "truncated: header says " + java.util.Arrays.toString(shape) + " of "
                    + type.descr + " (" + bytes + " data bytes) but only " + (raw == null ? got[0] : raw.length) + " are present");
        }
        if (size < 0 && in.read() >= 0) {
            throw new DataFormatException(name, "trailing bytes after the " + bytes + " data bytes the header announces");
        }
        int[] ishape = new int[shape.length];
        for (int i = 0; i < shape.length; i++) ishape[i] = (int) shape[i];
        if (type.kind == 'u' && type.size == 1) return new NumericArray(ishape, raw, null);
        return new NumericArray(ishape, null, type.toFloats(raw, (int) count, name));
    }

    /**
     * Writes {@code a} as a version 1.0 .npy file ({@code |u1} or {@code <f4}), atomically.
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void write(Path file, NumericArray a) throws IOException {
        StringBuilder shape = new StringBuilder("(");
        for (int d : a.shape()) shape.append(d).append(", ");
        shape.setLength(shape.length() - (a.rank() > 1 ? 2 : 1)); // "(3, 4)"; a 1-tuple keeps its comma: "(3,)"
        shape.append(')');
        String dict = "{'descr': '" + (a.isU8() ? "|u1" : "<f4") + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = MAGIC.length + 4 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        AtomicFiles.write(file, out -> writeTo(out, header, a));
    }

    private static void writeTo(OutputStream out, String header, NumericArray a) throws IOException {
        out.write(MAGIC);
        out.write(new byte[] {1, 0, (byte) header.length(), (byte) (header.length() >> 8)});
        out.write(header.getBytes(StandardCharsets.ISO_8859_1));
        if (a.isU8()) {
            out.write(a.u8());
        } else {
            ByteBuffer b = ByteBuffer.allocate(a.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(a.f32());
            out.write(b.array());
        }
    }

    /** A .npy element type: kind (b, i, u, f), size in bytes, byte order. */
    private record Type(String descr, char kind, int size, ByteOrder order) {
        static Type parse(String descr, Path name) throws DataFormatException {
            String t = descr.strip();
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            if (!t.isEmpty() && "<>|=".indexOf(t.charAt(0)) >= 0) {
                if (t.charAt(0) == '>') order = ByteOrder.BIG_ENDIAN;
                t = t.substring(1);
            }
            if (t.length() >= 2) {
                char kind = t.charAt(0);
                int size;
                try {
                    size = Integer.parseInt(t.substring(1));
                } catch (NumberFormatException e) {
                    size = -1;
                }
                boolean ok = switch (kind) {
                    case 'b' -> size == 1;
                    case 'i', 'u' -> size == 1 || size == 2 || size == 4 || size == 8;
                    case 'f' -> size == 2 || size == 4 || size == 8;
                    default -> false;
                };
                if (ok) return new Type(descr, kind, size, order);
            }
            throw new DataFormatException(name, "unsupported .npy dtype '" + descr + "' (elbo4j reads bool, int8..int64, "
                    + "uint8..uint64, float16, float32 and float64)");
        }

        float[] toFloats(byte[] raw, int count, Path name) throws DataFormatException {
            ByteBuffer b = ByteBuffer.wrap(raw).order(order);
            float[] out = new float[count];
            for (int i = 0; i < count; i++) {
                out[i] = switch (kind) {
                    case 'b' -> raw[i] != 0 ? 1f : 0f;
                    case 'i' -> switch (size) {
                        case 1 -> raw[i];
                        case 2 -> b.getShort(2 * i);
                        case 4 -> b.getInt(4 * i);
                        default -> b.getLong(8 * i);
                    };
                    case 'u' -> switch (size) {
                        case 2 -> b.getShort(2 * i) & 0xffff;
                        case 4 -> b.getInt(4 * i) & 0xffffffffL;
                        default -> unsigned(b.getLong(8 * i));
                    };
                    default -> switch (size) {
                        case 2 -> Float.float16ToFloat(b.getShort(2 * i));
                        case 4 -> b.getFloat(4 * i);
                        default -> (float) b.getDouble(8 * i);
                    };
                };
            }
            return out;
        }

        private static float unsigned(long v) {
            return v >= 0 ? v : (float) (v >>> 1) * 2f;
        }
    }
}
