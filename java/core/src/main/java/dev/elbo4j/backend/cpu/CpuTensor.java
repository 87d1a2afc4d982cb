package dev.elbo4j.backend.cpu;

import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/** A CPU tensor: a window {@code [off, off + size)} of one Java array. Exactly one array is set. */
final class CpuTensor extends Tensor {
    final float[] f;
    final double[] d;
    final byte[] b;
    final int[] i;
    final int off;

    private CpuTensor(DType dtype, Shape shape, float[] f, double[] d, byte[] b, int[] i, int off) {
        super(dtype, shape);
        this.f = f;
        this.d = d;
        this.b = b;
        this.i = i;
        this.off = off;
    }

    static CpuTensor of(float[] a, Shape s) {
        return new CpuTensor(DType.F32, s, a, null, null, null, 0);
    }

    static CpuTensor of(double[] a, Shape s) {
        return new CpuTensor(DType.F64, s, null, a, null, null, 0);
    }

    static CpuTensor of(byte[] a, Shape s) {
        return new CpuTensor(DType.U8, s, null, null, a, null, 0);
    }

    static CpuTensor of(int[] a, Shape s) {
        return new CpuTensor(DType.I32, s, null, null, null, a, 0);
    }

    static CpuTensor zeros(DType t, Shape s) {
        int n = s.size();
        return switch (t) {
            case F32 -> of(new float[n], s);
            case F64 -> of(new double[n], s);
            case U8 -> of(new byte[n], s);
            case I32 -> of(new int[n], s);
        };
    }

    @Override
    public Tensor view(int offset, Shape s) {
        checkView(offset, s);
        return new CpuTensor(dtype(), s, f, d, b, i, off + offset);
    }

    boolean isF64() {
        return d != null;
    }

    /** Element k as a double, whatever the dtype (slow path for tests and small reductions). */
    double get(int k) {
        return switch (dtype()) {
            case F32 -> f[off + k];
            case F64 -> d[off + k];
            case U8 -> b[off + k] & 0xff;
            case I32 -> i[off + k];
        };
    }

    void set(int k, double v) {
        switch (dtype()) {
            case F32 -> f[off + k] = (float) v;
            case F64 -> d[off + k] = v;
            case U8 -> b[off + k] = (byte) v;
            case I32 -> i[off + k] = (int) v;
        }
    }
}
