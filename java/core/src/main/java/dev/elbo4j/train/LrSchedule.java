package dev.elbo4j.train;

import java.util.Arrays;
import java.util.Locale;

/**
 * A learning-rate schedule: the factor that multiplies the base rate ({@code AdamConfig.lr()}) at
 * a position of training. It is a pure function of the position (completed epochs, batches done in
 * the current epoch, batches per epoch), never of history, so a run resumed from a checkpoint's
 * position continues the schedule exactly, and any trainer (a captured CUDA graph included) can ask
 * for the rate of any step.
 *
 * <p>Every schedule has a one-line text form, {@link #spec()}, which {@link #parse} reads back
 * exactly (numbers are written in Java's shortest round-trip form); the checkpoint stores it in
 * the {@code training} metadata as {@code lr_schedule}.
 */
public sealed interface LrSchedule {

    /**
     * The factor for the step taken at this position.
     *
     * @param epoch         completed epochs (0 during the first epoch)
     * @param batchInEpoch  batches of the current epoch already done (0 for its first step)
     * @param stepsPerEpoch batches per epoch
     */
    double factor(int epoch, int batchInEpoch, int stepsPerEpoch);

    /** The text form, e.g. {@code multistep:1,4,13:0.5}; {@link #parse} reads it back. */
    String spec();

    /** Whether the factor changes between the steps of one epoch (not only at epoch boundaries). */
    default boolean variesWithinEpoch() {
        return false;
    }

    /** The learning rate for a step at this position with base rate {@code base}. */
    default double rate(double base, int epoch, int batchInEpoch, int stepsPerEpoch) {
        double f = factor(epoch, batchInEpoch, stepsPerEpoch);
        return f == 1 ? base : base * f; // a constant factor leaves the base rate bit for bit
    }

    /** The constant schedule (factor 1 throughout). */
    LrSchedule CONSTANT = new Constant();

    /** Factor 1 throughout: the base rate. */
    record Constant() implements LrSchedule {
        @Override
        public double factor(int epoch, int batchInEpoch, int stepsPerEpoch) {
            return 1;
        }

        @Override
        public String spec() {
            return "constant";
        }
    }

    /**
     * Piecewise constant: factor {@code gamma^i} during an epoch e with {@code i} milestones at or
     * before e (a milestone m takes effect at the start of the epoch after m completed epochs).
     * PyTorch's {@code MultiStepLR}, stepped once per epoch. Burda et al.'s schedule, 10^(-i/7) for
     * 3^i epochs, is {@link #burda2015()}.
     *
     * @param milestones strictly increasing positive epoch counts
     * @param gamma      factor applied at each milestone, > 0
     */
    record MultiStep(int[] milestones, double gamma) implements LrSchedule {
        /**
         * Copies {@code milestones} and checks them and {@code gamma}.
         *
         * @throws IllegalArgumentException when there is no milestone, they are not positive and strictly
         *     increasing, or {@code gamma} is not a positive finite number
         */
        public MultiStep {
            milestones = milestones.clone();
            if (milestones.length == 0) throw new IllegalArgumentException("multistep needs at least one milestone");
            for (int i = 0; i < milestones.length; i++) {
                if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1])) {
                    throw new IllegalArgumentException("multistep milestones must be positive and strictly increasing, got "
                            + Arrays.toString(milestones));
                }
            }
            if (!(gamma > 0) || Double.isInfinite(gamma)) throw new IllegalArgumentException("multistep gamma must be > 0, got " + gamma);
        }

        /** A copy of the milestones, in increasing order. */
        @Override
        public int[] milestones() {
            return milestones.clone();
        }

        @Override
        public double factor(int epoch, int batchInEpoch, int stepsPerEpoch) {
            int passed = 0;
            while (passed < milestones.length && milestones[passed] <= epoch) passed++;
            return Math.pow(gamma, passed);
        }

        @Override
        public String spec() {
            StringBuilder s = new StringBuilder("multistep:");
            for (int i = 0; i < milestones.length; i++) s.append(i == 0 ? "" : ",").append(milestones[i]);
            return s.append(':').append(gamma).toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MultiStep m && Arrays.equals(milestones, m.milestones)
                    && Double.compare(gamma, m.gamma) == 0;
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(milestones) + Double.hashCode(gamma);
        }

        @Override
        public String toString() {
            return "MultiStep[" + spec() + "]";
        }
    }

    /**
     * Factor {@code gamma^epoch}: PyTorch's {@code ExponentialLR}, stepped once per epoch.
     *
     * @param gamma the factor per epoch, > 0
     */
    record Exponential(double gamma) implements LrSchedule {
        /**
         * Checks {@code gamma}.
         *
         * @throws IllegalArgumentException when it is not a positive finite number
         */
        public Exponential {
            if (!(gamma > 0) || Double.isInfinite(gamma)) throw new IllegalArgumentException("exponential gamma must be > 0, got " + gamma);
        }

        @Override
        public double factor(int epoch, int batchInEpoch, int stepsPerEpoch) {
            return Math.pow(gamma, epoch);
        }

        @Override
        public String spec() {
            return "exponential:" + gamma;
        }
    }

    /**
     * Cosine annealing over {@code epochs} epochs, updated every step:
     * {@code min + (1 - min) (1 + cos(pi t / epochs)) / 2} with t = epoch + batchInEpoch / stepsPerEpoch
     * (fractional), and {@code min} after the horizon. The horizon is the schedule's own, not the
     * run's epoch count, so {@code --resume --epochs N} does not bend it.
     *
     * @param epochs    the horizon T, > 0
     * @param minFactor the final factor, in [0, 1]
     */
    record Cosine(double epochs, double minFactor) implements LrSchedule {
        /**
         * Checks the horizon and the final factor.
         *
         * @throws IllegalArgumentException when {@code epochs} is not a positive finite number or
         *     {@code minFactor} is outside [0, 1]
         */
        public Cosine {
            if (!(epochs > 0) || Double.isInfinite(epochs)) throw new IllegalArgumentException("cosine epochs must be > 0, got " + epochs);
            if (!(minFactor >= 0 && minFactor <= 1)) throw new IllegalArgumentException("cosine minimum factor must be in [0, 1], got " + minFactor);
        }

        @Override
        public boolean variesWithinEpoch() {
            return true;
        }

        @Override
        public double factor(int epoch, int batchInEpoch, int stepsPerEpoch) {
            double t = epoch + (double) batchInEpoch / stepsPerEpoch;
            if (t >= epochs) return minFactor;
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * t / epochs));
        }

        @Override
        public String spec() {
            return "cosine:" + epochs + ":" + minFactor;
        }
    }

    /**
     * Burda, Grosse and Salakhutdinov (2015): 3^i epochs at lr 1e-3 * 10^(-i/7), i = 0..7 (3,280
     * epochs), as factors of a base rate of 1e-3: milestones 1, 4, 13, 40, 121, 364, 1093 (the sums
     * of 3^0..3^i) and gamma = 10^(-1/7).
     */
    static MultiStep burda2015() {
        return new MultiStep(new int[]{1, 4, 13, 40, 121, 364, 1093}, Math.pow(10, -1.0 / 7));
    }

    /**
     * Reads a schedule: {@code constant}; {@code multistep:M1,M2,...:GAMMA}; {@code burda2015}
     * (the same as {@link #burda2015()}); {@code exponential:GAMMA}; {@code cosine:EPOCHS[:MIN_FACTOR]}
     * (MIN_FACTOR default 0).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static LrSchedule parse(String spec) {
        String s = spec.strip();
        String[] p = s.split(":", -1);
        String kind = p[0].toLowerCase(Locale.ROOT);
        try {
            switch (kind) {
                case "constant":
                    if (p.length == 1) return CONSTANT;
                    break;
                case "burda2015":
                    if (p.length == 1) return burda2015();
                    break;
                case "multistep":
                    if (p.length == 3) {
                        String[] ms = p[1].split(",");
                        int[] m = new int[ms.length];
                        for (int i = 0; i < ms.length; i++) m[i] = Integer.parseInt(ms[i].strip());
                        return new MultiStep(m, Double.parseDouble(p[2]));
                    }
                    break;
                case "exponential":
                    if (p.length == 2) return new Exponential(Double.parseDouble(p[1]));
                    break;
                case "cosine":
                    if (p.length == 2 || p.length == 3) {
                        return new Cosine(Double.parseDouble(p[1]), p.length == 3 ? Double.parseDouble(p[2]) : 0);
                    }
                    break;
                default:
                    throw new IllegalArgumentException("unknown learning-rate schedule '" + s
                            + "' (constant, multistep:M1,M2,...:GAMMA, burda2015, exponential:GAMMA, cosine:EPOCHS[:MIN])");
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("learning-rate schedule '" + s + "': not a number: " + e.getMessage());
        }
        throw new IllegalArgumentException("learning-rate schedule '" + s + "' has the wrong number of fields (constant, "
                + "multistep:M1,M2,...:GAMMA, burda2015, exponential:GAMMA, cosine:EPOCHS[:MIN])");
    }
}
