package dev.elbo4j.interop;

import java.util.ArrayList;
import java.util.List;

/**
 * Host-side validation of an interop call, before anything is enqueued: every dimension positive
 * and the row count within the kernels' 32-bit parameters; every required buffer non-null,
 * 4-byte aligned (float32) and, where its size is known, large enough; no output overlapping any
 * other argument (the extents are the bytes the call touches, known from the shapes). Messages
 * name the argument, the expected shape and what was found.
 */
final class InteropChecks {
    /** One argument: its name, buffer (null when absent), elements, shape for messages, and whether the kernel writes it. */
    record Arg(String name, DeviceBuffer buffer, long elements, String shape, boolean output, boolean optional) {
    }

    private final String call;
    private final List<Arg> args = new ArrayList<>();

    InteropChecks(String call) {
        this.call = call;
    }

    /** Checks {@code value >= 1}. */
    InteropChecks positive(String name, long value) {
        if (value < 1) throw new IllegalArgumentException(call + ": " + name + " must be >= 1, got " + value);
        return this;
    }

    /** Checks {@code value} fits the kernels' {@code int} parameters. */
    InteropChecks fitsInt(String what, long value) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(call + ": " + what + " = " + value + " exceeds 2^31 - 1");
        }
        return this;
    }

    InteropChecks input(String name, DeviceBuffer b, long elements, String shape) {
        args.add(new Arg(name, b, elements, shape, false, false));
        return this;
    }

    InteropChecks output(String name, DeviceBuffer b, long elements, String shape) {
        args.add(new Arg(name, b, elements, shape, true, false));
        return this;
    }

    /** An output the caller may leave out (null, or a buffer with address 0). */
    InteropChecks optionalOutput(String name, DeviceBuffer b, long elements, String shape) {
        args.add(new Arg(name, b, elements, shape, true, true));
        return this;
    }

    static boolean absent(DeviceBuffer b) {
        return b == null || b.address() == 0;
    }

    /** Runs the buffer checks; throws IllegalArgumentException at the first problem. */
    void check() {
        for (Arg a : args) {
            if (absent(a.buffer())) {
                if (a.optional()) continue;
                throw new IllegalArgumentException(call + ": " + a.name() + " is a null device pointer (needs "
                        + a.shape() + " float32)");
            }
            long addr = a.buffer().address();
            if ((addr & 3) != 0) {
                throw new IllegalArgumentException(call + ": " + a.name() + " at 0x" + Long.toHexString(addr)
                        + " is not 4-byte aligned (float32 needs 4; 16 lets the kernels use vector loads)");
            }
            long need = 4 * a.elements();
            if (a.buffer().sized() && a.buffer().bytes() < need) {
                throw new IllegalArgumentException(call + ": " + a.name() + " holds " + a.buffer().bytes()
                        + " bytes, needs " + need + " (" + a.shape() + " float32)");
            }
            if (Long.compareUnsigned(addr + need, addr) < 0) {
                throw new IllegalArgumentException(call + ": " + a.name() + " wraps around the address space");
            }
        }
        for (int i = 0; i < args.size(); i++) {
            for (int j = i + 1; j < args.size(); j++) {
                Arg a = args.get(i), b = args.get(j);
                if ((a.output() || b.output()) && !absent(a.buffer()) && !absent(b.buffer()) && overlap(a, b)) {
                    Arg out = a.output() ? a : b, other = out == a ? b : a;
                    throw new IllegalArgumentException(call + ": output " + out.name() + " [0x"
                            + Long.toHexString(out.buffer().address()) + ", +" + 4 * out.elements() + ") overlaps "
                            + other.name() + " [0x" + Long.toHexString(other.buffer().address()) + ", +"
                            + 4 * other.elements() + ")");
                }
            }
        }
    }

    private static boolean overlap(Arg a, Arg b) {
        long a0 = a.buffer().address(), a1 = a0 + 4 * a.elements();
        long b0 = b.buffer().address(), b1 = b0 + 4 * b.elements();
        return Long.compareUnsigned(a0, b1) < 0 && Long.compareUnsigned(b0, a1) < 0;
    }
}
