package dev.elbo4j.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link F32Math} on the Vector API. Loaded by name only when the JVM has the incubating module,
 * so the rest of the backend never links it.
 *
 * <p>The transcendentals are written here from IEEE add, multiply and divide, not taken from
 * {@code VectorOperators.EXP/LOG1P}: those run the JDK's SIMD library once compiled and a
 * different scalar fallback before, so their results would depend on JIT warm-up and break
 * bit-exact resume. Lane sums of a row are added in lane order once per row, a fixed order for a
 * given vector width.
 */
final class VectorF32Math implements F32Math {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    /** One 4-wide kernel row of a conv window, as floats and widened to doubles. */
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    private static final FloatVector ZERO = FloatVector.broadcast(S, 0f);
    private final ScalarF32Math tail = new ScalarF32Math();
    private final ThreadLocal<float[]> lanes = ThreadLocal.withInitial(() -> new float[S.length()]);

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize();
    }

    /**
     * exp(x) for x <= 0 (Cephes expf): x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for
     * e^r, and 2^n put into the exponent bits. Inputs below -87 are clamped (e^-87 ~ 1.6e-38).
     * Maximum relative error about 1.2e-7 against exp in double.
     */
    static FloatVector expNonPositive(FloatVector x) {
        x = x.max(-87f);
        // n = round(x / ln2), rounding half away from zero; truncation of t - 0.5 does that for t <= 0.
        IntVector n = (IntVector) x.mul(1.44269504088896341f).sub(0.5f).convert(VectorOperators.F2I, 0);
        FloatVector fn = (FloatVector) n.convert(VectorOperators.I2F, 0);
        FloatVector r = x.sub(fn.mul(0.693359375f)).sub(fn.mul(-2.12194440e-4f));
        FloatVector p = r.mul(1.9875691500e-4f).add(1.3981999507e-3f);
        p = p.mul(r).add(8.3334519073e-3f);
        p = p.mul(r).add(4.1665795894e-2f);
        p = p.mul(r).add(1.6666665459e-1f);
        p = p.mul(r).add(5.0000001201e-1f);
        p = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector scale = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    /**
     * log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], by its odd series to
     * s^15 (truncation below 5e-10 relative). Exact for small e, with no 1 + e rounding.
     */
    static FloatVector log1pUnit(FloatVector e) {
        FloatVector s = e.div(e.add(2f));
        FloatVector s2 = s.mul(s);
        FloatVector q = s2.mul(1f / 15).add(1f / 13);
        q = q.mul(s2).add(1f / 11);
        q = q.mul(s2).add(1f / 9);
        q = q.mul(s2).add(1f / 7);
        q = q.mul(s2).add(1f / 5);
        q = q.mul(s2).add(1f / 3);
        q = q.mul(s2).add(1f);
        return s.mul(q).mul(2f);
    }

    @Override
    public double bernoulliRow(float[] l, int lo, float[] x, int xo, float[] g, int go, int n, float scale) {
        FloatVector acc = FloatVector.zero(S);
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector lv = FloatVector.fromArray(S, l, lo + c), xv = FloatVector.fromArray(S, x, xo + c);
            FloatVector e = expNonPositive(lv.abs().neg());
            acc = acc.add(lv.max(0f).sub(xv.mul(lv)).add(log1pUnit(e)));
            if (g != null) {
                FloatVector inv = ONE.div(e.add(1f));
                VectorMask<Float> negative = lv.compare(VectorOperators.LT, 0f);
                inv.blend(e.mul(inv), negative).sub(xv).mul(scale).intoArray(g, go + c);
            }
        }
        // Lanes summed in index order: reduceLanes leaves the order to the implementation.
        float[] a = lanes.get();
        acc.intoArray(a, 0);
        double loss = 0;
        for (float v : a) loss += v;
        return loss + tail.bernoulliRow(l, lo + c, x, xo + c, g, g == null ? 0 : go + c, n - c, scale);
    }

    @Override
    public void im2colInside4(float[] x, int src, int hw, int w, int channels, int kh, float[] cols, int dst) {
        for (int ch = 0; ch < channels; ch++) {
            for (int i = 0, at = src + ch * hw; i < kh; i++, at += w, dst += 4) {
                FloatVector.fromArray(F4, x, at).intoArray(cols, dst);
            }
        }
    }

    @Override
    public void col2imInside4(float[] cols, int q, int channels, int kh, int iLo, int iHi, int hw, int w, double[] acc, int a) {
        // Lane j adds cols[.. + j] to acc[.. + j] in double: the scalar additions, four at a time.
        for (int ch = 0; ch < channels; ch++) {
            for (int i = iLo; i < iHi; i++) {
                int to = a + ch * hw + i * w, from = q + (ch * kh + i) * 4;
                DoubleVector v = (DoubleVector) FloatVector.fromArray(F4, cols, from).convertShape(VectorOperators.F2D, D4, 0);
                DoubleVector.fromArray(D4, acc, to).add(v).intoArray(acc, to);
            }
        }
    }

    @Override
    public void reluDerivativeMul(float[] y, int yo, float[] g, int go, int n) {
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector d = ZERO.blend(ONE, FloatVector.fromArray(S, y, yo + c).compare(VectorOperators.GT, 0f));
            FloatVector.fromArray(S, g, go + c).mul(d).intoArray(g, go + c);
        }
        tail.reluDerivativeMul(y, yo + c, g, go + c, n - c);
    }

    @Override
    public void reluBackward(float[] y, int yo, float[] g, int go, int n) {
        // A blend, not a branch: ReLU outputs are zero about half the time, in no pattern.
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector gv = FloatVector.fromArray(S, g, go + c);
            VectorMask<Float> off = FloatVector.fromArray(S, y, yo + c).compare(VectorOperators.GT, 0f).not();
            gv.blend(0f, off).intoArray(g, go + c);
        }
        tail.reluBackward(y, yo + c, g, go + c, n - c);
    }

    @Override
    public void adam(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int from, int to,
                     float b1, float c1, float b2, float c2, float ss, float ib, float eps, float dc) {
        // The scalar loop's operations, lane by lane (no FMA contraction: the same roundings).
        int k = from;
        for (int bound = from + S.loopBound(to - from); k < bound; k += S.length()) {
            FloatVector gk = FloatVector.fromArray(S, g, go + k);
            FloatVector mk = FloatVector.fromArray(S, m, mo + k).mul(b1).add(gk.mul(c1));
            FloatVector vk = FloatVector.fromArray(S, v, vo + k).mul(b2).add(gk.mul(c2).mul(gk));
            mk.intoArray(m, mo + k);
            vk.intoArray(v, vo + k);
            FloatVector denom = vk.lanewise(VectorOperators.SQRT).mul(ib).add(eps);
            FloatVector.fromArray(S, p, po + k).mul(dc).sub(mk.mul(ss).div(denom)).intoArray(p, po + k);
        }
        tail.adam(p, po, g, go, m, mo, v, vo, k, to, b1, c1, b2, c2, ss, ib, eps, dc);
    }
}
