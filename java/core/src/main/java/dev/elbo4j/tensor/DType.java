package dev.elbo4j.tensor;

/** Element types a backend stores. F64 exists for the CPU reference (gradient checks in double). */
public enum DType {
    F32(4), F64(8), I32(4), U8(1);

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
