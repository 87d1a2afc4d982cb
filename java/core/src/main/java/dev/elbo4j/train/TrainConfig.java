package dev.elbo4j.train;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Binarization;

/**
 * How to train: epochs, batch size, optimizer and its learning-rate schedule, input binarisation, the seed every random choice
 * (initialisation, shuffling, binarisation, noise) derives from, the KL warm-up, and for
 * semi-supervised models the number of labelled examples.
 *
 * @param epochs       epochs to train (the total, counting those of a resumed run), >= 0
 * @param batchSize    examples per optimizer step, >= 1 (the last batch of an epoch may be smaller)
 * @param adam         the optimizer; its {@code lr} is the base rate of the schedule
 * @param binarization how 8-bit pixels become inputs
 * @param seed         the seed of every random choice
 * @param warmupEpochs the KL term's weight rises linearly from 0 to 1 over this many epochs (0: none)
 * @param labelled     labelled training examples for semi-supervised models (0: not used)
 * @param schedule     the learning-rate schedule: the rate of each step is {@code adam.lr()} times its
 *                     factor at the step's position ({@link #learningRate})
 */
public record TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed,
                          double warmupEpochs, int labelled, LrSchedule schedule) {

    /**
     * Checks the values: {@code epochs >= 0}, {@code batchSize >= 1}, a finite {@code warmupEpochs >= 0},
     * {@code labelled >= 0}, an Adam setting, a binarisation and a schedule.
     *
     * @throws IllegalArgumentException naming the value that is out of range
     * @throws NullPointerException when {@code schedule} is null
     */
    public TrainConfig {
        if (epochs < 0) throw new IllegalArgumentException("epochs must be >= 0, got " + epochs);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (!(warmupEpochs >= 0) || Double.isInfinite(warmupEpochs)) {
            throw new IllegalArgumentException("warm-up epochs must be >= 0, got " + warmupEpochs);
        }
        if (labelled < 0) throw new IllegalArgumentException("labelled examples must be >= 0, got " + labelled);
        if (adam == null) throw new IllegalArgumentException("adam must not be null (e.g. AdamConfig.of(1e-3))");
        if (binarization == null) {
            throw new IllegalArgumentException("binarization must not be null (Binarization.DYNAMIC, FIXED or NONE)");
        }
        java.util.Objects.requireNonNull(schedule, "schedule");
    }

    /** A constant learning rate. */
    public TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed,
                       double warmupEpochs, int labelled) {
        this(epochs, batchSize, adam, binarization, seed, warmupEpochs, labelled, LrSchedule.CONSTANT);
    }

    /** No warm-up, no labelled subset. */
    public TrainConfig(int epochs, int batchSize, AdamConfig adam, Binarization binarization, long seed) {
        this(epochs, batchSize, adam, binarization, seed, 0, 0, LrSchedule.CONSTANT);
    }

    /**
     * The learning rate of the step taken at this position: {@code adam.lr()} times the schedule's
     * factor; a pure function of the position.
     */
    public double learningRate(int epoch, int batchInEpoch, int stepsPerEpoch) {
        return schedule.rate(adam.lr(), epoch, batchInEpoch, stepsPerEpoch);
    }

    /** The KL weight after {@code epochs} (fractional) epochs of training: min(1, epochs / warm-up). */
    public double klWeight(double epochs) {
        return warmupEpochs == 0 ? 1 : Math.min(1, epochs / warmupEpochs);
    }

    /** The same with another number of epochs (what --resume --epochs N changes). */
    public TrainConfig withEpochs(int e) {
        return new TrainConfig(e, batchSize, adam, binarization, seed, warmupEpochs, labelled, schedule);
    }

    /** A builder with the defaults below. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.epochs = epochs;
        b.batchSize = batchSize;
        b.adam = adam;
        b.binarization = binarization;
        b.seed = seed;
        b.warmupEpochs = warmupEpochs;
        b.labelled = labelled;
        b.schedule = schedule;
        return b;
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
        private LrSchedule schedule = LrSchedule.CONSTANT;

        /** A builder with the defaults; {@link TrainConfig#builder()} is the same. */
        public Builder() {
        }

        /** The learning-rate schedule (default constant). */
        public Builder schedule(LrSchedule s) {
            schedule = s;
            return this;
        }

        /** Epochs over which the KL weight rises from 0 to 1 (default 0: none). */
        public Builder warmupEpochs(double w) {
            warmupEpochs = w;
            return this;
        }

        /** Labelled training examples of a semi-supervised model (M2), balanced over the classes; required there. */
        public Builder labelled(int n) {
            labelled = n;
            return this;
        }

        /** Epochs to train in all (default 10). */
        public Builder epochs(int e) {
            epochs = e;
            return this;
        }

        /** Examples per step (default 128). */
        public Builder batchSize(int b) {
            batchSize = b;
            return this;
        }

        /** Adam's settings (default {@code AdamConfig.of(1e-3)}). */
        public Builder adam(AdamConfig a) {
            adam = a;
            return this;
        }

        /** Adam's learning rate, keeping its other settings (default 1e-3). */
        public Builder learningRate(double lr) {
            adam = new AdamConfig(lr, adam.beta1(), adam.beta2(), adam.eps(), adam.weightDecay());
            return this;
        }

        /** How pixels become training inputs (default dynamic binarisation; {@code NONE} trains on the grey levels). */
        public Builder binarization(Binarization b) {
            binarization = b;
            return this;
        }

        /** The seed of every random draw of the run: shuffles, binarisation, noise (default 1). */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /** The config; its constructor's checks apply. */
        public TrainConfig build() {
            return new TrainConfig(epochs, batchSize, adam, binarization, seed, warmupEpochs, labelled, schedule);
        }
    }
}
