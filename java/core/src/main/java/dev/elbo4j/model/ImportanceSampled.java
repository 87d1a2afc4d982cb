package dev.elbo4j.model;

import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

/**
 * A latent-variable model with a Gaussian posterior that {@link dev.elbo4j.eval.Evaluator} can
 * score: for each input (and, for a conditional model, its one-hot label) and each of L draws
 * z ~ q(z|x[,y]), the reconstruction term -log p(x|z[,y]), the KL of q from the prior, and the log
 * ratio log p(z) - log q(z|x[,y]); from these come the ELBO and the importance-sampled
 * log p(x) (log p(x|y) for a conditional model). The {@link Vae} and the {@link Cvae} are such models.
 */
public interface ImportanceSampled extends Model {

    /** The one-hot classes of the labels the evaluation gathers with each input; 0 for an unconditional model. */
    int conditioningClasses();

    /**
     * Rows (inputs x samples) the evaluator puts in one pass. It fixes the batching, hence the noise
     * each input gets ({@code RngKey(seed, EVAL, pass index)}).
     */
    default int evaluationRows() {
        return 4096;
    }

    /** Evaluation buffers for up to {@code maxBatch} inputs with {@code samples} draws of z each. */
    ScoringPass scoringPass(int maxBatch, int samples);

    /** One evaluation pass: row l*B + b of its per-row outputs is sample l of input b. */
    interface ScoringPass extends AutoCloseable {

        /** Evaluates x (B x D) with labels y (B x C, null for an unconditional model) and the noise of {@code key}. */
        void score(Tensor x, Tensor y, RngKey key);

        /** -log p(x|z[,y]) of the last batch's L*B rows. */
        Tensor rowLoss();

        /** KL(q(z|x[,y]) || p(z)) of the last batch's B inputs. */
        Tensor kl();

        /** log p(z) - log q(z|x[,y]) of the last batch's L*B rows. */
        Tensor logRatio();

        /** Frees the pass's buffers; the model stays open. Throws no checked exception. */
        @Override
        void close();
    }
}
