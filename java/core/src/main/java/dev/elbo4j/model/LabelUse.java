package dev.elbo4j.model;

/** Whether a model's training batches carry labels. */
public enum LabelUse {
    /** Unsupervised: images only. */
    NONE,
    /** Conditional: every example comes with its one-hot label. */
    ALL,
    /**
     * Semi-supervised: batches of unlabelled images plus a batch from a small labelled subset
     * ({@link dev.elbo4j.train.TrainConfig#labelled()} examples).
     */
    SOME
}
