package dev.elbo4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    private static SafeTensors.File sample() {
        float[] f = new float[12];
        for (int i = 0; i < f.length; i++) f[i] = (i - 5) * 0.25f + (i == 3 ? 1e-3f : 0f);
        double[] d = {Math.PI, -1e-300, 1e300, 0.0, -0.0, Double.MIN_VALUE};
        int[] in = {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE};
        long[] l = {Long.MIN_VALUE, -7, 1L << 40, Long.MAX_VALUE};
        byte[] u = {0, 1, 127, (byte) 128, (byte) 255, 42};
        return new SafeTensors.File()
                .putMetadata("format", "elbo4j")
                .putMetadata("config", "{\"latent\": 20, \"note\": \"é\\n\"}")
                .putFloats("encoder.0.weight", new int[] {3, 4}, f)
                .putDoubles("f64", new int[] {2, 3}, d)
                .putInts("step", new int[] {5}, in)
                .putLongs("i64", new int[] {4}, l)
                .putBytes("u8", new int[] {2, 1, 3}, u)
                .putFloats("scalar", new int[] {}, new float[] {2.5f})
                .putFloats("empty", new int[] {0, 3}, new float[0]);
    }

    @Test
    void roundTripsEveryDtypeWithMetadata() throws IOException {
        SafeTensors.File src = sample();
        Path p = dir.resolve("model.safetensors");
        SafeTensors.write(p, src);
        SafeTensors.File back = SafeTensors.read(p);
        assertEquals(p, back.source());
        assertEquals(src.metadata(), back.metadata());
        assertEquals(src.names(), back.names());
        assertEquals(src.tensors(), back.tensors());
        assertArrayEquals(src.getFloats("encoder.0.weight"), back.getFloats("encoder.0.weight"));
        assertArrayEquals(src.getDoubles("f64"), back.getDoubles("f64"));
        assertArrayEquals(src.getInts("step"), back.getInts("step"));
        assertArrayEquals(src.getLongs("i64"), back.getLongs("i64"));
        assertArrayEquals(src.getBytes("u8"), back.getBytes("u8"));
        assertArrayEquals(new int[] {2, 1, 3}, back.entry("u8").shape());
        assertArrayEquals(new int[] {}, back.entry("scalar").shape());
        assertEquals(2.5f, back.getFloats("scalar")[0]);
        assertEquals(0, back.getFloats("empty").length);
        assertThrows(IllegalArgumentException.class, () -> back.getInts("encoder.0.weight"));
        assertThrows(IllegalArgumentException.class, () -> back.getFloats("nope"));
        back.require("encoder.0.weight", "F32", 3, 4);
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> back.require("encoder.0.weight", "F32", 4, 3));
        assertTrue(e.getMessage().startsWith(p + ": tensor 'encoder.0.weight' is F32 [3, 4]"), e.getMessage());
        assertThrows(DataFormatException.class, () -> back.require("decoder", "F32", 1));
    }

    @Test
    void layoutIsPaddedContiguousLittleEndian() throws IOException {
        Path p = dir.resolve("layout.safetensors");
        SafeTensors.write(p, new SafeTensors.File()
                .putInts("a", new int[] {2}, new int[] {1, 0x01020304})
                .putBytes("b", new int[] {3}, new byte[] {7, 8, 9}));
        byte[] raw = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertEquals(8 + n + 11, raw.length);
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}", header.stripTrailing());
        assertTrue(header.endsWith(" ") || header.endsWith("}"));
        int buf = (int) (8 + n);
        assertArrayEquals(new byte[] {1, 0, 0, 0, 4, 3, 2, 1, 7, 8, 9}, Arrays.copyOfRange(raw, buf, raw.length));
    }

    @Test
    void writeRejectsBadEntries() {
        SafeTensors.File f = new SafeTensors.File();
        assertThrows(IllegalArgumentException.class, () -> f.putFloats("x", new int[] {2, 2}, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> f.putFloats("x", new int[] {-1}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> f.putFloats(SafeTensors.METADATA_KEY, new int[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> new SafeTensors.Entry("BF16", new int[] {1}, new byte[2]));
        assertThrows(IllegalArgumentException.class,
                () -> new SafeTensors.Entry("F32", new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE}, new byte[0]));
    }

    // --- hostile files, built by hand -----------------------------------------------------------

    private static byte[] file(long headerLen, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(header).put(data);
        return b.array();
    }

    private static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, new byte[dataBytes]);
    }

    private DataFormatException rejects(byte[] content) throws IOException {
        Path p = dir.resolve("bad-" + System.nanoTime() + ".safetensors");
        Files.write(p, content);
        DataFormatException e = assertThrows(DataFormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        return e;
    }

    private void rejects(String header, int dataBytes, String expectedFragment) throws IOException {
        DataFormatException e = rejects(file(header, dataBytes));
        assertTrue(e.problem().contains(expectedFragment), "expected '" + expectedFragment + "' in: " + e.getMessage());
    }

    private static String t(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    @Test
    void acceptsAMinimalHandBuiltFile() throws IOException {
        Path p = dir.resolve("ok.safetensors");
        Files.write(p, file("{" + t("x", "U8", "[2]", 0, 2) + "}  ", 2));
        assertArrayEquals(new byte[2], SafeTensors.read(p).getBytes("x"));
        Path q = dir.resolve("empty.safetensors");
        Files.write(q, file("{}", 0));
        assertEquals(List.of(), SafeTensors.read(q).names());
        // Data in a different order from the header is fine as long as the buffer is covered.
        Path r = dir.resolve("order.safetensors");
        Files.write(r, file("{" + t("b", "U8", "[1]", 2, 3) + "," + t("a", "U8", "[2]", 0, 2) + "}", 3));
        assertEquals(List.of("b", "a"), SafeTensors.read(r).names());
    }

    @Test
    void rejectsBadHeaderLength() throws IOException {
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            DataFormatException e = rejects(file(1L << 62, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
            assertTrue(e.problem().contains("header length 4611686018427387904 exceeds the file size (10 bytes)"),
                    e.getMessage());
            e = rejects(file(-1L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
            assertTrue(e.problem().contains("header length 18446744073709551615 exceeds"), e.getMessage());
            e = rejects(file(100, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
            assertTrue(e.problem().contains("exceeds the file size"), e.getMessage());
            e = rejects(new byte[] {2, 0, 0});
            assertTrue(e.problem().contains("fewer than the 8-byte header length"), e.getMessage());
            e = rejects(file(0, new byte[0], new byte[0]));
            assertTrue(e.problem().contains("too short"), e.getMessage());
        });
    }

    @Test
    void rejectsHeaderOver100MB() throws IOException {
        // A sparse 120 MB file whose header length says 110 MB: within the file but over the limit.
        Path p = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(120_000_000L);
            byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(110_000_000L).array();
            raf.write(len);
            raf.write('{');
        }
        DataFormatException e = assertThrows(DataFormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.problem().contains("header length 110000000 is more than the 100000000 bytes allowed"),
                e.getMessage());
    }

    @Test
    void rejectsMalformedJson() throws IOException {
        rejects("{\"x\":", 0, "malformed JSON header");
        rejects("{} x", 0, "malformed JSON header");
        rejects(" {}", 0, "does not start with '{'");
        rejects("[]", 0, "does not start with '{'");
        rejects("{\"a\":1,\"a\":2}", 0, "duplicate key \"a\"");
        rejects("{" + t("w", "F32", "[1]", 0, 4) + "," + t("w", "F32", "[1]", 4, 8) + "}", 8, "duplicate key \"w\"");
        DataFormatException e = rejects(file(4, new byte[] {'{', '"', (byte) 0xff, '}'}, new byte[0]));
        assertTrue(e.problem().contains("malformed UTF-8"), e.getMessage());
    }

    @Test
    void rejectsBadTensorDescriptions() throws IOException {
        rejects("{" + t("w", "BF16", "[2]", 0, 4) + "}", 4, "dtype 'BF16', which elbo4j does not support");
        rejects("{" + t("w", "F32", "[-1]", 0, 0) + "}", 0, "negative dimension");
        rejects("{" + t("w", "F32", "[2.0]", 0, 8) + "}", 8, "not an integer");
        rejects("{" + t("w", "F32", "[4294967296]", 0, 0) + "}", 0, "larger than 2^31-1");
        rejects("{" + t("w", "F32", "[99999999999999999999]", 0, 0) + "}", 0, "out of the 64-bit range");
        rejects("{" + t("w", "F32", "[2147483647,2147483647]", 0, 0) + "}", 0, "more than the 2^31-1 bytes");
        rejects("{" + t("w", "F32", "\"2\"", 0, 8) + "}", 8, "expected an array of integers");
        rejects("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype");
        rejects("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no shape");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets missing");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, "unexpected key \"extra\"");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "expected [begin, end]");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4, "expected [begin, end]");
        rejects("{\"w\":[1]}", 0, "expected an object with dtype");
        rejects("{" + t("w", "F32", "[1]", 4, 0) + "}", 4, "need 0 <= begin <= end");
        rejects("{" + t("w", "F32", "[1]", -4, 0) + "}", 4, "need 0 <= begin <= end");
        DataFormatException e = rejects(file("{" + t("encoder.0.weight", "F32", "[400,784]", 0, 1000) + "}", 1000));
        assertEquals("header says tensor 'encoder.0.weight' has shape [400, 784] (1254400 bytes) but its offsets "
                + "span 1000 bytes", e.problem());
    }

    @Test
    void rejectsBadMetadata() throws IOException {
        rejects("{\"__metadata__\":{\"epoch\":3}}", 0, "metadata value for \"epoch\" is an integer");
        rejects("{\"__metadata__\":{\"x\":null}}", 0, "metadata values must be strings");
        rejects("{\"__metadata__\":[\"a\"]}", 0, "must be an object of strings");
    }

    @Test
    void rejectsOffsetsOutOfRangeGapsOverlapsAndTrailingBytes() throws IOException {
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            rejects("{" + t("w", "F32", "[2]", 0, 8) + "}", 4,
                    "tensor 'w' has data_offsets [0, 8], out of range: the data buffer after the header has only 4 bytes");
            rejects("{" + t("w", "U8", "[4]", 1L << 40, (1L << 40) + 4) + "}", 4, "out of range");
            rejects("{" + t("w", "U8", "[0]", 1L << 40, 1L << 40) + "}", 0, "out of range");
            rejects("{" + t("w", "U8", "[4]", 2, 6) + "}", 6, "gap in the data buffer: bytes [0, 2)");
            rejects("{" + t("a", "U8", "[4]", 0, 4) + "," + t("b", "U8", "[4]", 8, 12) + "}", 12,
                    "gap in the data buffer: bytes [4, 8)");
            rejects("{" + t("a", "U8", "[8]", 0, 8) + "," + t("b", "U8", "[8]", 4, 12) + "}", 12,
                    "tensor 'b' at offsets [4, 12) overlaps tensor 'a' which ends at 8");
            rejects("{" + t("a", "U8", "[8]", 0, 8) + "," + t("b", "U8", "[8]", 0, 8) + "}", 8, "overlaps");
            rejects("{" + t("a", "U8", "[8]", 0, 8) + "}", 9, "trailing bytes: the header describes a data buffer of 8");
            rejects("{}", 1, "trailing bytes");
        });
    }

    // --- cross-check with an independent reader ---------------------------------------------------

    private static final String PY = """
            import json, struct, sys
            import numpy as np
            raw = open(sys.argv[1], 'rb').read()
            (n,) = struct.unpack('<Q', raw[:8])
            assert n % 8 == 0, 'header not padded to 8'
            header = json.loads(raw[8:8 + n].decode('utf-8'))
            buf = raw[8 + n:]
            meta = header.pop('__metadata__', {})
            print('META ' + json.dumps(meta, sort_keys=True))
            types = {'F32': '<f4', 'F64': '<f8', 'I32': '<i4', 'I64': '<i8', 'U8': 'u1'}
            end = 0
            for name, d in header.items():
                b, e = d['data_offsets']
                assert b == end, 'not contiguous'
                end = e
                a = np.frombuffer(buf[b:e], dtype=types[d['dtype']]).reshape(d['shape'])
                w = np.arange(1, a.size + 1, dtype=np.float64)
                s = float(np.sum(a.astype(np.float64).ravel() * w)) if a.size else 0.0
                print('T %s %s %s %r' % (name, d['dtype'], ','.join(str(x) for x in a.shape), s))
            assert end == len(buf), 'buffer not covered'
            """;

    @Test
    void pythonNumpyReadsWhatJavaWrites() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        Process probe = new ProcessBuilder(python.toString(), "-c", "import numpy").redirectErrorStream(true).start();
        probe.getInputStream().readAllBytes();
        assumeTrue(probe.waitFor(20, TimeUnit.SECONDS) && probe.exitValue() == 0, "python3 has no numpy");

        SafeTensors.File src = sample();
        Path p = dir.resolve("cross.safetensors");
        SafeTensors.write(p, src);
        Process proc = new ProcessBuilder(python.toString(), "-c", PY, p.toString()).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(20, TimeUnit.SECONDS), "python timed out");
        assertEquals(0, proc.exitValue(), out);

        List<String> lines = out.lines().toList();
        assertEquals(new LinkedHashMap<>(src.metadata()), Json.parse(lines.get(0).substring("META ".length())));
        List<String> names = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(" ");
            String name = f[1];
            names.add(name);
            SafeTensors.Entry e = src.entry(name);
            assertEquals(e.dtype(), f[2], line);
            assertEquals(Arrays.toString(e.shape()).replaceAll("[\\[\\] ]", ""), f[3], line);
            double expected = checksum(e);
            double got = Double.parseDouble(f[4]);
            assertEquals(expected, got, Math.abs(expected) * 1e-12, line);
        }
        assertEquals(src.names(), names);
    }

    /** Sum of value[i] * (i + 1) in double, as the Python side computes it. */
    private static double checksum(SafeTensors.Entry e) {
        double[] v = switch (e.dtype()) {
            case "F32" -> {
                float[] f = e.toFloats();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) d[i] = f[i];
                yield d;
            }
            case "F64" -> e.toDoubles();
            case "I32" -> Arrays.stream(e.toInts()).asDoubleStream().toArray();
            case "I64" -> Arrays.stream(e.toLongs()).asDoubleStream().toArray();
            case "U8" -> {
                byte[] b = e.toBytes();
                double[] d = new double[b.length];
                for (int i = 0; i < b.length; i++) d[i] = b[i] & 0xff;
                yield d;
            }
            default -> throw new AssertionError(e.dtype());
        };
        double s = 0;
        for (int i = 0; i < v.length; i++) s += v[i] * (i + 1);
        return s;
    }

    @Test
    void metadataMapIsReadOnlyView() {
        SafeTensors.File f = sample();
        assertThrows(UnsupportedOperationException.class, () -> f.metadata().put("a", "b"));
        assertThrows(UnsupportedOperationException.class, () -> f.tensors().clear());
        assertEquals(Map.of("format", "elbo4j"), Map.of("format", f.metadata("format")));
    }
}
