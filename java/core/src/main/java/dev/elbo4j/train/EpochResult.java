package dev.elbo4j.train;

/**
 * Figures of one finished epoch. ELBOs are in nats per example (higher is better); the training
 * figure is the mean of the batch objectives seen during the epoch (beta- and warm-up-weighted);
 * for models without a bound (autoencoders) both figures are minus the mean loss.
 *
 * @param epoch     1-based number of the epoch just finished
 * @param steps     global optimizer steps after it
 * @param trainElbo mean training objective (negated loss) over the epoch
 * @param testElbo  test-set ELBO with one sample, NaN without a test set
 * @param seconds   wall time of the epoch's training steps (evaluation excluded)
 * @param testMetrics further test figures of the model by name (e.g. "accuracy"), empty if none
 */
public record EpochResult(int epoch, long steps, double trainElbo, double testElbo, double seconds,
                          java.util.Map<String, Double> testMetrics) {
    /** Copies {@code testMetrics} (unmodifiable; no null keys or values). */
    public EpochResult {
        testMetrics = java.util.Map.copyOf(testMetrics);
    }
}
