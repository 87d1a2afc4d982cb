package dev.elbo4j.backend.cuda.jcuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Converts between the {@code long} handles of elbo4j's CUDA ports and JCuda's handle objects
 * ({@link jcuda.driver.CUstream}, {@link jcuda.driver.CUdeviceptr}, {@link jcuda.driver.CUmodule},
 * ...). JCuda keeps the native value in the private field {@code NativePointerObject.nativePointer}
 * (and a {@link Pointer} adds {@code byteOffset}); JCuda offers no public accessor, so this class
 * reads and writes the fields through a private lookup, which works because JCuda and elbo4j both
 * live on the class path (the unnamed module).
 */
public final class JCudaHandles {
    private static final VarHandle NATIVE_POINTER;
    private static final VarHandle BYTE_OFFSET;

    static {
        try {
            MethodHandles.Lookup npo = MethodHandles.privateLookupIn(NativePointerObject.class, MethodHandles.lookup());
            NATIVE_POINTER = npo.findVarHandle(NativePointerObject.class, "nativePointer", long.class);
            MethodHandles.Lookup ptr = MethodHandles.privateLookupIn(Pointer.class, MethodHandles.lookup());
            BYTE_OFFSET = ptr.findVarHandle(Pointer.class, "byteOffset", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError("this JCuda version has no NativePointerObject.nativePointer / "
                    + "Pointer.byteOffset field: " + e);
        }
    }

    private JCudaHandles() {
    }

    /**
     * The handle's value as the C API sees it: the native pointer, plus the byte offset for a
     * {@link Pointer} (a {@code CUdeviceptr.withByteOffset(n)} is its base + n). 0 for null.
     */
    public static long address(NativePointerObject handle) {
        if (handle == null) return 0;
        long base = (long) NATIVE_POINTER.get(handle);
        return handle instanceof Pointer p ? base + (long) BYTE_OFFSET.get(p) : base;
    }

    /**
     * Sets {@code empty}'s native value to {@code value} (a freshly constructed handle object) and returns it.
     *
     * @param <T> the JCuda handle class
     */
    public static <T extends NativePointerObject> T wrap(T empty, long value) {
        NATIVE_POINTER.set(empty, value);
        return empty;
    }
}
