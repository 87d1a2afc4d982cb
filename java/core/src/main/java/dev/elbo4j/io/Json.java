package dev.elbo4j.io;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal, strict JSON (RFC 8259) reader and writer with no dependencies, for safetensors
 * headers, checkpoint metadata and JSONL logs.
 *
 * <p>Parsing maps JSON values to Java as follows: objects to {@code LinkedHashMap<String, Object>}
 * (keys in document order), arrays to {@code List<Object>}, integral numbers written without a
 * fraction or exponent to {@link Long}, every other number to {@link Double}, strings to
 * {@link String}, {@code true}/{@code false} to {@link Boolean} and {@code null} to {@code null}.
 * The parser rejects, with a {@link ParseException} giving the character offset: trailing
 * non-whitespace after the value, duplicate object keys, nesting deeper than {@value #MAX_DEPTH}
 * containers, integers outside the {@code long} range, numbers too large for a {@code double},
 * invalid escapes, unpaired surrogates, raw control characters in strings, and anything else the
 * RFC does not allow (comments, trailing commas, single quotes, NaN, leading zeros, ...).
 *
 * <p>Writing is compact (no whitespace), keeps map iteration order, and escapes {@code "},
 * {@code \}, and every control character below U+0020.
 */
public final class Json {

    /** The deepest nesting of objects and arrays the parser accepts. */
    public static final int MAX_DEPTH = 64;

    private Json() {
    }

    /** A JSON document that does not parse; {@link #offset()} is where the parser gave up. */
    public static final class ParseException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        /** Offset (in characters, from 0) at which the problem was found. */
        private final int offset;
        /** The problem, without the offset. */
        private final String problem;

        /**
         * A parse failure whose message is "invalid JSON at character {@code offset}: {@code problem}".
         *
         * @param problem what is wrong, e.g. "expected ':'"
         * @param offset  where, in characters from 0
         */
        public ParseException(String problem, int offset) {
            super("invalid JSON at character " + offset + ": " + problem);
            this.offset = offset;
            this.problem = problem;
        }

        /** Offset (in characters, from 0) at which the problem was found. */
        public int offset() {
            return offset;
        }

        /** The problem, without the offset. */
        public String problem() {
            return problem;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Parsing

    /**
     * Parses one JSON value from {@code text}, allowing only whitespace around it.
     *
     * @throws ParseException if the text is not exactly one valid JSON value
     */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.skipWhitespace();
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) {
            throw new ParseException("unexpected " + p.describe(p.pos) + " after the JSON value", p.pos);
        }
        return value;
    }

    /**
     * Decodes {@code utf8} strictly as UTF-8 (malformed sequences are an error, not replaced) and
     * parses it as with {@link #parse(String)}.
     *
     * @throws ParseException if the bytes are not valid UTF-8 (offset in bytes) or not valid JSON
     *     (offset in characters)
     */
    public static Object parseUtf8(byte[] utf8) {
        return parse(decodeUtf8(utf8));
    }

    /** Parses {@code text} and requires the top-level value to be an object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) {
            throw new ParseException("expected a JSON object at the top level, found " + typeName(v), 0);
        }
        return (Map<String, Object>) v;
    }

    /** Strict UTF-8 decoding; a {@link ParseException} with the byte offset on malformed input. */
    static String decodeUtf8(byte[] utf8) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(utf8);
        CharBuffer out = CharBuffer.allocate(utf8.length);
        var result = dec.decode(in, out, true);
        if (result.isError()) {
            throw new ParseException("malformed UTF-8 at byte " + in.position(), in.position());
        }
        result = dec.flush(out);
        if (result.isError()) {
            throw new ParseException("malformed UTF-8 at byte " + in.position(), in.position());
        }
        out.flip();
        return out.toString();
    }

    /** A short name of the JSON type of a parsed value, for error messages. */
    public static String typeName(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Boolean) return "a boolean";
        if (v instanceof Long) return "an integer";
        if (v instanceof Number) return "a number";
        return v.getClass().getSimpleName();
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        String describe(int at) {
            if (at >= s.length()) return "end of input";
            char c = s.charAt(at);
            if (c < 0x20 || c == 0x7f) return String.format("control character U+%04X", (int) c);
            return "'" + c + "'";
        }

        ParseException error(String problem) {
            return new ParseException(problem, pos);
        }

        void skipWhitespace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
                else break;
            }
        }

        Object value(int depth) {
            if (pos >= s.length()) throw error("expected a value, found end of input");
            char c = s.charAt(pos);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) yield number();
                    throw error("expected a value, found " + describe(pos));
                }
            };
        }

        Object literal(String word, Object value) {
            if (!s.startsWith(word, pos)) throw error("expected a value, found " + describe(pos));
            pos += word.length();
            return value;
        }

        Map<String, Object> object(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
            pos++; // '{'
            Map<String, Object> map = new LinkedHashMap<>();
            skipWhitespace();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return map;
            }
            while (true) {
                skipWhitespace();
                if (pos >= s.length() || s.charAt(pos) != '"') {
                    throw error("expected a string key, found " + describe(pos));
                }
                int keyAt = pos;
                String key = string();
                if (map.containsKey(key)) {
                    throw new ParseException("duplicate key \"" + key + "\"", keyAt);
                }
                skipWhitespace();
                if (pos >= s.length() || s.charAt(pos) != ':') {
                    throw error("expected ':' after key \"" + key + "\", found " + describe(pos));
                }
                pos++;
                skipWhitespace();
                map.put(key, value(depth));
                skipWhitespace();
                if (pos >= s.length()) throw error("unterminated object: expected ',' or '}', found end of input");
                char c = s.charAt(pos);
                if (c == ',') {
                    pos++;
                } else if (c == '}') {
                    pos++;
                    return map;
                } else {
                    throw error("expected ',' or '}' in object, found " + describe(pos));
                }
            }
        }

        List<Object> array(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
            pos++; // '['
            List<Object> list = new ArrayList<>();
            skipWhitespace();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipWhitespace();
                list.add(value(depth));
                skipWhitespace();
                if (pos >= s.length()) throw error("unterminated array: expected ',' or ']', found end of input");
                char c = s.charAt(pos);
                if (c == ',') {
                    pos++;
                } else if (c == ']') {
                    pos++;
                    return list;
                } else {
                    throw error("expected ',' or ']' in array, found " + describe(pos));
                }
            }
        }

        String string() {
            int start = pos;
            pos++; // opening quote
            StringBuilder sb = null;
            int runStart = pos;
            while (true) {
                if (pos >= s.length()) throw new ParseException("unterminated string", start);
                char c = s.charAt(pos);
                if (c == '"') {
                    String result = sb == null ? s.substring(runStart, pos) : sb.append(s, runStart, pos).toString();
                    pos++;
                    return result;
                }
                if (c < 0x20) {
                    throw error(String.format("control character U+%04X in string (must be escaped)", (int) c));
                }
                if (Character.isHighSurrogate(c)) {
                    if (pos + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(pos + 1))) {
                        throw error("unpaired surrogate in string");
                    }
                    pos += 2;
                    continue;
                }
                if (Character.isLowSurrogate(c)) throw error("unpaired surrogate in string");
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (sb == null) sb = new StringBuilder();
                sb.append(s, runStart, pos);
                int escAt = pos;
                pos++;
                if (pos >= s.length()) throw new ParseException("unterminated string", start);
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        char u = hex4(escAt);
                        if (Character.isHighSurrogate(u)) {
                            if (!s.startsWith("\\u", pos)) {
                                throw new ParseException("unpaired surrogate \\u" + hex(u) + " in string", escAt);
                            }
                            int lowAt = pos;
                            pos += 2;
                            char low = hex4(lowAt);
                            if (!Character.isLowSurrogate(low)) {
                                throw new ParseException("high surrogate \\u" + hex(u)
                                        + " followed by \\u" + hex(low) + ", not a low surrogate", lowAt);
                            }
                            sb.append(u).append(low);
                        } else if (Character.isLowSurrogate(u)) {
                            throw new ParseException("unpaired surrogate \\u" + hex(u) + " in string", escAt);
                        } else {
                            sb.append(u);
                        }
                    }
                    default -> throw new ParseException("invalid escape '\\" + (e < 0x20 ? "?" : e) + "' in string", escAt);
                }
                runStart = pos;
            }
        }

        /** Reads 4 hex digits at {@code pos}; {@code escAt} is the backslash, for messages. */
        char hex4(int escAt) {
            if (pos + 4 > s.length()) throw new ParseException("truncated \\u escape", escAt);
            int v = 0;
            for (int i = 0; i < 4; i++) {
                char h = s.charAt(pos + i);
                int d = h >= '0' && h <= '9' ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) {
                    throw new ParseException("invalid \\u escape (4 hex digits required)", escAt);
                }
                v = v * 16 + d;
            }
            pos += 4;
            return (char) v;
        }

        static String hex(char c) {
            return String.format("%04X", (int) c);
        }

        Object number() {
            int start = pos;
            boolean integral = true;
            if (s.charAt(pos) == '-') pos++;
            if (pos >= s.length()) throw error("expected a digit after '-', found end of input");
            char c = s.charAt(pos);
            if (c == '0') {
                pos++;
                if (pos < s.length() && isDigit(s.charAt(pos))) {
                    throw error("leading zeros are not allowed in numbers");
                }
            } else if (isDigit(c)) {
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            } else {
                throw error("expected a digit after '-', found " + describe(pos));
            }
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                if (pos >= s.length() || !isDigit(s.charAt(pos))) {
                    throw error("expected a digit after '.', found " + describe(pos));
                }
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
                if (pos >= s.length() || !isDigit(s.charAt(pos))) {
                    throw error("expected a digit in the exponent, found " + describe(pos));
                }
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            }
            String text = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException e) {
                    throw new ParseException("integer " + abbreviate(text) + " is out of the 64-bit range", start);
                }
            }
            double d = Double.parseDouble(text);
            if (Double.isInfinite(d)) {
                throw new ParseException("number " + abbreviate(text) + " is out of the double range", start);
            }
            return d;
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        static String abbreviate(String t) {
            return t.length() <= 40 ? t : t.substring(0, 37) + "...";
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Writing

    /**
     * Writes {@code value} as compact JSON. Accepted values: {@code null}, {@link Boolean},
     * {@link String}, {@link Character}, integral {@link Number}s ({@code Byte}, {@code Short},
     * {@code Integer}, {@code Long}, {@link BigInteger}), finite {@code Float}/{@code Double} and
     * {@link BigDecimal}, {@link Map} with {@code String} keys (in iteration order), {@link Iterable},
     * {@code Object[]}, {@code int[]}, {@code long[]}, {@code float[]} and {@code double[]}.
     *
     * @throws IllegalArgumentException for NaN or infinite numbers, non-string keys, strings with
     *     unpaired surrogates, nesting deeper than {@value #MAX_DEPTH}, or other types
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb);
        return sb.toString();
    }

    /** Appends {@code value} as compact JSON to {@code out}; see {@link #write(Object)}. */
    public static void write(Object value, StringBuilder out) {
        write(value, out, 0);
    }

    /** Appends {@code s} as a quoted, escaped JSON string. */
    public static void writeString(String s, StringBuilder out) {
        out.append('"');
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isHighSurrogate(c)) {
                        if (i + 1 >= n || !Character.isLowSurrogate(s.charAt(i + 1))) {
                            throw new IllegalArgumentException("string has an unpaired surrogate at index " + i
                                    + "; it cannot be written as UTF-8 JSON");
                        }
                        out.append(c).append(s.charAt(++i));
                    } else if (Character.isLowSurrogate(c)) {
                        throw new IllegalArgumentException("string has an unpaired surrogate at index " + i
                                + "; it cannot be written as UTF-8 JSON");
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static void write(Object v, StringBuilder out, int depth) {
        switch (v) {
            case null -> out.append("null");
            case String s -> writeString(s, out);
            case Character c -> writeString(String.valueOf(c), out);
            case Boolean b -> out.append(b.booleanValue());
            case Long l -> out.append(l.longValue());
            case Integer i -> out.append(i.intValue());
            case Short sh -> out.append(sh.shortValue());
            case Byte by -> out.append(by.byteValue());
            case BigInteger bi -> out.append(bi);
            case Double d -> writeDouble(d, out);
            case Float f -> writeFloat(f, out);
            case BigDecimal bd -> out.append(bd);
            case Map<?, ?> m -> {
                checkDepth(depth);
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException("JSON object keys must be strings, got "
                                + (e.getKey() == null ? "null" : e.getKey().getClass().getName()));
                    }
                    if (!first) out.append(',');
                    first = false;
                    writeString(key, out);
                    out.append(':');
                    write(e.getValue(), out, depth + 1);
                }
                out.append('}');
            }
            case Iterable<?> it -> {
                checkDepth(depth);
                out.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) out.append(',');
                    first = false;
                    write(o, out, depth + 1);
                }
                out.append(']');
            }
            case Object[] a -> write(java.util.Arrays.asList(a), out, depth);
            case int[] a -> {
                out.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) out.append(',');
                    out.append(a[i]);
                }
                out.append(']');
            }
            case long[] a -> {
                out.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) out.append(',');
                    out.append(a[i]);
                }
                out.append(']');
            }
            case float[] a -> {
                out.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) out.append(',');
                    writeFloat(a[i], out);
                }
                out.append(']');
            }
            case double[] a -> {
                out.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) out.append(',');
                    writeDouble(a[i], out);
                }
                out.append(']');
            }
            default -> throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    private static void checkDepth(int depth) {
        if (depth >= MAX_DEPTH) {
            throw new IllegalArgumentException("value nests deeper than " + MAX_DEPTH + " levels");
        }
    }

    private static void writeDouble(double d, StringBuilder out) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("JSON has no representation for " + d);
        }
        out.append(d); // shortest repr that round-trips, e.g. 0.1, 1.0E-5 (valid JSON)
    }

    private static void writeFloat(float f, StringBuilder out) {
        if (!Float.isFinite(f)) {
            throw new IllegalArgumentException("JSON has no representation for " + f);
        }
        out.append(f);
    }
}
