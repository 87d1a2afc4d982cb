package dev.elbo4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads an exact number of bytes that a file's header announced, from a stream whose length is
 * not known up front (gzip, a zip entry): the buffer grows only as data actually arrives, so a
 * small hostile file announcing gigabytes cannot make the reader allocate them.
 */
final class BoundedInput {
    private BoundedInput() {
    }

    /**
     * Exactly {@code count} bytes of {@code in}, or {@code null} if the stream ends first; the
     * bytes read so far are then in {@code got[0]}.
     */
    static byte[] readExactly(InputStream in, long count, long[] got) throws IOException {
        if (count > NumericArray.MAX_ELEMENTS) throw new IllegalArgumentException("too many bytes: " + count);
        byte[] data = new byte[(int) Math.min(count, 1 << 20)];
        int filled = 0;
        while (filled < count) {
            if (filled == data.length) data = Arrays.copyOf(data, (int) Math.min(count, (long) data.length * 2));
            int r = in.read(data, filled, data.length - filled);
            if (r < 0) {
                got[0] = filled;
                return null;
            }
            filled += r;
        }
        got[0] = filled;
        return data;
    }
}
