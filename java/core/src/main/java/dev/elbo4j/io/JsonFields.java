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

    public static boolean has(Map<String, Object> m, String key) {
        return m.get(key) != null;
    }

    public static String string(Map<String, Object> m, String key) {
        if (get(m, key) instanceof String s) return s;
        throw new IllegalArgumentException("'" + key + "' must be a string");
    }

    public static double number(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException("'" + key + "' must be a number");
    }

    public static boolean bool(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Boolean b) return b;
        throw new IllegalArgumentException("'" + key + "' must be true or false");
    }

    public static long longValue(Map<String, Object> m, String key) {
        if (get(m, key) instanceof Long n) return n;
        throw new IllegalArgumentException("'" + key + "' must be an integer");
    }

    public static int integer(Map<String, Object> m, String key) {
        long v = longValue(m, key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + key + "' is out of range");
        return (int) v;
    }

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
