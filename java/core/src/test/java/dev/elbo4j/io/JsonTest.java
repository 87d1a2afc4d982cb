package dev.elbo4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    @Test
    void parsesAllValueTypes() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, -0, 0.0, true, false, null], \"b\": {\"c\": \"d\"}, \"e\": {}, \"f\": []}\n");
        Map<?, ?> m = assertInstanceOf(LinkedHashMap.class, v);
        assertEquals(List.of("a", "b", "e", "f"), List.copyOf(m.keySet()));
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(1000.0, a.get(3));
        assertInstanceOf(Double.class, a.get(3));
        assertEquals(0L, a.get(4));
        assertEquals(0.0, a.get(5));
        assertEquals(true, a.get(6));
        assertEquals(false, a.get(7));
        assertNull(a.get(8));
        assertEquals(Map.of("c", "d"), m.get("b"));
        assertEquals(Map.of(), m.get("e"));
        assertEquals(List.of(), m.get("f"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(1.7976931348623157e308, Json.parse("1.7976931348623157e308"));
    }

    @Test
    void parsesEscapesAndSurrogates() {
        assertEquals("\"\\/\b\f\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("é€", Json.parse("\"\\u00e9\\u20AC\""));
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""));
        assertEquals("x\uD83D\uDE00y", Json.parse("\"x\uD83D\uDE00y\""));
        assertEquals("\u0000", Json.parse("\"\\u0000\""));
        assertEquals("ü", Json.parseUtf8("\"ü\"".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void roundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("z", 1L);
        m.put("a", List.of(1.5, -2.25e-10, 1.0E300, "s"));
        m.put("ctl", "\u0001\u001f\n\t\"\\ é \uD83D\uDE00 \u2028");
        m.put("nested", Map.of("k", List.of(true, false)));
        m.put("nil", null);
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        assertTrue(text.startsWith("{\"z\":1,\"a\":[1.5,"), text);
        assertTrue(text.contains("\\u0001\\u001f\\n\\t\\\"\\\\"), text);
        // Writing is deterministic and compact.
        assertEquals(text, Json.write(Json.parse(text)));
        assertEquals("[1,2]", Json.write(new int[] {1, 2}));
        assertEquals("[3,-4]", Json.write(new long[] {3, -4}));
        assertEquals("[0.5]", Json.write(new double[] {0.5}));
        assertEquals("{\"k\":[]}", Json.write(Map.of("k", List.of())));
        for (double d : new double[] {0.1, 1e-300, 123456789.123, -0.0, 5e-324}) {
            assertEquals(d, (Double) Json.parse(Json.write(d)));
        }
    }

    @Test
    void writerRejectsWhatJsonCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Float.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> Json.write("\uD800"));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "}", "[", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "'x'", "\"abc", "tru", "nul", "True", "NaN", "Infinity", "-", "01", "-01", "1.", ".5", "1e", "1e+",
        "+1", "0x10", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\nb\"", "\"tab\there\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\uD800\"", "[1] x", "{} {}", "1 2",
        "// c\n1", "/* c */ 1", "\uFEFF1", "[\u00a01]",
    })
    void rejectsInvalidDocuments(String text) {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().startsWith("invalid JSON at character "), e.getMessage());
        assertTrue(e.offset() >= 0 && e.offset() <= text.length(), e.getMessage());
    }

    @Test
    void errorsGiveTheOffset() {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("{\"a\": [1, 2,, 3]}"));
        assertEquals(12, e.offset());
        assertTrue(e.getMessage().contains("character 12"), e.getMessage());
        e = assertThrows(Json.ParseException.class, () -> Json.parse("[1]  x"));
        assertEquals(5, e.offset());
        assertTrue(e.getMessage().contains("after the JSON value"), e.getMessage());
    }

    @Test
    void rejectsDuplicateKeys() {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("{\"a\":1,\"b\":2,\"a\":3}"));
        assertTrue(e.getMessage().contains("duplicate key \"a\""), e.getMessage());
        assertEquals(13, e.offset());
        // Keys equal after unescaping are duplicates too.
        assertThrows(Json.ParseException.class, () -> Json.parse("{\"a\":1,\"\\u0061\":2}"));
        // The same key in different objects is fine.
        Json.parse("{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
    }

    @Test
    void limitsNesting() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than 64"), e.getMessage());
        assertEquals(Json.MAX_DEPTH, e.offset());
        String deepObj = "{\"a\":".repeat(Json.MAX_DEPTH + 1) + "1" + "}".repeat(Json.MAX_DEPTH + 1);
        assertThrows(Json.ParseException.class, () -> Json.parse(deepObj));
        // No stack overflow on absurd depth either.
        assertThrows(Json.ParseException.class, () -> Json.parse("[".repeat(1_000_000)));
    }

    @Test
    void rejectsNumbersOutOfRange() {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("[9223372036854775808]"));
        assertTrue(e.getMessage().contains("out of the 64-bit range"), e.getMessage());
        assertEquals(1, e.offset());
        assertThrows(Json.ParseException.class, () -> Json.parse("-9223372036854775809"));
        e = assertThrows(Json.ParseException.class, () -> Json.parse("1e309"));
        assertTrue(e.getMessage().contains("out of the double range"), e.getMessage());
        assertThrows(Json.ParseException.class, () -> Json.parse("-1.8e308"));
        assertThrows(Json.ParseException.class, () -> Json.parse("1" + "0".repeat(400)));
    }

    @Test
    void rejectsMalformedUtf8() {
        byte[] bad = {'"', (byte) 0xC3, '"'};
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parseUtf8(bad));
        assertTrue(e.getMessage().contains("malformed UTF-8"), e.getMessage());
        byte[] overlong = {'"', (byte) 0xC0, (byte) 0x80, '"'};
        assertThrows(Json.ParseException.class, () -> Json.parseUtf8(overlong));
    }

    @Test
    void parseObjectRequiresAnObject() {
        assertThrows(Json.ParseException.class, () -> Json.parseObject("[1]"));
        assertEquals(Map.of("a", 1L), Json.parseObject("{\"a\":1}"));
    }
}
