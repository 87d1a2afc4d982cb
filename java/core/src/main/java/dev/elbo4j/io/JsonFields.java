package dev.elbo4j.io;

import java.util.List;
import java.util.Map;

/**
 * Typed access to the fields of a parsed JSON object ({@link Json#parseObject}); every failure is
 * an {@link IllegalArgumentException} naming the key, for readers that add the file's name.
 */
public final class JsonFields {
    private JsonFields() {
    }

    private static Object get(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) throw new IllegalArgumentException("'" + key + "' is missing");
        return v;
    }

    /** Whether {@code key} is present with a non-null value. */
    public static boolean has(Map<String, Object> m, String key) {
        return m.get(key) != null;
    }

    /**
     * The string at {@code key}.
     *
     * @throws IllegalArgumentException naming the key when it is missing or not a string
     */
    public static String string(Map<String, Object> m, String key) {
        if (get(m, key) instanceof String s) return s;
        throw new IllegalArgumentException("'" + key + "' must be a string");
    }

    /**
     * The number at {@code key}, as a double.
     *
     * @throws IllegalArgumentException naming the key when it is missing or not a number
     */
    public static double number(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException("'" + key + "' must be a number");
    }

    /**
     * The boolean at {@code key}.
     *
     * @throws IllegalArgumentException naming the key when it is missing or not true or false
     */
    public static boolean bool(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Boolean b) return b;
        throw new IllegalArgumentException("'" + key + "' must be true or false");
    }

    /**
     * The integer at {@code key} (a JSON number without fraction or exponent).
     *
     * @throws IllegalArgumentException naming the key when it is missing or not an integer
     */
    public static long longValue(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Long n) return n;
        throw new IllegalArgumentException("'" + key + "' must be an integer");
    }

    /**
     * The integer at {@code key}, which must fit an {@code int}.
     *
     * @throws IllegalArgumentException naming the key when it is missing, not an integer, or out of range
     */
    public static int integer(Map<String, Object> m, String key) {
        long v = longValue(m, key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + key + "' is out of range");
        return (int) v;
    }

    /**
     * The array of at most 64 non-negative {@code int}s at {@code key} (e.g. a shape or layer sizes).
     *
     * @throws IllegalArgumentException naming the key when it is missing, not an array, too long, or holds
     *     anything else
     */
    public static int[] ints(Map<String, Object> m, String key) {
        if (!(get(m, key) instanceof List<?> l)) throw new IllegalArgumentException("'" + key + "' must be an array");
        if (l.size() > 64) throw new IllegalArgumentException("'" + key + "' has too many entries");
        int[] r = new int[l.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(l.get(i) instanceof Long n) || n < 0 || n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("'" + key + "' must hold non-negative integers");
            }
            r[i] = (int) (long) n;
        }
        return r;
    }
}
