package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.cuda.jcuda.JCudaBinding;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.elbo4j.backend.cuda.Parity.assertBits;
import static dev.elbo4j.backend.cuda.Parity.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * GPU suite: the jcuda binding against the FFM binding. The same training steps of the reference
 * VAE (synthetic data of {@link CudaTrainingParityTest#synthetic}) through a backend on each
 * binding must give the same bits: the kernels, the fatbin and cuBLAS are the same, only the way
 * Java reaches them differs. Where JCublas2 cannot load (a CUDA 13 host without
 * {@code libcublas.so.12}) the jcuda backend's GEMMs go through the FFM cuBLAS binding, which the
 * printed description shows. Skipped where {@link GpuAvailable} finds no GPU.
 */
class JCudaParityTest {
    private static final int N = 512, D = 784, BATCH = 128, STEPS = 3;
    private static final long SEED = 11;

    private record Run(double[] losses, Map<String, float[]> params) {
    }

    private static Run train(Backend be, Dataset train) {
        VaeConfig cfg = VaeConfig.builder().build();
        try (Vae vae = Vae.create(be, cfg, SEED); DeviceDataset data = new DeviceDataset(be, train);
             Vae.Pass pass = vae.pass(BATCH, cfg.samples(), true); Adam adam = new Adam(vae.parameters(), AdamConfig.of(1e-3));
             Tensor x = be.alloc(DType.F32, BATCH, D)) {
            double[] losses = new double[STEPS];
            data.order(dev.elbo4j.rng.Philox.permutation(new RngKey(SEED, Streams.SHUFFLE, 0), N));
            for (int s = 0; s < STEPS; s++) {
                data.gather(s * BATCH, Binarization.DYNAMIC, new RngKey(SEED, Streams.BINARIZE, 0), x);
                pass.run(x, new RngKey(SEED, Streams.LATENT, adam.steps()));
                losses[s] = pass.meanLoss();
                adam.step();
            }
            Map<String, float[]> params = new LinkedHashMap<>();
            for (String name : vae.parameters().names()) params.put(name, floats(be.download(vae.parameters().value(name))));
            return new Run(losses, params);
        }
    }

    @Test
    void theSameTrainingStepsGiveTheSameBitsThroughBothBindings() {
        CudaBackend ffm = GpuAvailable.backend();
        Dataset data = CudaTrainingParityTest.synthetic(N, 3);
        List<String> notes = new ArrayList<>();
        CudaBackend jcuda;
        try {
            jcuda = CudaBackend.open(new JCudaBinding(false, LibrarySearch.cublas(), notes::add), ffm.ordinal());
        } catch (BackendUnavailableException e) {
            fail("the FFM binding runs here but the jcuda binding does not: " + e.reasons());
            return;
        }
        try (jcuda) {
            System.out.println("jcuda parity: ffm " + ffm.description() + "; jcuda " + jcuda.description() + "; notes " + notes);
            Run a = train(ffm, data), b = train(jcuda, data);
            assertArrayEquals(a.losses(), b.losses(), 0, "per-step losses, ffm vs jcuda");
            for (String name : a.params().keySet()) {
                assertBits(name + " after " + STEPS + " steps, ffm vs jcuda", a.params().get(name), b.params().get(name));
            }
        }
    }
}
