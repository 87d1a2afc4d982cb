package dev.elbo4j.testing;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.model.Rbm;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.tensor.DType;

/** Small RBMs with Gaussian parameters, for tests against exact enumeration. */
public final class RandomRbm {
    private RandomRbm() {
    }

    /**
     * A V x H RBM (CD-1 config) with weights N(0, scale) and biases N(0, biasScale), each drawn
     * from {@link Rand#normal} with seeds seed, seed + 1 (visible) and seed + 2 (hidden).
     */
    public static Rbm create(Backend be, int v, int h, double scale, double biasScale, long seed, DType dt) {
        Rbm r = Rbm.create(be, new RbmConfig(v, h, 1, false, 10), dt, seed);
        be.write(r.layer().weight(), Rand.normal(seed, v * h, scale));
        be.write(r.layer().visibleBias(), Rand.normal(seed + 1, v, biasScale));
        be.write(r.layer().hiddenBias(), Rand.normal(seed + 2, h, biasScale));
        return r;
    }
}
