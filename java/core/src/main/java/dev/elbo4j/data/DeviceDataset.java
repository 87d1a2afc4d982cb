package dev.elbo4j.data;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;

/**
 * A data set resident on a backend as 8-bit pixels (N x D), with an index buffer that says which
 * examples form the batches. Batches are gathered, scaled and binarised on the backend.
 */
public final class DeviceDataset implements AutoCloseable {
    private final Backend backend;
    private final Dataset host;
    private final Tensor pixels;
    private final Tensor index;

    public DeviceDataset(Backend backend, Dataset host) {
        this.backend = backend;
        this.host = host;
        int n = host.n(), d = host.rows() * host.cols();
        this.pixels = backend.upload(host.images(), Shape.of(n, d));
        int[] identity = new int[n];
        for (int i = 0; i < n; i++) identity[i] = i;
        this.index = backend.upload(identity, Shape.of(n));
    }

    public Dataset host() {
        return host;
    }

    public int size() {
        return host.n();
    }

    /** Pixels per example. */
    public int dim() {
        return pixels.cols();
    }

    /** Sets the order of the examples (a permutation of 0..N-1) used by {@link #gather}. */
    public void order(int[] permutation) {
        if (permutation.length != size()) {
            throw new IllegalArgumentException("order of " + permutation.length + " for " + size() + " examples");
        }
        backend.write(index, permutation);
    }

    /** Writes examples order[from .. from + out.rows) into out, scaled and binarised. */
    public void gather(int from, Binarization mode, RngKey key, Tensor out) {
        backend.gather(pixels, index, from, mode, key, out);
    }

    @Override
    public void close() {
        pixels.close();
        index.close();
    }
}
