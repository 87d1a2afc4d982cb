package dev.elbo4j.backend.cpu;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * The pure-Java reference backend: F32 for speed, F64 for gradient checks, the same Philox stream
 * as the kernels. Each operation family lives in the class named after its kernel file.
 */
public final class CpuBackend implements Backend {
    private final CpuLinear linear;

    /** A CPU backend with the best available GEMM (OpenBLAS when installed, else pure Java). */
    public CpuBackend() {
        this(Blases.best());
    }

    /**
     * A CPU backend whose dense products go through {@code blas}; fixes the process's CPU threads
     * ({@link CpuThreads}) if they are not yet.
     */
    public CpuBackend(Blas blas) {
        CpuThreads.get();
        this.linear = new CpuLinear(blas);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        int cores = Runtime.getRuntime().availableProcessors(), threads = CpuThreads.get();
        return "cpu (" + threads + " thread" + (threads == 1 ? "" : "s") + " on " + cores + " core" + (cores == 1 ? "" : "s")
                + ", GEMM: " + linear.blas().name() + ")";
    }

    /**
     * The float maths (scalar, or the vector width its sums run in lanes of), the GEMM's numerics,
     * and the thread count unless the GEMM is the pure-Java one: the backend's own loops do not
     * depend on it (each row by one thread, column sums in fixed blocks), nor does {@link JavaBlas}
     * (each element summed over k in one order), but another GEMM cut into one block per thread
     * ({@link SplitBlas}) does.
     */
    @Override
    public String numerics() {
        Blas blas = linear.blas();
        return "cpu, maths " + F32Math.best().name() + ", GEMM " + blas.numerics()
                + (blas instanceof JavaBlas ? "" : ", GEMM threads " + CpuThreads.get());
    }

    private static CpuTensor t(Tensor x) {
        if (x == null) return null;
        if (x instanceof CpuTensor c) return c;
        throw new IllegalArgumentException("tensor " + x + " does not belong to the CPU backend");
    }

    private static CpuTensor floating(Tensor x, String what) {
        CpuTensor c = t(x);
        if (c.dtype() != DType.F32 && c.dtype() != DType.F64) {
            throw new IllegalArgumentException(what + " must be F32 or F64, got " + c.dtype());
        }
        return c;
    }

    @Override
    public Tensor alloc(DType dtype, Shape shape) {
        reserve(shape.size(), dtype);
        return CpuTensor.zeros(dtype, shape);
    }

    @Override
    public Tensor upload(float[] host, Shape shape) {
        checkSize(host.length, shape);
        reserve(host.length, DType.F32);
        return CpuTensor.of(host.clone(), shape);
    }

    @Override
    public Tensor upload(double[] host, Shape shape) {
        checkSize(host.length, shape);
        reserve(host.length, DType.F64);
        return CpuTensor.of(host.clone(), shape);
    }

    @Override
    public Tensor upload(byte[] host, Shape shape) {
        checkSize(host.length, shape);
        reserve(host.length, DType.U8);
        return CpuTensor.of(host.clone(), shape);
    }

    @Override
    public Tensor upload(int[] host, Shape shape) {
        checkSize(host.length, shape);
        reserve(host.length, DType.I32);
        return CpuTensor.of(host.clone(), shape);
    }

    /** Refuses, in one line, a tensor the heap cannot hold, before allocating it. */
    private static void reserve(long elements, DType dtype) {
        long bytes = dev.elbo4j.backend.HostMemory.bytes(elements, dtype.bytes());
        if (bytes >= 1 << 20) {
            dev.elbo4j.backend.HostMemory.require(bytes, "a CPU tensor of " + elements + " " + dtype + " values");
        }
    }

    private static void checkSize(int n, Shape shape) {
        if (n != shape.size()) {
            throw new IllegalArgumentException(n + " host elements for shape " + shape);
        }
    }

    @Override
    public void write(Tensor dst, float[] host) {
        CpuTensor c = t(dst);
        checkSize(host.length, c.shape());
        if (c.dtype() == DType.F32) {
            System.arraycopy(host, 0, c.f, c.off, host.length);
        } else {
            for (int k = 0; k < host.length; k++) c.set(k, host[k]);
        }
    }

    @Override
    public void write(Tensor dst, double[] host) {
        CpuTensor c = t(dst);
        checkSize(host.length, c.shape());
        for (int k = 0; k < host.length; k++) c.set(k, host[k]);
    }

    @Override
    public void write(Tensor dst, int[] host) {
        CpuTensor c = t(dst);
        checkSize(host.length, c.shape());
        if (c.dtype() != DType.I32) throw new IllegalArgumentException("write(int[]) needs an I32 tensor, got " + c.dtype());
        System.arraycopy(host, 0, c.i, c.off, host.length);
    }

    @Override
    public double[] download(Tensor x) {
        CpuTensor c = t(x);
        double[] out = new double[c.size()];
        for (int k = 0; k < out.length; k++) out[k] = c.get(k);
        return out;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuTensor s = t(src), d = t(dst);
        if (s.dtype() != d.dtype() || s.size() != d.size()) {
            throw new IllegalArgumentException("copy " + s + " to " + d);
        }
        switch (s.dtype()) {
            case F32 -> System.arraycopy(s.f, s.off, d.f, d.off, s.size());
            case F64 -> System.arraycopy(s.d, s.off, d.d, d.off, s.size());
            case U8 -> System.arraycopy(s.b, s.off, d.b, d.off, s.size());
            case I32 -> System.arraycopy(s.i, s.off, d.i, d.off, s.size());
        }
    }

    @Override
    public void fill(Tensor x, double value) {
        CpuTensor c = t(x);
        switch (c.dtype()) {
            case F32 -> java.util.Arrays.fill(c.f, c.off, c.off + c.size(), (float) value);
            case F64 -> java.util.Arrays.fill(c.d, c.off, c.off + c.size(), value);
            default -> {
                for (int k = 0; k < c.size(); k++) c.set(k, value);
            }
        }
    }

    @Override
    public double sum(Tensor x) {
        CpuTensor c = t(x);
        double s = 0;
        for (int k = 0; k < c.size(); k++) s += c.get(k);
        return s;
    }

    /**
     * For F32, an OR over the exponent bits (all ones for NaN and infinities), with no dependence
     * on a floating-point order: measured 0.4 ms against 1.5 ms for {@link #sum} over the default
     * model's 653k gradients.
     */
    @Override
    public boolean allFinite(Tensor x) {
        CpuTensor c = t(x);
        if (c.f == null) return Backend.super.allFinite(x);
        float[] f = c.f;
        int bad = 0;
        for (int k = c.off, end = c.off + c.size(); k < end; k++) {
            // (bits & 0x7f800000) + 0x00800000 sets the sign bit exactly when the exponent is all ones.
            bad |= (Float.floatToRawIntBits(f[k]) & 0x7f800000) + 0x00800000;
        }
        return bad >= 0;
    }

    @Override
    public void accumulate(Tensor x, double scale, Tensor acc) {
        CpuTensor a = t(acc);
        if (a.dtype() != DType.F64 || a.size() != 1) {
            throw new IllegalArgumentException("accumulator must be a 1-element F64 tensor, got " + a);
        }
        a.d[a.off] += scale * sum(x);
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, Tensor a, Tensor b, double beta, Tensor c) {
        CpuTensor ca = floating(a, "A"), cb = floating(b, "B"), cc = floating(c, "C");
        if (ca.dtype() != cc.dtype() || cb.dtype() != cc.dtype()) {
            throw new IllegalArgumentException("gemm needs one dtype, got " + ca.dtype() + ", " + cb.dtype() + ", " + cc.dtype());
        }
        linear.gemm(transA, transB, alpha, ca, cb, beta, cc);
    }

    @Override
    public void biasActivation(Tensor y, Tensor bias, Activation act) {
        CpuLinear.biasActivation(floating(y, "y"), t(bias), act);
    }

    @Override
    public void biasActivationBackward(Tensor y, Tensor dy, Activation act, Tensor dBias) {
        CpuLinear.biasActivationBackward(floating(y, "y"), floating(dy, "dy"), act, t(dBias));
    }

    @Override
    public void latentForward(Tensor stats, RngKey key, Tensor eps, Tensor z, Tensor kl, Tensor logRatio) {
        CpuLatent.forward(floating(stats, "stats"), key, floating(eps, "eps"), floating(z, "z"), t(kl), t(logRatio));
    }

    @Override
    public void latentBackward(Tensor stats, Tensor eps, Tensor dz, double klWeight, Tensor dStats) {
        CpuLatent.backward(floating(stats, "stats"), floating(eps, "eps"), floating(dz, "dz"), klWeight,
                floating(dStats, "dStats"));
    }

    @Override
    public void normal(RngKey key, Tensor z) {
        CpuLatent.normal(key, floating(z, "z"));
    }

    @Override
    public void likelihood(Likelihood lik, Tensor out, Tensor x, Tensor logVar, double gradScale, Tensor rowLoss,
                           Tensor dOut, Tensor dLogVar) {
        CpuLikelihood.forwardBackward(lik, floating(out, "out"), floating(x, "x"), t(logVar), gradScale,
                floating(rowLoss, "rowLoss"), t(dOut), t(dLogVar));
    }

    @Override
    public void likelihoodMean(Likelihood lik, Tensor out, Tensor mean) {
        CpuLikelihood.mean(lik, floating(out, "out"), floating(mean, "mean"));
    }

    @Override
    public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, long step) {
        CpuTensor p = floating(param, "param"), g = t(grad), mm = t(m), vv = t(v);
        if (g.dtype() != p.dtype() || mm.dtype() != p.dtype() || vv.dtype() != p.dtype()) {
            throw new IllegalArgumentException("adam buffers must share one dtype");
        }
        CpuOptim.adam(p, g, mm, vv, cfg, step);
    }

    @Override
    public void gather(Tensor dataset, Tensor index, int from, Binarization mode, RngKey key, Tensor out) {
        CpuTensor d = t(dataset), i = t(index);
        if (d.dtype() != DType.U8 || i.dtype() != DType.I32) {
            throw new IllegalArgumentException("gather needs a U8 data set and an I32 index, got " + d.dtype() + ", " + i.dtype());
        }
        CpuData.gather(d, i, from, mode, key, floating(out, "out"));
    }

    // ---- autoencoder.cu: denoising and sparse autoencoders (issue 6) ----

    @Override
    public void corrupt(dev.elbo4j.backend.Corruption kind, double level, RngKey key, Tensor x, Tensor out) {
        CpuTensor cx = floating(x, "x"), co = floating(out, "out");
        if (cx.dtype() != co.dtype()) throw new IllegalArgumentException("corrupt: x is " + cx.dtype() + ", out " + co.dtype());
        CpuAutoencoder.corrupt(kind, level, key, cx, co);
    }

    @Override
    public void sparsityForward(Tensor code, double rho, Tensor rhoHat, Tensor kl) {
        CpuAutoencoder.sparsityForward(floating(code, "code"), rho, floating(rhoHat, "rhoHat"), floating(kl, "kl"));
    }

    @Override
    public void sparsityBackward(Tensor rhoHat, double rho, double scale, Tensor dCode) {
        CpuAutoencoder.sparsityBackward(floating(rhoHat, "rhoHat"), rho, scale, floating(dCode, "dCode"));
    }

    // ---- iwae.cu: importance-weighted objective (issue 6) ----

    @Override
    public void iwaeWeights(Tensor rowLoss, Tensor logRatio, Tensor weights, Tensor loss) {
        CpuIwae.weights(floating(rowLoss, "rowLoss"), floating(logRatio, "logRatio"), floating(weights, "weights"),
                floating(loss, "loss"));
    }

    @Override
    public void iwaeScaleRows(Tensor weights, double scale, Tensor dOut, Tensor logVar, Tensor dLogVar) {
        CpuIwae.scaleRows(floating(weights, "weights"), scale, floating(dOut, "dOut"),
                logVar == null ? null : floating(logVar, "logVar"), dLogVar == null ? null : floating(dLogVar, "dLogVar"));
    }

    @Override
    public void iwaeLatentBackward(Tensor stats, Tensor eps, Tensor z, Tensor dz, Tensor weights, double scale, Tensor dStats) {
        CpuIwae.latentBackward(floating(stats, "stats"), floating(eps, "eps"), floating(z, "z"), floating(dz, "dz"),
                floating(weights, "weights"), scale, floating(dStats, "dStats"));
    }

    // ---- classify.cu: conditional and semi-supervised models (issue 6) ----

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor target, double gradScale, Tensor loss, Tensor dLogits) {
        CpuClassify.softmaxCrossEntropy(floating(logits, "logits"), floating(target, "target"), gradScale,
                floating(loss, "loss"), dLogits == null ? null : floating(dLogits, "dLogits"));
    }

    @Override
    public void unlabelledBound(Tensor logits, Tensor rec, Tensor kl, double klWeight, double offset, double gradScale,
                                Tensor u, Tensor weights, Tensor dLogits) {
        CpuClassify.unlabelledBound(floating(logits, "logits"), floating(rec, "rec"), floating(kl, "kl"), klWeight, offset,
                gradScale, floating(u, "u"), floating(weights, "weights"), dLogits == null ? null : floating(dLogits, "dLogits"));
    }

    @Override
    public void scaleRows(Tensor x, Tensor w, double scale) {
        CpuClassify.scaleRows(floating(x, "x"), floating(w, "w"), scale);
    }

    @Override
    public void latentBackwardRows(Tensor stats, Tensor eps, Tensor dz, Tensor klWeights, double klWeight, int klRows,
                                   Tensor dStats) {
        if (klRows < 1) throw new IllegalArgumentException("latentBackwardRows: klRows must be >= 1, got " + klRows);
        CpuClassify.latentBackwardRows(floating(stats, "stats"), floating(eps, "eps"), floating(dz, "dz"),
                floating(klWeights, "klWeights"), klWeight / klRows, floating(dStats, "dStats"));
    }

    // ---- fvbm.cu: fully visible Boltzmann machines ----

    @Override
    public void fvbmStep(Tensor x, Tensor bias, Tensor weight, Tensor scratch, Tensor rowLoss, Tensor dBias, Tensor dWeight) {
        CpuFvbm.step(floating(x, "x"), floating(bias, "bias"), floating(weight, "weight"), floating(scratch, "scratch"), floating(rowLoss, "rowLoss"),
                floating(dBias, "dBias"), floating(dWeight, "dWeight"));
    }

    // ---- rbm.cu: RBMs, Gibbs sampling, AIS (issue 7) ----

    @Override
    public void rbmGibbsHalf(Tensor act, Tensor bias, double beta, Tensor base, RngKey key, Tensor prob, Tensor sample) {
        CpuRbm.gibbsHalf(floating(act, "act"), floating(bias, "bias"), beta, base == null ? null : floating(base, "base"), key,
                prob == null ? null : floating(prob, "prob"), sample == null ? null : floating(sample, "sample"));
    }

    @Override
    public void rbmFreeEnergy(Tensor v, Tensor hAct, Tensor visBias, Tensor hidBias, double beta, Tensor base, Tensor out) {
        CpuRbm.freeEnergy(floating(v, "v"), floating(hAct, "hAct"), floating(visBias, "visBias"), floating(hidBias, "hidBias"),
                beta, base == null ? null : floating(base, "base"), floating(out, "out"));
    }

    // ---- flow.cu: planar and NICE flows (issue 7) ----

    @Override
    public void planarForward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor zK, Tensor logDet, Tensor kl, Tensor logRatio) {
        CpuTensor ld = floating(logDet, "logDet"), k = kl == null ? null : floating(kl, "kl");
        CpuTensor lr = logRatio == null ? null : floating(logRatio, "logRatio");
        CpuFlow.forward(floating(z0, "z0"), floating(u, "u"), floating(w, "w"), floating(b, "b"), floating(zK, "zK"), ld, k, lr);
    }

    @Override
    public void planarBackward(Tensor z0, Tensor u, Tensor w, Tensor b, Tensor dzK, double weight,
                               Tensor dz0, Tensor dU, Tensor dW, Tensor dB, Tensor scratch) {
        CpuFlow.backward(floating(z0, "z0"), floating(u, "u"), floating(w, "w"), floating(b, "b"), floating(dzK, "dzK"),
                weight, floating(dz0, "dz0"), floating(dU, "dU"), floating(dW, "dW"), floating(dB, "dB"),
                floating(scratch, "scratch"));
    }

    @Override
    public void niceSplit(Tensor x, RngKey key, Tensor a, Tensor b) {
        CpuFlow.niceSplit(floating(x, "x"), key, floating(a, "a"), floating(b, "b"));
    }

    @Override
    public void niceAdd(Tensor y, Tensor shift, double sign) {
        CpuFlow.niceAdd(floating(y, "y"), floating(shift, "shift"), sign);
    }

    @Override
    public void nicePrior(Tensor h, Tensor s, boolean logistic, boolean accumulate, double gradScale,
                          Tensor rowLogP, Tensor dh, Tensor ds) {
        CpuFlow.nicePrior(floating(h, "h"), floating(s, "s"), logistic, accumulate, gradScale, floating(rowLogP, "rowLogP"),
                dh == null ? null : floating(dh, "dh"), ds == null ? null : floating(ds, "ds"));
    }

    @Override
    public void nicePriorSample(RngKey key, Tensor s, boolean logistic, Tensor h) {
        CpuFlow.nicePriorSample(key, floating(s, "s"), logistic, floating(h, "h"));
    }

    // ---- conv.cu: convolutions as im2col + GEMM ----

    @Override
    public void im2col(Tensor x, dev.elbo4j.backend.ConvGeometry g, Tensor cols) {
        CpuConv.im2col(floating(x, "x"), g, floating(cols, "cols"));
    }

    @Override
    public void col2im(Tensor cols, dev.elbo4j.backend.ConvGeometry g, Tensor dx) {
        CpuConv.col2im(floating(cols, "cols"), g, floating(dx, "dx"));
    }

    @Override
    public void toChannelsFirst(Tensor rows, int pixels, Tensor images) {
        CpuConv.toChannelsFirst(floating(rows, "rows"), pixels, floating(images, "images"));
    }

    @Override
    public void toChannelsLast(Tensor images, int pixels, Tensor rows) {
        CpuConv.toChannelsLast(floating(images, "images"), pixels, floating(rows, "rows"));
    }

    @Override
    public void channelBiasActivation(Tensor y, Tensor bias, int channels, Activation act) {
        CpuConv.channelBiasActivation(floating(y, "y"), bias == null ? null : floating(bias, "bias"), channels, act);
    }

    @Override
    public void channelBiasActivationBackward(Tensor y, Tensor dy, int channels, Activation act, Tensor dBias) {
        CpuConv.channelBiasActivationBackward(floating(y, "y"), floating(dy, "dy"), channels, act,
                dBias == null ? null : floating(dBias, "dBias"));
    }

    /** Nothing to release: the CPU tensors are Java arrays the garbage collector reclaims. */
    @Override
    public void close() {
    }
}
