package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.LatentModel;
import dev.elbo4j.model.Model;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.train.Checkpoint;

import java.io.IOException;

/**
 * A {@link LatentModel} restored from a checkpoint on an open backend, with the test set, for the
 * {@code elbo4j latent} subcommands: test inputs as the model sees them, their codes, and decoded
 * codes, all as host arrays.
 *
 * <p>Inputs are the test images scaled to [0, 1]; a model trained on binarised data sees the one
 * fixed binarisation that {@code eval} and {@code reconstruct} use (stream EVAL_BINARIZE of the
 * evaluation seed, drawn per example index of the test set, so an input is the same whichever
 * subcommand or subset shows it). A conditional model ({@link LabelUse#ALL}) is given each input's
 * one-hot label when encoding and the given labels when decoding; M2 encodes with its classifier's
 * guess of each input's class and decodes with the given labels, as a conditional model does.
 */
final class LatentSession implements AutoCloseable {
    /** Rows encoded in one call. */
    private static final int BATCH = 1000;

    final Dataset test;
    final Backend backend;
    final LatentModel model;
    /** The evaluation seed: the flag's value, else the training seed, else 1. */
    final long seed;
    /** How the model trained: {@link Binarization#NONE} for grey levels. */
    final Binarization training;
    private final int[] image;
    private float[] inputs;

    /**
     * A session over an open backend and model (closed with the session); {@code test} may be
     * null for decoding only; {@code image} is the inputs' height and width.
     */
    LatentSession(Dataset test, Backend backend, LatentModel model, long seed, Binarization training, int[] image) {
        this.test = test;
        this.backend = backend;
        this.model = model;
        this.seed = seed;
        this.training = training;
        this.image = image.clone();
    }

    /**
     * Opens the backend, restores the checkpoint's model and loads the test split (its first
     * {@code limit} examples when {@code limit > 0}). A usage error (exit 2) when the model is not
     * a {@link LatentModel}, its code is not 2-D where {@code twoDimensional} (the subcommand's
     * name) asks for it, the data does not fit it, or a conditional model meets unlabelled data.
     * The model is checked before the data is read, so a wrong model is refused at once.
     */
    static LatentSession open(Checkpoint c, DataOptions data, DeviceOptions device, int limit, Long seed,
            java.io.PrintWriter err, String twoDimensional) throws IOException {
        LatentSession bare = openModel(c, device, seed);
        try {
            if (twoDimensional != null) bare.requireTwoDimensions(twoDimensional);
            Dataset test = data.loadFor(c, "test", limit, err, "elbo4j latent");
            if (bare.conditional() && !test.hasLabels()) {
                throw new Main.UsageException("the '" + c.model().type() + "' model is conditional and needs labels; "
                        + data.name() + " has none");
            }
            return new LatentSession(test, bare.backend, bare.model, bare.seed, bare.training, bare.image);
        } catch (IOException | RuntimeException e) {
            bare.close();
            throw e;
        }
    }

    /**
     * The backend and the checkpoint's model without test data ({@code test} null), for work that
     * only decodes: {@link #n()}, {@link #inputs()}, {@link #encode} and {@link #labels()} then do
     * not apply. A usage error when the model is not a {@link LatentModel}, or is one whose decoder needs
     * a class beside each code (M2's; {@link LabelUse#SOME}).
     */
    static LatentSession openModel(Checkpoint c, DeviceOptions device, Long seed) {
        Binarization mode = c.training() == null ? Binarization.DYNAMIC : c.training().binarization();
        long s = seed != null ? seed : c.training() == null ? 1 : c.training().seed();
        Backend be = device.open(c.model());
        Model m;
        try {
            m = c.restoreModel(be);
        } catch (RuntimeException e) {
            be.close();
            throw e;
        }
        if (!(m instanceof LatentModel lm)) {
            m.close();
            be.close();
            throw new Main.UsageException("the checkpoint holds a '" + c.model().type()
                    + "' model, which has no latent code to encode and decode (latent needs a vae, cvae or m2)");
        }
        return new LatentSession(null, be, lm, s, mode, c.image());
    }

    /** N, the test examples in use. */
    int n() {
        return test.n();
    }

    /** Z, the code's dimension. */
    int latent() {
        return model.latent();
    }

    /** Pixels per example, D. */
    int dim() {
        return test.dim();
    }

    /** Whether the model takes one-hot labels with its inputs. */
    boolean conditional() {
        return model.config().labelUse() == LabelUse.ALL;
    }

    /**
     * Whether the decoder takes a one-hot label with each code: the conditional models and M2,
     * whose p(x|y,z) needs y although its encoder can guess y from x.
     */
    boolean decodesWithLabels() {
        return model.config().classes() > 0;
    }

    /** The test labels (N), or null for unlabelled data. */
    int[] labels() {
        if (!test.hasLabels()) return null;
        int[] l = new int[test.n()];
        for (int i = 0; i < l.length; i++) l[i] = test.label(i);
        return l;
    }

    /** A usage error unless 0 <= index < N; {@code flag} names it. */
    void checkIndex(String flag, int index) {
        if (index < 0 || index >= n()) {
            throw new Main.UsageException(flag + " must be a test index in 0.." + (n() - 1) + ", got " + index);
        }
    }

    /** Every test input as the model sees it, N x D, computed once. */
    float[] inputs() {
        if (inputs != null) return inputs;
        int n = n(), d = dim();
        Binarization shown = training == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        float[] all = new float[n * d];
        try (DeviceDataset dd = new DeviceDataset(backend, test); Tensor x = backend.alloc(model.dtype(), Math.min(n, BATCH), d)) {
            for (int from = 0; from < n; from += BATCH) {
                int b = Math.min(BATCH, n - from);
                Tensor xb = x.rowSlice(0, b);
                dd.gather(from, shown, new RngKey(seed, Streams.EVAL_BINARIZE, 0), xb);
                double[] v = backend.download(xb);
                for (int i = 0; i < v.length; i++) all[from * d + i] = (float) v[i];
            }
        }
        inputs = all;
        return all;
    }

    /** The inputs at {@code indices}, in that order, as a flat array indices.length x D. */
    float[] inputs(int[] indices) {
        float[] all = inputs();
        int d = dim();
        float[] out = new float[indices.length * d];
        for (int k = 0; k < indices.length; k++) System.arraycopy(all, indices[k] * d, out, k * d, d);
        return out;
    }

    /** The codes (the model's {@link LatentModel#encodeMean}) of the inputs at {@code indices}, indices.length x Z. */
    float[] encode(int[] indices) {
        int z = latent();
        float[] codes = new float[indices.length * z];
        int[] labels = labels();
        for (int from = 0; from < indices.length; from += BATCH) {
            int b = Math.min(BATCH, indices.length - from);
            int[] part = java.util.Arrays.copyOfRange(indices, from, from + b);
            try (Tensor x = backend.alloc(model.dtype(), b, dim()); Tensor y = labelTensor(part, labels)) {
                backend.write(x, inputs(part));
                System.arraycopy(model.encodeMean(x, y), 0, codes, from * z, b * z);
            }
        }
        return codes;
    }

    /** The codes of every test input, N x Z. */
    float[] encodeAll() {
        int[] all = new int[n()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return encode(all);
    }

    /**
     * Decodes codes (rows x Z, flat) into the likelihood's means, rows x D. {@code labels} gives
     * each row's class for a conditional model (required there, ignored otherwise).
     */
    float[] decode(float[] codes, int[] labels) {
        int z = latent(), rows = codes.length / z;
        if (decodesWithLabels() && (labels == null || labels.length != rows)) {
            throw new IllegalArgumentException("a '" + model.config().type() + "' model decodes with a label for each of the " + rows + " codes");
        }
        try (Tensor t = backend.alloc(model.dtype(), rows, z); Tensor y = decodesWithLabels() ? oneHot(labels) : null) {
            backend.write(t, codes);
            return model.decodeMean(t, y);
        }
    }

    /** The one-hot labels of the inputs at {@code indices} for a conditional model, else null. */
    private Tensor labelTensor(int[] indices, int[] labels) {
        if (!conditional()) return null;
        int[] l = new int[indices.length];
        for (int k = 0; k < l.length; k++) l[k] = labels[indices[k]];
        return oneHot(l);
    }

    /** labels.length x C one-hot rows on the backend; a usage error for a label the model does not know. */
    private Tensor oneHot(int[] labels) {
        int c = model.config().classes();
        float[] hot = new float[labels.length * c];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= c) {
                throw new Main.UsageException("label " + labels[i] + " is outside the model's classes 0.." + (c - 1));
            }
            hot[i * c + labels[i]] = 1;
        }
        Tensor t = backend.alloc(model.dtype(), labels.length, c);
        backend.write(t, hot);
        return t;
    }

    /** Image height and width, as the checkpoint records them. */
    int[] image() {
        return image.clone();
    }

    /** A usage error unless the code is 2-D; {@code what} names the subcommand. */
    void requireTwoDimensions(String what) {
        if (latent() != 2) {
            throw new Main.UsageException(what + " needs a 2-D latent space; the checkpoint's model has " + latent()
                    + " dimensions (train with --latent 2)");
        }
    }

    /**
     * The class to decode with for a model that decodes with labels (cvae, m2): {@code label} (a
     * usage error outside 0..C-1), else {@code fallback}; for an unconditional model a usage error
     * if a label was given, else -1.
     */
    int decodeLabel(Integer label, int fallback) {
        int c = model.config().classes();
        if (!decodesWithLabels()) {
            if (label != null) {
                throw new Main.UsageException("--label: the checkpoint's '" + model.config().type()
                        + "' model is unconditional; it takes no label");
            }
            return -1;
        }
        int l = label != null ? label : fallback;
        if (l < 0 || l >= c) throw new Main.UsageException("--label must be in 0.." + (c - 1) + ", got " + l);
        return l;
    }

    @Override
    public void close() {
        model.close();
        backend.close();
    }
}
