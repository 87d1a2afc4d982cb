package dev.elbo4j.optim;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.Tensor;

/** Adam(W) over a model's flat parameter buffer: one backend call per step. */
public final class Adam implements AutoCloseable {
    private final Parameters params;
    private final AdamConfig cfg;
    private final Tensor m, v;
    private long step;
    /** The config of the next step: {@link #cfg} with the rate of {@link #learningRate(double)}. */
    private AdamConfig current;

    /**
     * Allocates the two moment buffers (zeros, the shape and type of {@code params.values()}) on the
     * parameters' backend; {@link #close} frees them. The parameters stay the caller's.
     */
    public Adam(Parameters params, AdamConfig cfg) {
        this.params = params;
        this.cfg = cfg;
        this.current = cfg;
        this.m = params.backend().alloc(params.values().dtype(), params.values().shape());
        this.v = params.backend().alloc(params.values().dtype(), params.values().shape());
    }

    /** Applies the gradients in {@code params.grads()} with the current learning rate. */
    public void step() {
        step++;
        params.backend().adam(params.values(), params.grads(), m, v, current, step);
    }

    /** The configuration as constructed (its {@code lr} is the base rate). */
    public AdamConfig config() {
        return cfg;
    }

    /**
     * Sets the learning rate of the following steps (a schedule's rate); the other settings stay
     * those of {@link #config()}.
     */
    public void learningRate(double lr) {
        if (lr != current.lr()) current = new AdamConfig(lr, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
    }

    /** The learning rate of the next step. */
    public double learningRate() {
        return current.lr();
    }

    /** Updates taken so far (the bias-correction counter). */
    public long steps() {
        return step;
    }

    /** First-moment buffer (for checkpoints). */
    public Tensor m() {
        return m;
    }

    /** Second-moment buffer (for checkpoints). */
    public Tensor v() {
        return v;
    }

    /**
     * Sets the step count after updates applied on the device without {@link #step()} (a replayed
     * training step whose guarded update counted them there).
     */
    public void setSteps(long steps) {
        if (steps < 0) throw new IllegalArgumentException("negative optimizer step " + steps);
        this.step = steps;
    }

    /** Restores the state saved in a checkpoint. */
    public void restore(float[] mHost, float[] vHost, long steps) {
        if (steps < 0) throw new IllegalArgumentException("negative optimizer step " + steps);
        params.backend().write(m, mHost);
        params.backend().write(v, vHost);
        this.step = steps;
    }

    /** Frees the two moment buffers; the parameters are the model's and stay open. */
    @Override
    public void close() {
        m.close();
        v.close();
    }
}
