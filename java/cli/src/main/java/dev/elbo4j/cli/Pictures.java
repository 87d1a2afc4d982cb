package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Png;
import dev.elbo4j.model.Generative;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Reconstructing;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;

/** The PNG grids: prior samples, and test inputs above their reconstructions. */
final class Pictures {
    private Pictures() {
    }

    /** A grid of n samples; a conditional model cycles through its classes (label < 0) or draws one class. */
    static void samples(Path file, Generative vae, int[] image, int n, long seed, long call, int label) throws IOException {
        float[] s = vae.sample(n, new RngKey(seed, Streams.SAMPLE, call), label);
        int cols = (int) Math.ceil(Math.sqrt(n));
        Png.writeGrid(file, s, n, image, cols, 2);
    }

    /**
     * Rows of {@code cols} inputs, each followed by a row of their reconstructions: examples
     * {@code first .. first + n - 1} of {@code data} (n cut to what the data has). Inputs are shown as
     * the model sees them (binarised with the evaluation draw when the model was trained so); the
     * draw of an example depends on its index in {@code data}, not on {@code first}, so an input
     * looks the same in every slice (and as {@code eval} and {@code latent} see it).
     */
    static void reconstructions(Path file, Reconstructing vae, Dataset data, int first, int n, Binarization mode, long seed)
            throws IOException {
        if (first < 0 || first >= data.n()) throw new IllegalArgumentException("first example " + first + " of " + data.n());
        Backend be = vae.backend();
        n = Math.min(n, data.n() - first);
        int d = vae.config().inputDim(), cols = Math.min(n, 8), classes = vae.config().classes();
        Binarization shown = mode == Binarization.NONE ? Binarization.NONE : Binarization.FIXED;
        float[] inputs = new float[n * d];
        float[] recon;
        boolean conditional = vae.config().labelUse() == LabelUse.ALL;
        // The examples up to the last one shown are uploaded, so that each is gathered at its own index.
        try (DeviceDataset dd = new DeviceDataset(be, data.subset(first + n), conditional ? classes : 0);
             Tensor x = be.alloc(vae.dtype(), n, d); Tensor y = conditional ? be.alloc(vae.dtype(), n, classes) : null) {
            dd.gather(first, shown, new RngKey(seed, Streams.EVAL_BINARIZE, 0), x);
            if (y != null) dd.gatherLabels(first, y);
            double[] xs = be.download(x);
            for (int i = 0; i < xs.length; i++) inputs[i] = (float) xs[i];
            recon = vae.reconstruct(x, y);
        }
        int rowsOfPairs = (n + cols - 1) / cols;
        float[] grid = new float[rowsOfPairs * 2 * cols * d]; // unused cells stay black (0)
        for (int i = 0; i < n; i++) {
            int r = i / cols, c = i % cols;
            System.arraycopy(inputs, i * d, grid, ((2 * r) * cols + c) * d, d);
            System.arraycopy(recon, i * d, grid, ((2 * r + 1) * cols + c) * d, d);
        }
        Png.writeGrid(file, grid, rowsOfPairs * 2 * cols, data.imageShape(), cols, 2);
    }
}
