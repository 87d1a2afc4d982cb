package dev.elbo4j.rng;

/** The stream ids elbo4j uses, one per purpose, so no two purposes ever share random numbers. */
public final class Streams {
    /** Weight initialisation; step = parameter index. */
    public static final int INIT = 1;
    /** Reparameterisation noise in training; step = global training step. */
    public static final int LATENT = 2;
    /** Dynamic binarisation; step = epoch (FIXED binarisation uses step 0 of {@link #FIXED_BINARIZE}). */
    public static final int BINARIZE = 3;
    /** Fixed binarisation, one draw per data set. */
    public static final int FIXED_BINARIZE = 4;
    /** Epoch shuffling; step = epoch. */
    public static final int SHUFFLE = 5;
    /** Evaluation noise (test ELBO, importance sampling); step = chunk index. */
    public static final int EVAL = 6;
    /** Prior samples for {@code sample}; step = call index. */
    public static final int SAMPLE = 7;
    /** Binarisation of evaluation data; step = 0. */
    public static final int EVAL_BINARIZE = 8;
    /** Input corruption of denoising autoencoders; step = global training step. */
    public static final int CORRUPT = 9;
    /** Noise of the labelled half of a semi-supervised step; step = global training step. */
    public static final int LABELLED_LATENT = 10;
    /** Which training examples are the labelled ones of a semi-supervised run; step = 0. */
    public static final int LABELLED_PICK = 11;
    /** Order of the labelled subset; step = epoch. */
    public static final int LABELLED_SHUFFLE = 12;
    /** Binarisation of the labelled subset (dynamic: step = epoch). */
    public static final int LABELLED_BINARIZE = 13;
    /** Reverse annealing chains of RAISE ({@code eval.Raise}); step = chunk of test examples. */
    public static final int RAISE = 14;

    private Streams() {
    }
}
