package dev.elbo4j.backend;

import java.util.Locale;

/**
 * Checks an allocation on the Java heap against what the JVM may still use, before it is made, so
 * that a size that does not fit ends in one line naming what needed it and how much, not in an
 * {@link OutOfMemoryError} thrown from wherever the heap happened to run out.
 *
 * <p>"May still use" is the heap's maximum ({@code -Xmx}) less what is in use now. Since garbage
 * counts as in use until it is collected, a request that seems not to fit triggers one full
 * collection and is measured again before it is refused.
 */
public final class HostMemory {
    private static final double GB = 1e9;

    private HostMemory() {
    }

    /** Thrown when an allocation would not fit the heap; the message names what and how much. */
    public static final class ShortfallException extends IllegalStateException {
        /** Bytes the request needs. */
        private final long needed;
        /** Bytes the JVM could still give when it was refused. */
        private final long available;

        ShortfallException(String message, long needed, long available) {
            super(message);
            this.needed = needed;
            this.available = available;
        }

        /** Bytes the request needs. */
        public long needed() {
            return needed;
        }

        /** Bytes the JVM could still give when it was refused. */
        public long available() {
            return available;
        }

        /**
         * A heap size that would hold the request with some room: the heap in use plus the request,
         * plus a quarter, rounded up to whole gigabytes (for an {@code -Xmx} suggestion).
         */
        public long suggestedMaxHeap() {
            Runtime rt = Runtime.getRuntime();
            long used = rt.totalMemory() - rt.freeMemory();
            double want = (used + (double) needed) * 1.25;
            return (long) Math.ceil(want / (1L << 30)) * (1L << 30);
        }
    }

    /** Bytes the JVM may still allocate on the heap now. */
    public static long available() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /**
     * Returns normally if {@code bytes} more fit the heap; otherwise throws a
     * {@link ShortfallException} "WHAT needs 12.0 GB, the JVM may use 6.0 GB more (maximum heap 8.0 GB)".
     */
    public static void require(long bytes, String what) {
        if (bytes < 0) throw new ShortfallException(what + " needs more than 2^63 bytes", Long.MAX_VALUE, available());
        if (bytes <= available()) return;
        System.gc(); // garbage counts as used until collected; only on this failure path
        long avail = available();
        if (bytes <= avail) return;
        throw new ShortfallException(String.format(Locale.ROOT, "%s needs %s, the JVM may use %s more (maximum heap %s)",
                what, format(bytes), format(Math.max(0, avail)), format(Runtime.getRuntime().maxMemory())), bytes, avail);
    }

    /** Element count times element size, or {@code Long.MAX_VALUE} on overflow. */
    public static long bytes(long count, int elementBytes) {
        try {
            return Math.multiplyExact(count, (long) elementBytes);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** "12.0 GB", "350 MB", "800 kB" (powers of 1000). */
    public static String format(long bytes) {
        if (bytes >= GB) return String.format(Locale.ROOT, "%.1f GB", bytes / GB);
        if (bytes >= 1e6) return String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
        return String.format(Locale.ROOT, "%.0f kB", Math.max(1, bytes / 1e3));
    }
}
