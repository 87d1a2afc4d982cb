package dev.elbo4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format: an 8-byte little-endian u64 header length {@code N}, then {@code N} bytes of UTF-8 JSON,
 * then the data buffer. The header maps each tensor name to
 * {@code {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}} (offsets relative to the
 * start of the buffer) and may hold a {@code "__metadata__"} object of string to string. Data is
 * little-endian and row-major; the tensors cover the buffer exactly, with no gaps or overlaps.
 *
 * <p>elbo4j writes tensors contiguously in insertion order, pads the header with spaces to a
 * multiple of 8 bytes (so the buffer starts 8-aligned), and writes atomically through
 * {@link AtomicFiles}. Supported dtypes: {@code F32, F64, I32, I64, U8}. See docs/FORMAT.md.
 *
 * <p>{@link #read(Path)} validates the whole header against the file size before allocating any
 * tensor buffer; every problem is a {@link DataFormatException} naming the file.
 */
public final class SafeTensors {

    /** The largest header elbo4j reads, in bytes (the reference implementation's limit too). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** The key of the string-to-string metadata object in the header. */
    public static final String METADATA_KEY = "__metadata__";

    /** Largest byte size of a single tensor: the data must fit one Java array. */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 16;

    private static final Map<String, Integer> DTYPE_SIZES;

    static {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("F32", 4);
        m.put("F64", 8);
        m.put("I32", 4);
        m.put("I64", 8);
        m.put("U8", 1);
        DTYPE_SIZES = Collections.unmodifiableMap(m);
    }

    private SafeTensors() {
    }

    /**
     * Bytes of a tensor with non-negative dimensions {@code shape} and elements of {@code size}
     * bytes, or -1 if that exceeds what one Java array can hold. Empty if any dimension is 0.
     */
    private static long byteSize(int[] shape, int size) {
        for (int d : shape) if (d == 0) return 0;
        long bytes = size;
        for (int d : shape) {
            bytes *= d; // bytes <= MAX_TENSOR_BYTES < 2^31 and d < 2^31: no overflow
            if (bytes > MAX_TENSOR_BYTES) return -1;
        }
        return bytes;
    }

    /** The dtypes elbo4j reads and writes: F32, F64, I32, I64, U8. */
    public static Set<String> dtypes() {
        return DTYPE_SIZES.keySet();
    }

    /**
     * Bytes per element of {@code dtype}.
     *
     * @throws IllegalArgumentException for an unknown dtype
     */
    public static int dtypeSize(String dtype) {
        Integer s = DTYPE_SIZES.get(dtype);
        if (s == null) {
            throw new IllegalArgumentException("unsupported dtype '" + dtype + "'; elbo4j supports " + DTYPE_SIZES.keySet());
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------------
    // In-memory model

    /**
     * One tensor: its dtype name, shape (outermost first; {@code []} is a scalar) and raw
     * little-endian bytes. The byte array is shared, not copied.
     *
     * @param dtype one of {@link #dtypes()}
     * @param shape non-negative dimensions
     * @param bytes exactly dtype size x product(shape) bytes, little-endian
     */
    public record Entry(String dtype, int[] shape, byte[] bytes) {
        /**
         * Checks the dtype name and that {@code bytes} holds exactly the shape's elements (at most 2^31-1
         * bytes); copies {@code shape}, shares {@code bytes}.
         *
         * @throws IllegalArgumentException for an unknown dtype, a negative dimension or a size that does not
         *     match
         */
        public Entry {
            int size = dtypeSize(dtype);
            shape = shape.clone();
            for (int d : shape) {
                if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            long need = byteSize(shape, size);
            if (need < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large: more than "
                        + "2^31-1 bytes");
            }
            if (need != bytes.length) {
                throw new IllegalArgumentException(dtype + " tensor of shape " + Arrays.toString(shape)
                        + " needs " + need + " bytes, got " + bytes.length);
            }
        }

        /** A copy of the dimensions, outermost first ({@code []} for a scalar). */
        @Override
        public int[] shape() {
            return shape.clone();
        }

        /** The number of elements, the product of the shape. */
        public int numel() {
            return bytes.length / dtypeSize(dtype);
        }

        private ByteBuffer le() {
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** The elements of an F32 tensor. */
        public float[] toFloats() {
            requireDtype("F32");
            float[] a = new float[numel()];
            le().asFloatBuffer().get(a);
            return a;
        }

        /** The elements of an F64 tensor. */
        public double[] toDoubles() {
            requireDtype("F64");
            double[] a = new double[numel()];
            le().asDoubleBuffer().get(a);
            return a;
        }

        /** The elements of an I32 tensor. */
        public int[] toInts() {
            requireDtype("I32");
            int[] a = new int[numel()];
            le().asIntBuffer().get(a);
            return a;
        }

        /** The elements of an I64 tensor. */
        public long[] toLongs() {
            requireDtype("I64");
            long[] a = new long[numel()];
            le().asLongBuffer().get(a);
            return a;
        }

        /** The elements of a U8 tensor (a copy; read with {@code & 0xff}). */
        public byte[] toBytes() {
            requireDtype("U8");
            return bytes.clone();
        }

        private void requireDtype(String want) {
            if (!dtype.equals(want)) {
                throw new IllegalArgumentException("tensor is " + dtype + ", not " + want);
            }
        }

        @Override
        public String toString() {
            return "Entry[" + dtype + " " + Arrays.toString(shape) + ", " + bytes.length + " bytes]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry e && dtype.equals(e.dtype) && Arrays.equals(shape, e.shape)
                    && Arrays.equals(bytes, e.bytes);
        }

        @Override
        public int hashCode() {
            return (dtype.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Arrays.hashCode(bytes);
        }
    }

    /**
     * The contents of a safetensors file: named tensors in order, and string metadata. Mutable; not
     * thread-safe. Getters throw {@link IllegalArgumentException} for a missing tensor or a dtype
     * mismatch; {@link #require} throws a {@link DataFormatException} naming the source file.
     */
    public static final class File {
        private final Map<String, Entry> tensors = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private final Path source;

        /** An empty file model. */
        public File() {
            this(null);
        }

        private File(Path source) {
            this.source = source;
        }

        /** The file this was read from, or {@code null} if built in memory. */
        public Path source() {
            return source;
        }

        /** Tensors by name, in order (unmodifiable view). */
        public Map<String, Entry> tensors() {
            return Collections.unmodifiableMap(tensors);
        }

        /** Metadata, in order (unmodifiable view). */
        public Map<String, String> metadata() {
            return Collections.unmodifiableMap(metadata);
        }

        /** Sets a metadata entry; returns {@code this}. */
        public File putMetadata(String key, String value) {
            if (key == null || value == null) throw new IllegalArgumentException("metadata keys and values must not be null");
            metadata.put(key, value);
            return this;
        }

        /** The metadata value for {@code key}, or {@code null}. */
        public String metadata(String key) {
            return metadata.get(key);
        }

        /** Adds or replaces tensor {@code name}; returns {@code this}. */
        public File put(String name, Entry entry) {
            if (name == null || name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("invalid tensor name " + (name == null ? "null" : "'" + name + "'"));
            }
            tensors.put(name, entry);
            return this;
        }

        /**
         * Adds or replaces F32 tensor {@code name} holding {@code values} (copied, little-endian); returns
         * {@code this}.
         *
         * @throws IllegalArgumentException when the name is invalid or {@code values} does not fit
         *     {@code shape}
         */
        public File putFloats(String name, int[] shape, float[] values) {
            ByteBuffer b = ByteBuffer.allocate(checkedBytes(values.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return put(name, new Entry("F32", shape, b.array()));
        }

        /**
         * Adds or replaces F64 tensor {@code name} holding {@code values} (copied, little-endian); returns
         * {@code this}.
         *
         * @throws IllegalArgumentException when the name is invalid or {@code values} does not fit
         *     {@code shape}
         */
        public File putDoubles(String name, int[] shape, double[] values) {
            ByteBuffer b = ByteBuffer.allocate(checkedBytes(values.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
            b.asDoubleBuffer().put(values);
            return put(name, new Entry("F64", shape, b.array()));
        }

        /**
         * Adds or replaces I32 tensor {@code name} holding {@code values} (copied, little-endian); returns
         * {@code this}.
         *
         * @throws IllegalArgumentException when the name is invalid or {@code values} does not fit
         *     {@code shape}
         */
        public File putInts(String name, int[] shape, int[] values) {
            ByteBuffer b = ByteBuffer.allocate(checkedBytes(values.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
            b.asIntBuffer().put(values);
            return put(name, new Entry("I32", shape, b.array()));
        }

        /**
         * Adds or replaces I64 tensor {@code name} holding {@code values} (copied, little-endian); returns
         * {@code this}.
         *
         * @throws IllegalArgumentException when the name is invalid or {@code values} does not fit
         *     {@code shape}
         */
        public File putLongs(String name, int[] shape, long[] values) {
            ByteBuffer b = ByteBuffer.allocate(checkedBytes(values.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(values);
            return put(name, new Entry("I64", shape, b.array()));
        }

        /** Adds a U8 tensor; {@code values} is copied. */
        public File putBytes(String name, int[] shape, byte[] values) {
            return put(name, new Entry("U8", shape, values.clone()));
        }

        private static int checkedBytes(int n, int size) {
            long b = (long) n * size;
            if (b > MAX_TENSOR_BYTES) throw new IllegalArgumentException("tensor of " + n + " elements is too large");
            return (int) b;
        }

        /** Whether the file has a tensor {@code name}. */
        public boolean contains(String name) {
            return tensors.containsKey(name);
        }

        /** Tensor {@code name}, or {@code null}. */
        public Entry entry(String name) {
            return tensors.get(name);
        }

        /** Tensor names in order. */
        public List<String> names() {
            return List.copyOf(tensors.keySet());
        }

        /**
         * The elements of F32 tensor {@code name}, row-major.
         *
         * @throws IllegalArgumentException naming the file (when read from one) when the tensor is missing or
         *     not F32
         */
        public float[] getFloats(String name) {
            return get(name).toFloats();
        }

        /**
         * The elements of F64 tensor {@code name}, row-major.
         *
         * @throws IllegalArgumentException naming the file (when read from one) when the tensor is missing or
         *     not F64
         */
        public double[] getDoubles(String name) {
            return get(name).toDoubles();
        }

        /**
         * The elements of I32 tensor {@code name}, row-major.
         *
         * @throws IllegalArgumentException naming the file (when read from one) when the tensor is missing or
         *     not I32
         */
        public int[] getInts(String name) {
            return get(name).toInts();
        }

        /**
         * The elements of I64 tensor {@code name}, row-major.
         *
         * @throws IllegalArgumentException naming the file (when read from one) when the tensor is missing or
         *     not I64
         */
        public long[] getLongs(String name) {
            return get(name).toLongs();
        }

        /**
         * A copy of the bytes of U8 tensor {@code name}, row-major (read with {@code & 0xff}).
         *
         * @throws IllegalArgumentException naming the file (when read from one) when the tensor is missing or
         *     not U8
         */
        public byte[] getBytes(String name) {
            return get(name).toBytes();
        }

        private Entry get(String name) {
            Entry e = tensors.get(name);
            if (e == null) {
                throw new IllegalArgumentException(where() + "no tensor '" + name + "'; present: " + tensors.keySet());
            }
            return e;
        }

        private String where() {
            return source == null ? "" : source + ": ";
        }

        /**
         * Tensor {@code name}, checked to have {@code dtype} and {@code shape}: for loading a
         * checkpoint into a model of known architecture.
         *
         * @throws DataFormatException naming the source file if the tensor is missing or differs
         */
        public Entry require(String name, String dtype, int... shape) throws DataFormatException {
            Path f = source == null ? Path.of("<in-memory>") : source;
            Entry e = tensors.get(name);
            if (e == null) {
                throw new DataFormatException(f, "no tensor '" + name + "' (present: " + tensors.keySet() + ")");
            }
            if (!e.dtype().equals(dtype) || !Arrays.equals(e.shape, shape)) {
                throw new DataFormatException(f, "tensor '" + name + "' is " + e.dtype() + " "
                        + Arrays.toString(e.shape) + " but " + dtype + " " + Arrays.toString(shape)
                        + " was expected; the file belongs to a different model configuration");
            }
            return e;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Writing

    /** The header JSON (unpadded) for {@code file}: metadata first if any, then tensors in order. */
    static byte[] header(File file) {
        Map<String, Object> h = new LinkedHashMap<>();
        if (!file.metadata.isEmpty()) h.put(METADATA_KEY, file.metadata);
        long offset = 0;
        for (Map.Entry<String, Entry> e : file.tensors.entrySet()) {
            Entry t = e.getValue();
            Map<String, Object> desc = new LinkedHashMap<>();
            desc.put("dtype", t.dtype());
            desc.put("shape", t.shape);
            desc.put("data_offsets", new long[] {offset, offset + t.bytes.length});
            offset += t.bytes.length;
            h.put(e.getKey(), desc);
        }
        return Json.write(h).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Writes {@code file} to {@code path} atomically: a reader sees the old file or the complete new
     * one, never a partial one (see {@link AtomicFiles}).
     *
     * @throws IOException when the file cannot be written; the target is then unchanged
     */
    public static void write(Path path, File file) throws IOException {
        byte[] json = header(file);
        int padded = (json.length + 7) & ~7;
        if (padded > MAX_HEADER_BYTES) {
            throw new IOException(path + ": the header would be " + padded + " bytes, more than the "
                    + MAX_HEADER_BYTES + " readers accept; use fewer tensors or less metadata");
        }
        byte[] head = new byte[8 + padded];
        ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(json, 0, head, 8, json.length);
        Arrays.fill(head, 8 + json.length, head.length, (byte) ' ');
        List<Entry> entries = new ArrayList<>(file.tensors.values());
        AtomicFiles.write(path, (OutputStream out) -> {
            out.write(head);
            for (Entry e : entries) out.write(e.bytes);
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Reading

    private record Planned(String name, String dtype, int[] shape, long begin, long end) {
    }

    /**
     * Reads and fully validates a safetensors file. Tensors keep header order. Checked before any
     * tensor buffer is allocated: header length within the file and at most
     * {@value #MAX_HEADER_BYTES} bytes; strict UTF-8 JSON object starting with '{'; string-only
     * metadata; per tensor exactly the keys dtype/shape/data_offsets, a supported dtype,
     * non-negative integer dimensions whose byte size fits a Java array, offsets matching
     * dtype size x element count; together the tensors covering the buffer with no gap or
     * overlap; and the buffer ending exactly at the end of the file.
     *
     * @throws DataFormatException naming the file and the problem
     */
    public static File read(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new DataFormatException(path, "not a safetensors file: " + fileSize
                        + " bytes, fewer than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long n = lenBuf.getLong(0);
            String nText = Long.toUnsignedString(n);
            if (n < 0 || n > fileSize - 8) {
                throw new DataFormatException(path, "header length " + nText + " exceeds the file size ("
                        + fileSize + " bytes); the file is truncated or not safetensors");
            }
            if (n > MAX_HEADER_BYTES) {
                throw new DataFormatException(path, "header length " + nText + " is more than the "
                        + MAX_HEADER_BYTES + " bytes allowed");
            }
            if (n < 2) {
                throw new DataFormatException(path, "header length " + n + " is too short for a JSON object");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8, path);
            byte[] headerBytes = hb.array();
            if (headerBytes[0] != '{') {
                throw new DataFormatException(path, "header does not start with '{'; not a safetensors file");
            }
            Map<String, Object> header;
            try {
                header = Json.parseObject(Json.decodeUtf8(headerBytes));
            } catch (Json.ParseException e) {
                throw new DataFormatException(path, "malformed JSON header: " + e.getMessage(), e);
            }
            long bufferStart = 8 + n;
            long bufferSize = fileSize - bufferStart;

            File result = new File(path);
            List<Planned> plan = new ArrayList<>();
            for (Map.Entry<String, Object> kv : header.entrySet()) {
                String name = kv.getKey();
                Object v = kv.getValue();
                if (name.equals(METADATA_KEY)) {
                    readMetadata(path, v, result);
                    continue;
                }
                plan.add(planTensor(path, name, v));
            }
            checkCoverage(path, plan, bufferSize);

            for (Planned p : plan) {
                byte[] data = new byte[(int) (p.end - p.begin)];
                readFully(ch, ByteBuffer.wrap(data), bufferStart + p.begin, path);
                result.tensors.put(p.name, new Entry(p.dtype, p.shape, data));
            }
            return result;
        }
    }

    private static void readMetadata(Path path, Object v, File result) throws DataFormatException {
        if (!(v instanceof Map<?, ?> m)) {
            throw new DataFormatException(path, "header \"" + METADATA_KEY + "\" is " + Json.typeName(v)
                    + "; it must be an object of strings");
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new DataFormatException(path, "metadata value for \"" + e.getKey() + "\" is "
                        + Json.typeName(e.getValue()) + "; metadata values must be strings");
            }
            result.metadata.put((String) e.getKey(), s);
        }
    }

    private static Planned planTensor(Path path, String name, Object v) throws DataFormatException {
        String t = "tensor '" + name + "'";
        if (!(v instanceof Map<?, ?> desc)) {
            throw new DataFormatException(path, "header entry for " + t + " is " + Json.typeName(v)
                    + "; expected an object with dtype, shape and data_offsets");
        }
        for (Object k : desc.keySet()) {
            if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets")) {
                throw new DataFormatException(path, "header entry for " + t + " has unexpected key \"" + k
                        + "\"; only dtype, shape and data_offsets are allowed");
            }
        }
        if (!(desc.get("dtype") instanceof String dtype)) {
            throw new DataFormatException(path, t + " has " + (desc.containsKey("dtype")
                    ? "a dtype that is " + Json.typeName(desc.get("dtype")) : "no dtype") + "; expected a string");
        }
        Integer size = DTYPE_SIZES.get(dtype);
        if (size == null) {
            throw new DataFormatException(path, t + " has dtype '" + dtype + "', which elbo4j does not support "
                    + "(supported: " + String.join(", ", DTYPE_SIZES.keySet()) + ")");
        }
        if (!(desc.get("shape") instanceof List<?> shapeList)) {
            throw new DataFormatException(path, t + " has " + (desc.containsKey("shape")
                    ? "a shape that is " + Json.typeName(desc.get("shape")) : "no shape") + "; expected an array of integers");
        }
        int[] shape = new int[shapeList.size()];
        for (int i = 0; i < shape.length; i++) {
            Object d = shapeList.get(i);
            if (!(d instanceof Long dim)) {
                throw new DataFormatException(path, t + " has shape " + Json.write(shapeList) + ": dimension " + i
                        + " is " + Json.typeName(d) + ", not an integer");
            }
            if (dim < 0) {
                throw new DataFormatException(path, t + " has shape " + Json.write(shapeList)
                        + " with a negative dimension");
            }
            if (dim > Integer.MAX_VALUE) {
                throw new DataFormatException(path, t + " has shape " + Json.write(shapeList) + ": dimension " + i
                        + " is larger than 2^31-1");
            }
            shape[i] = (int) (long) dim;
        }
        long bytes = byteSize(shape, size);
        if (bytes < 0) {
            throw new DataFormatException(path, t + " has shape " + Json.write(shapeList)
                    + ", more than the 2^31-1 bytes one tensor may hold");
        }
        if (!(desc.get("data_offsets") instanceof List<?> offs) || offs.size() != 2
                || !(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end)) {
            throw new DataFormatException(path, t + " has data_offsets " + (desc.containsKey("data_offsets")
                    ? Json.write(desc.get("data_offsets")) : "missing") + "; expected [begin, end] as two integers");
        }
        if (begin < 0 || end < begin) {
            throw new DataFormatException(path, t + " has data_offsets [" + begin + ", " + end
                    + "]; need 0 <= begin <= end");
        }
        if (end - begin != bytes) {
            throw new DataFormatException(path, "header says " + t + " has shape " + Arrays.toString(shape)
                    + " (" + bytes + " bytes) but its offsets span " + (end - begin) + " bytes");
        }
        return new Planned(name, dtype, shape, begin, end);
    }

    private static void checkCoverage(Path path, List<Planned> plan, long bufferSize) throws DataFormatException {
        for (Planned p : plan) {
            if (p.end > bufferSize) {
                throw new DataFormatException(path, "tensor '" + p.name + "' has data_offsets [" + p.begin + ", "
                        + p.end + "], out of range: the data buffer after the header has only " + bufferSize
                        + " bytes (the file is truncated or the header is corrupt)");
            }
        }
        List<Planned> sorted = new ArrayList<>(plan);
        sorted.sort(Comparator.comparingLong(Planned::begin).thenComparingLong(Planned::end));
        long at = 0;
        String prev = null;
        for (Planned p : sorted) {
            if (p.begin > at) {
                throw new DataFormatException(path, "gap in the data buffer: bytes [" + at + ", " + p.begin
                        + ") belong to no tensor (before tensor '" + p.name + "'); the format requires the "
                        + "tensors to cover the buffer exactly");
            }
            if (p.begin < at) {
                throw new DataFormatException(path, "tensor '" + p.name + "' at offsets [" + p.begin + ", "
                        + p.end + ") overlaps tensor '" + prev + "' which ends at " + at);
            }
            at = p.end;
            prev = p.name;
        }
        if (at < bufferSize) {
            throw new DataFormatException(path, "trailing bytes: the header describes a data buffer of " + at
                    + " bytes but the file has " + bufferSize + " bytes after the header");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long position, Path path) throws IOException {
        long pos = position;
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) {
                throw new DataFormatException(path, "unexpected end of file at byte " + pos
                        + " (the file changed while being read?)");
            }
            pos += r;
        }
    }
}
