package dev.elbo4j.train;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;

/**
 * How to train: epochs, batch size, optimizer, input binarisation, and the seed every random
 * choice (initialisation, shuffling, binarisation, noise) derives from.
 */
public record TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed) {

    public TrainConfig {
        if (epochs < 0) throw new IllegalArgumentException("epochs must be >= 0, got " + epochs);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: 10 epochs, batch 128, Adam 1e-3, dynamic binarisation, seed 1. */
    public static final class Builder {
        private int epochs = 10;
        private int batchSize = 128;
        private AdamConfig adam = AdamConfig.of(1e-3);
        private Binarization binarization = Binarization.DYNAMIC;
        private long seed = 1;

        public Builder epochs(int e) {
            epochs = e;
            return this;
        }

        public Builder batchSize(int b) {
            batchSize = b;
            return this;
        }

        public Builder adam(AdamConfig a) {
            adam = a;
            return this;
        }

        public Builder learningRate(double lr) {
            adam = new AdamConfig(lr, adam.beta1(), adam.beta2(), adam.eps(), adam.weightDecay());
            return this;
        }

        public Builder binarization(Binarization b) {
            binarization = b;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        public TrainConfig build() {
            return new TrainConfig(epochs, batchSize, adam, binarization, seed);
        }
    }
}
