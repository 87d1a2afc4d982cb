package dev.elbo4j.train;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;

/**
 * How to train: epochs, batch size, optimizer, input binarisation, the seed every random choice
 * (initialisation, shuffling, binarisation, noise) derives from, the KL warm-up, and for
 * semi-supervised models the number of labelled examples.
 *
 * @param warmupEpochs the KL term's weight rises linearly from 0 to 1 over this many epochs (0: none)
 * @param labelled     labelled training examples for semi-supervised models (0: not used)
 */
public record TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed,
                          double warmupEpochs, int labelled) {

    public TrainConfig {
        if (epochs < 0) throw new IllegalArgumentException("epochs must be >= 0, got " + epochs);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (!(warmupEpochs >= 0) || Double.isInfinite(warmupEpochs)) {
            throw new IllegalArgumentException("warm-up epochs must be >= 0, got " + warmupEpochs);
        }
        if (labelled < 0) throw new IllegalArgumentException("labelled examples must be >= 0, got " + labelled);
    }

    /** No warm-up, no labelled subset. */
    public TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed) {
        this(epochs, batchSize, adam, binarization, seed, 0, 0);
    }

    /** The KL weight after {@code epochs} (fractional) epochs of training: min(1, epochs / warm-up). */
    public double klWeight(double epochs) {
        return warmupEpochs == 0 ? 1 : Math.min(1, epochs / warmupEpochs);
    }

    /** The same with another number of epochs (what --resume --epochs N changes). */
    public TrainConfig withEpochs(int e) {
        return new TrainConfig(e, batchSize, adam, binarization, seed, warmupEpochs, labelled);
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
        private double warmupEpochs = 0;
        private int labelled = 0;

        public Builder warmupEpochs(double w) {
            warmupEpochs = w;
            return this;
        }

        public Builder labelled(int n) {
            labelled = n;
            return this;
        }

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
            return new TrainConfig(epochs, batchSize, adam, binarization, seed, warmupEpochs, labelled);
        }
    }
}
