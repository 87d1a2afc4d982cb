package dev.elbo4j.cli;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.HostMemory;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.train.TrainConfig;

import java.util.Locale;

/**
 * What a command will need on the Java heap, checked before anything large is allocated, so that a
 * model or batch too large for the heap ends in one line with the figures, not an
 * {@link OutOfMemoryError} from deep inside a backend.
 */
final class MemoryPlan {
    private MemoryPlan() {
    }

    /**
     * Training: the parameters with their gradients and Adam's two moments (and the initial values'
     * host copy), on the CPU also the data uploaded to the backend and the batch's activations
     * (about four buffers of batch x width per layer: outputs, pre-activations and their
     * gradients). An estimate from below: a run that passes may still need somewhat more.
     */
    static void checkTraining(ModelConfig cfg, TrainConfig tc, Dataset train, Dataset test, Backend be) {
        long params = 0, widths = 0;
        try {
            for (Parameters.Spec s : cfg.parameterLayout().specs()) {
                params += s.shape().size();
                if (s.shape().rank() == 2) widths += s.shape().dim(0);
            }
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("the model is too large: " + e.getMessage());
        }
        boolean host = be.name().equals("cpu");
        long batch = Math.min(tc.batchSize(), train.n());
        long bytes = params * 4L * (host ? 5 : 1);
        if (host) {
            bytes += (long) train.images().length + test.images().length;
            bytes += batch * widths * 4L * 4;
        }
        HostMemory.require(bytes, String.format(Locale.ROOT, "training this %s model (%,d parameters, batch %d)",
                cfg.type(), params, batch));
    }
}
