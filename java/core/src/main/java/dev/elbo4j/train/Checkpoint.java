package dev.elbo4j.train;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Vae;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained model, and optionally the training state, in a safetensors file: every parameter as
 * an F32 tensor named as in {@link Vae} (weights [out, in] like PyTorch's {@code nn.Linear}),
 * Adam's moments as {@code optim.m} / {@code optim.v} (flat, in parameter order), and JSON
 * metadata: {@code model} (architecture), {@code training} (hyper-parameters and seed) and
 * {@code state} (position). {@code docs/FORMAT.md} documents every key.
 *
 * @param model    the architecture
 * @param image    rows and columns of one example (for pictures)
 * @param training how it was trained (null for a bare model)
 * @param state    where training stopped (null for a bare model)
 * @param file     the parsed file, for the tensors
 */
public record Checkpoint(VaeConfig model, int[] image, TrainConfig training, State state, SafeTensors.File file) {

    public static final String FORMAT = "elbo4j.vae/1";
    public static final String OPTIM_M = "optim.m";
    public static final String OPTIM_V = "optim.v";

    /**
     * The position of a training run. Random numbers are a pure function of (seed, epoch, step),
     * so this is also the random generator's position.
     *
     * @param epoch        epochs completed
     * @param batchInEpoch batches of the current epoch completed
     * @param step         optimizer steps taken (Adam's bias-correction counter)
     */
    public record State(int epoch, int batchInEpoch, long step) {
    }

    /** Writes the model and the trainer's complete state atomically. */
    public static void save(Path path, Trainer trainer, int[] image) throws IOException {
        Vae vae = trainer.model();
        SafeTensors.File f = modelFile(vae, image);
        Adam adam = trainer.optimizer();
        f.putFloats(OPTIM_M, new int[]{vae.parameters().size()}, floats(vae.backend(), adam.m()));
        f.putFloats(OPTIM_V, new int[]{vae.parameters().size()}, floats(vae.backend(), adam.v()));
        f.putMetadata("training", Json.write(trainingJson(trainer.config())));
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("epoch", trainer.epoch());
        state.put("batch_in_epoch", trainer.batchInEpoch());
        state.put("step", adam.steps());
        f.putMetadata("state", Json.write(state));
        SafeTensors.write(path, f);
    }

    /** Writes the model alone (no optimizer state): enough for eval, sample and reconstruct. */
    public static void saveModel(Path path, Vae vae, int[] image) throws IOException {
        SafeTensors.write(path, modelFile(vae, image));
    }

    private static SafeTensors.File modelFile(Vae vae, int[] image) {
        SafeTensors.File f = new SafeTensors.File();
        f.putMetadata("format", FORMAT);
        f.putMetadata("model", Json.write(modelJson(vae.config(), image)));
        Parameters p = vae.parameters();
        for (Parameters.Spec s : p.specs()) {
            f.putFloats(s.name(), s.shape().dims(), floats(vae.backend(), p.value(s.name())));
        }
        return f;
    }

    private static float[] floats(Backend be, Tensor t) {
        double[] d = be.download(t);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static Map<String, Object> modelJson(VaeConfig c, int[] image) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "vae");
        m.put("input_dim", c.inputDim());
        m.put("image_shape", image);
        m.put("encoder_hidden", c.encoderHidden());
        m.put("latent", c.latent());
        m.put("decoder_hidden", c.decoderHidden());
        m.put("activation", c.activation().name().toLowerCase(java.util.Locale.ROOT));
        m.put("likelihood", c.likelihood().id());
        if (c.likelihood().kind() == Likelihood.Kind.GAUSSIAN_FIXED) m.put("sigma", c.likelihood().sigma());
        m.put("samples", c.samples());
        m.put("beta", c.beta());
        return m;
    }

    static Map<String, Object> trainingJson(TrainConfig t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", t.epochs());
        m.put("batch_size", t.batchSize());
        m.put("optimizer", "adam");
        m.put("lr", t.adam().lr());
        m.put("beta1", t.adam().beta1());
        m.put("beta2", t.adam().beta2());
        m.put("eps", t.adam().eps());
        m.put("weight_decay", t.adam().weightDecay());
        m.put("binarization", t.binarization().name().toLowerCase(java.util.Locale.ROOT));
        m.put("seed", Long.toString(t.seed()));
        return m;
    }

    /** Reads and validates a checkpoint: the metadata must describe a model whose tensors are all present. */
    public static Checkpoint load(Path path) throws IOException {
        SafeTensors.File f = SafeTensors.read(path);
        Meta meta = new Meta(path, f);
        String format = f.metadata("format");
        if (!FORMAT.equals(format)) {
            throw new DataFormatException(path, "not an elbo4j VAE checkpoint (metadata format is "
                    + (format == null ? "missing" : "'" + format + "'") + ", expected '" + FORMAT + "')");
        }
        Map<String, Object> m = meta.object("model");
        VaeConfig cfg;
        int[] image;
        try {
            String lik = meta.string(m, "likelihood");
            cfg = VaeConfig.builder().inputDim(meta.integer(m, "input_dim"))
                    .encoderHidden(meta.ints(m, "encoder_hidden")).latent(meta.integer(m, "latent"))
                    .decoderHidden(meta.ints(m, "decoder_hidden"))
                    .activation(Activation.parse(meta.string(m, "activation")))
                    .likelihood(Likelihood.parse(lik, "gaussian".equals(lik) ? meta.number(m, "sigma") : 0))
                    .samples(meta.integer(m, "samples")).beta(meta.number(m, "beta")).build();
            image = meta.ints(m, "image_shape");
            if (image.length != 2 || (long) image[0] * image[1] != cfg.inputDim()) {
                throw new IllegalArgumentException("image_shape " + java.util.Arrays.toString(image)
                        + " does not multiply to input_dim " + cfg.inputDim());
            }
        } catch (IllegalArgumentException e) {
            throw new DataFormatException(path, "metadata 'model' is invalid: " + e.getMessage());
        }
        TrainConfig training = null;
        State state = null;
        if (f.metadata("training") != null) {
            Map<String, Object> t = meta.object("training");
            Map<String, Object> s = meta.object("state");
            try {
                training = new TrainConfig(meta.integer(t, "epochs"), meta.integer(t, "batch_size"),
                        new AdamConfig(meta.number(t, "lr"), meta.number(t, "beta1"), meta.number(t, "beta2"),
                                meta.number(t, "eps"), meta.number(t, "weight_decay")),
                        Binarization.parse(meta.string(t, "binarization")), Long.parseLong(meta.string(t, "seed")));
                state = new State(meta.integer(s, "epoch"), meta.integer(s, "batch_in_epoch"), meta.longValue(s, "step"));
                if (state.epoch() < 0 || state.batchInEpoch() < 0 || state.step() < 0) {
                    throw new IllegalArgumentException("negative position " + state);
                }
            } catch (IllegalArgumentException e) {
                throw new DataFormatException(path, "metadata 'training'/'state' is invalid: " + e.getMessage());
            }
        }
        Checkpoint c = new Checkpoint(cfg, image, training, state, f);
        // Every parameter the architecture implies must be there with its exact shape.
        int total = 0;
        for (Parameters.Spec s : Vae.parameterLayout(cfg).specs()) {
            f.require(s.name(), "F32", s.shape().dims());
            total += s.shape().size();
        }
        if (training != null) {
            f.require(OPTIM_M, "F32", total);
            f.require(OPTIM_V, "F32", total);
        }
        return c;
    }

    /** A model on {@code backend} with this checkpoint's parameters. */
    public Vae restoreModel(Backend backend) {
        Vae vae = Vae.create(backend, model, 0);
        for (Parameters.Spec s : vae.parameters().specs()) {
            backend.write(vae.parameters().value(s.name()), file.getFloats(s.name()));
        }
        return vae;
    }

    /**
     * Puts a trainer built from this checkpoint's model and training config back to where the run
     * stopped: optimizer moments, step counter and position.
     */
    public void restoreTraining(Trainer trainer) {
        if (state == null) throw new IllegalStateException("this checkpoint holds a bare model, no training state");
        trainer.optimizer().restore(file.getFloats(OPTIM_M), file.getFloats(OPTIM_V), state.step());
        trainer.restorePosition(state.epoch(), state.batchInEpoch());
    }

    /** Typed access to the JSON metadata with errors that name the file and key. */
    private record Meta(Path path, SafeTensors.File f) {
        Map<String, Object> object(String key) throws DataFormatException {
            String v = f.metadata(key);
            if (v == null) throw new DataFormatException(path, "metadata '" + key + "' is missing");
            try {
                return Json.parseObject(v);
            } catch (IllegalArgumentException e) {
                throw new DataFormatException(path, "metadata '" + key + "' is not a JSON object: " + e.getMessage());
            }
        }

        private Object get(Map<String, Object> m, String key) {
            Object v = m.get(key);
            if (v == null) throw new IllegalArgumentException("'" + key + "' is missing");
            return v;
        }

        String string(Map<String, Object> m, String key) {
            if (get(m, key) instanceof String s) return s;
            throw new IllegalArgumentException("'" + key + "' must be a string");
        }

        double number(Map<String, Object> m, String key) {
            if (get(m, key) instanceof Number n) return n.doubleValue();
            throw new IllegalArgumentException("'" + key + "' must be a number");
        }

        long longValue(Map<String, Object> m, String key) {
            if (get(m, key) instanceof Long n) return n;
            throw new IllegalArgumentException("'" + key + "' must be an integer");
        }

        int integer(Map<String, Object> m, String key) {
            long v = longValue(m, key);
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + key + "' is out of range");
            return (int) v;
        }

        int[] ints(Map<String, Object> m, String key) {
            if (!(get(m, key) instanceof List<?> l)) throw new IllegalArgumentException("'" + key + "' must be an array");
            if (l.size() > 64) throw new IllegalArgumentException("'" + key + "' has too many entries");
            int[] r = new int[l.size()];
            for (int i = 0; i < r.length; i++) {
                if (!(l.get(i) instanceof Long n) || n < 0 || n > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("'" + key + "' must hold non-negative integers");
                }
                r[i] = (int) (long) n;
            }
            return r;
        }
    }
}
