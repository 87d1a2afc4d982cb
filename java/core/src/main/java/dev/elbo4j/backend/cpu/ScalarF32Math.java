package dev.elbo4j.backend.cpu;

/** Plain-Java {@link F32Math}. */
final class ScalarF32Math implements F32Math {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public double bernoulliRow(float[] l, int lo, float[] x, int xo, float[] g, int go, int n, float scale) {
        double loss = 0;
        for (int c = 0; c < n; c++) {
            float lv = l[lo + c], xv = x[xo + c];
            float e = (float) Math.exp(-Math.abs(lv));
            // log(1 + e) rather than log1p(e): Math.log is an intrinsic, log1p is not, and for
            // e < 2^-53 the absolute error (at most e) is far below the float loss's rounding.
            loss += Math.max(lv, 0f) - xv * lv + (float) Math.log(1.0 + e);
            if (g != null) {
                float sig = lv >= 0 ? 1f / (1f + e) : e / (1f + e);
                g[go + c] = scale * (sig - xv);
            }
        }
        return loss;
    }

    @Override
    public void im2colInside4(float[] x, int src, int hw, int w, int channels, int kh, float[] cols, int dst) {
        for (int ch = 0; ch < channels; ch++) {
            for (int i = 0, at = src + ch * hw; i < kh; i++, at += w, dst += 4) {
                for (int j = 0; j < 4; j++) cols[dst + j] = x[at + j];
            }
        }
    }

    @Override
    public void col2imInside4(float[] cols, int q, int channels, int kh, int iLo, int iHi, int hw, int w, double[] acc, int a) {
        for (int ch = 0; ch < channels; ch++) {
            for (int i = iLo; i < iHi; i++) {
                int to = a + ch * hw + i * w, from = q + (ch * kh + i) * 4;
                for (int j = 0; j < 4; j++) acc[to + j] += cols[from + j];
            }
        }
    }

    @Override
    public void reluDerivativeMul(float[] y, int yo, float[] g, int go, int n) {
        for (int c = 0; c < n; c++) g[go + c] *= y[yo + c] > 0f ? 1f : 0f;
    }

    @Override
    public void reluBackward(float[] y, int yo, float[] g, int go, int n) {
        for (int c = 0; c < n; c++) {
            if (!(y[yo + c] > 0f)) g[go + c] = 0f;
        }
    }

    @Override
    public void adam(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int from, int to,
                     float b1, float c1, float b2, float c2, float ss, float ib, float eps, float dc) {
        for (int k = from; k < to; k++) {
            float gk = g[go + k];
            float mk = b1 * m[mo + k] + c1 * gk;
            float vk = b2 * v[vo + k] + c2 * gk * gk;
            m[mo + k] = mk;
            v[vo + k] = vk;
            p[po + k] = p[po + k] * dc - ss * mk / ((float) Math.sqrt(vk) * ib + eps);
        }
    }
}
