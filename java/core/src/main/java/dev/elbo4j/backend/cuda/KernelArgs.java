package dev.elbo4j.backend.cuda;

import java.util.Arrays;

/**
 * The argument list of one kernel launch: typed values in declaration order, packed by the
 * binding into the {@code void** kernelParams} array of {@code cuLaunchKernel}. One instance is
 * reused for every launch of a backend ({@link #clear()}, then the setters), so a launch allocates
 * nothing; {@code cuLaunchKernel} copies the values before it returns.
 *
 * <p>Kinds map onto C parameter types: {@link Kind#I32} {@code int} / {@code unsigned int},
 * {@link Kind#I64} {@code long long} / {@code unsigned long long}, {@link Kind#F32} {@code float},
 * {@link Kind#F64} {@code double}, {@link Kind#PTR} any device pointer (a {@code CUdeviceptr}, 0 for
 * null). Not thread-safe.
 */
public final class KernelArgs {

    /** A parameter's C type class and its size in bytes. */
    public enum Kind {
        /** {@code int} or {@code unsigned int}, 4 bytes. */
        I32(4),
        /** {@code long long} or {@code unsigned long long}, 8 bytes. */
        I64(8),
        /** {@code float}, 4 bytes. */
        F32(4),
        /** {@code double}, 8 bytes. */
        F64(8),
        /** A device pointer ({@code CUdeviceptr}), 8 bytes. */
        PTR(8);

        private final int bytes;

        Kind(int bytes) {
            this.bytes = bytes;
        }

        /** The parameter's size in bytes, as {@code cuLaunchKernel} reads it. */
        public int bytes() {
            return bytes;
        }
    }

    /** An empty list; the setters append, {@link #clear()} empties it again. */
    public KernelArgs() {
    }

    /** More parameters than any elbo4j kernel has (the widest, {@link Kernels#STEP_GUARD}, has 19). */
    public static final int MAX_ARGS = 24;

    private final Kind[] kinds = new Kind[MAX_ARGS];
    private final long[] bits = new long[MAX_ARGS];
    private int count;

    /** Empties the list for the next launch. */
    public KernelArgs clear() {
        count = 0;
        return this;
    }

    private KernelArgs add(Kind kind, long value) {
        if (count == MAX_ARGS) {
            throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        }
        kinds[count] = kind;
        bits[count] = value;
        count++;
        return this;
    }

    /** An {@code int} (or the bits of an {@code unsigned int}). */
    public KernelArgs i32(int v) {
        return add(Kind.I32, v & 0xffffffffL);
    }

    /** A {@code long long} (or the bits of an {@code unsigned long long}). */
    public KernelArgs i64(long v) {
        return add(Kind.I64, v);
    }

    /** A {@code float}. */
    public KernelArgs f32(float v) {
        return add(Kind.F32, Float.floatToRawIntBits(v) & 0xffffffffL);
    }

    /** A {@code double}. */
    public KernelArgs f64(double v) {
        return add(Kind.F64, Double.doubleToRawLongBits(v));
    }

    /** A device pointer; 0 is the null pointer. */
    public KernelArgs ptr(long address) {
        return add(Kind.PTR, address);
    }

    /** The number of arguments added since the last {@link #clear()}. */
    public int count() {
        return count;
    }

    /**
     * The kind of argument {@code i} (0-based, in the order added).
     *
     * @throws IndexOutOfBoundsException when {@code i} is not in [0, count())
     */
    public Kind kind(int i) {
        checkIndex(i);
        return kinds[i];
    }

    /**
     * The value's bits, in the low {@link Kind#bytes()} bytes: the int or float bits for 4-byte
     * kinds (zero-extended), the long or double bits for 8-byte kinds.
     */
    public long bits(int i) {
        checkIndex(i);
        return bits[i];
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("argument " + i + " of " + count);
    }

    /** The kinds set so far, for messages and tests. */
    public Kind[] kinds() {
        return Arrays.copyOf(kinds, count);
    }

    /** For messages: the arguments in order, each with its kind. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < count; i++) {
            if (i > 0) b.append(", ");
            b.append(kinds[i]).append(' ');
            switch (kinds[i]) {
                case I32 -> b.append((int) bits[i]);
                case I64 -> b.append(bits[i]);
                case F32 -> b.append(Float.intBitsToFloat((int) bits[i]));
                case F64 -> b.append(Double.longBitsToDouble(bits[i]));
                case PTR -> b.append("0x").append(Long.toHexString(bits[i]));
            }
        }
        return b.append(')').toString();
    }
}
