package dev.elbo4j.tensor;

/** Element types a backend stores. F64 exists for the CPU reference (gradient checks in double). */
public enum DType {
    /** 32-bit IEEE float: parameters, activations and data on every backend. */
    F32(4),
    /** 64-bit IEEE double: the CPU reference's gradient checks, and loss accumulators. */
    F64(8),
    /** 32-bit signed integer: indices (permutations, labels) and counters. */
    I32(4),
    /** Unsigned byte: raw 0..255 pixels of a data set kept on the device, and ReLU bit masks. */
    U8(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** The name safetensors uses for this type. */
    public String safetensorsName() {
        return switch (this) {
            case F32 -> "F32";
            case F64 -> "F64";
            case I32 -> "I32";
            case U8 -> "U8";
        };
    }
}
