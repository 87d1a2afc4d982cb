package dev.elbo4j.backend;

/**
 * Adam / AdamW hyper-parameters. {@code weightDecay} is decoupled (AdamW); 0 gives plain Adam.
 *
 * @param lr          the learning rate, > 0 (a schedule multiplies it; {@code dev.elbo4j.train.LrSchedule})
 * @param beta1       decay of the first-moment average, in [0, 1)
 * @param beta2       decay of the second-moment average, in [0, 1)
 * @param eps         added to the root of the second moment, > 0
 * @param weightDecay decoupled weight decay, >= 0: each step first multiplies the parameters by
 *                    {@code 1 - lr * weightDecay} (0: Adam)
 */
public record AdamConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {

    /**
     * Checks the ranges: {@code lr > 0}, {@code beta1} and {@code beta2} in [0, 1), {@code eps > 0},
     * {@code weightDecay >= 0} (NaN fails every check).
     *
     * @throws IllegalArgumentException listing all five values when one is out of range
     */
    public AdamConfig {
        if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("invalid Adam settings: lr=" + lr + " beta1=" + beta1 + " beta2=" + beta2
                    + " eps=" + eps + " weightDecay=" + weightDecay);
        }
    }

    /** PyTorch's defaults with the given learning rate. */
    public static AdamConfig of(double lr) {
        return new AdamConfig(lr, 0.9, 0.999, 1e-8, 0);
    }
}
