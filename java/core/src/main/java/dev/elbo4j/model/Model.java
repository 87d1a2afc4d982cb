package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.tensor.DType;

import java.util.Map;

/**
 * A model the {@link dev.elbo4j.train.Trainer} can fit: parameters in one flat buffer on a backend,
 * a training step that writes the gradient of a mean loss, and a test figure. Every model family
 * of elbo4j (VAE, autoencoders, conditional and semi-supervised VAEs, ...) implements it; the
 * trainer, the checkpoint format and the NaN guard know nothing else about a model.
 */
public interface Model extends AutoCloseable {

    /** The architecture, enough to build the same model again (and to write a checkpoint). */
    ModelConfig config();

    /** The backend holding the parameters: where inputs must be uploaded. */
    Backend backend();

    /** The precision of parameters and inputs (F32 unless created with F64). */
    DType dtype();

    /** Every parameter in one flat buffer, by name (e.g. {@code enc.0.weight}), with their gradients. */
    Parameters parameters();

    /** Buffers for training steps on batches of up to {@code maxBatch} examples. */
    TrainStep trainStep(int maxBatch);

    /**
     * The test figure reported after each epoch, per example, higher is better, in the same units
     * as the training objective (-loss): the ELBO for latent-variable models, minus the
     * reconstruction loss for autoencoders. Stochastic binarisations are evaluated on one fixed
     * draw from {@code seed}.
     */
    double testObjective(DeviceDataset data, Binarization trainBinarization, long seed);

    /**
     * Further test figures by name (e.g. "accuracy"), computed after each epoch; none by default.
     */
    default Map<String, Double> testMetrics(DeviceDataset data, Binarization trainBinarization, long seed) {
        return Map.of();
    }

    /**
     * The test objective and the further test metrics together, what the trainer reports after
     * each epoch: the same numbers as {@link #testObjective} and {@link #testMetrics}. The default
     * calls the two; families whose two figures come from one pass over the data (M2, NICE)
     * override it to make that pass once.
     */
    default TestFigures testFigures(DeviceDataset data, Binarization trainBinarization, long seed) {
        return new TestFigures(testObjective(data, trainBinarization, seed), testMetrics(data, trainBinarization, seed));
    }

    /**
     * What {@link #testFigures} returns.
     *
     * @param objective as {@link #testObjective}
     * @param metrics   as {@link #testMetrics} (an unmodifiable copy, in the model's order)
     */
    record TestFigures(double objective, Map<String, Double> metrics) {
        /** Copies {@code metrics} into an unmodifiable map that keeps their order. */
        public TestFigures {
            metrics = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metrics));
        }
    }

    /**
     * A data-dependent initialisation before the first step of a new run (not of a resumed one):
     * e.g. an RBM starts its visible biases at the training data's log-odds (Hinton's practical
     * guide, section 8). The default does nothing. {@code elbo4j train} calls it for new runs; a
     * {@link dev.elbo4j.train.Trainer} does not (it cannot tell a new model from a restored one), so
     * call it yourself on a newly created model before training.
     */
    default void initializeFrom(dev.elbo4j.io.Dataset train) {
    }

    /**
     * Frees the parameters on the backend; the model is unusable afterwards
     * ({@link dev.elbo4j.nn.Parameters#isClosed()}). Training steps and passes made from it hold their
     * own buffers and are closed on their own. The backend stays open. Throws no checked exception.
     */
    @Override
    void close();
}
