package dev.elbo4j.train;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.io.DataFormatException;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.ModelConfigs;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.optim.Adam;
import dev.elbo4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A trained model, and optionally the training state, in a safetensors file: every parameter as
 * an F32 tensor named as the model names it (weights [out, in] like PyTorch's {@code nn.Linear}),
 * Adam's moments as {@code optim.m} / {@code optim.v} (flat, in parameter order), the training
 * step's own state as {@code train.<name>} (e.g. {@code train.chains}, PCD's persistent chains), and JSON
 * metadata: {@code model} (architecture, with its {@code type}: vae, ae, cvae, m2), {@code training} (hyper-parameters and seed) and
 * {@code state} (position), and {@code compute} (the numerics of the backend that computed it).
 * {@code docs/FORMAT.md} documents every key.
 *
 * @param model    the architecture
 * @param image    rows and columns of one example (for pictures)
 * @param training how it was trained (null for a bare model)
 * @param state    where training stopped (null for a bare model)
 * @param file     the parsed file, for the tensors
 */
public record Checkpoint(ModelConfig model, int[] image, TrainConfig training, State state, SafeTensors.File file) {

    /** The {@code format} metadata of a checkpoint elbo4j writes. */
    public static final String FORMAT = "elbo4j.vae/1";
    /**
     * The tensor name of Adam's first moments, stored densely (the parameters' values without alignment gaps,
     * in order).
     */
    public static final String OPTIM_M = "optim.m";
    /** The tensor name of Adam's second moments, stored as {@link #OPTIM_M}. */
    public static final String OPTIM_V = "optim.v";
    /** Prefix of the training step's own state ({@link Trainer#stepState()}): tensor {@code train.<name>}. */
    public static final String TRAIN_STATE = "train.";

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

    /**
     * Writes the model and the trainer's complete state atomically.
     *
     * @throws IOException when the file cannot be written; a previous file at {@code path} is then unchanged
     * @throws NonFiniteException when a parameter, optimizer or training-state tensor is not finite; nothing is
     *     written
     */
    public static void save(Path path, Trainer trainer, int[] image) throws IOException {
        save(path, trainer, image, null);
    }

    /**
     * As {@link #save(Path, Trainer, int[])}, recording where the training data came from under
     * the {@code training} metadata's {@code data} key (docs/FORMAT.md lists what the CLI
     * records: path, format, sizes, content hash, limits, scaling); {@code null} records nothing.
     *
     * @throws IOException when the file cannot be written; a previous file at {@code path} is then unchanged
     * @throws NonFiniteException when a parameter, optimizer or training-state tensor is not finite; nothing is
     *     written
     */
    public static void save(Path path, Trainer trainer, int[] image, Map<String, Object> data) throws IOException {
        save(path, trainer, image, data, null);
    }

    /**
     * As {@link #save(Path, Trainer, int[], Map)}, also writing {@code selection} as the
     * {@code selection} metadata: the model-selection state of the run (the CLI's: what the best
     * epoch is selected on, {@code --keep-best}, {@code --early-stop}'s patience and a
     * {@link BestTracker#toJson()}; docs/FORMAT.md), read back by {@link #selection()} on resume;
     * {@code null} writes none.
     *
     * @throws IOException when the file cannot be written; a previous file at {@code path} is then unchanged
     * @throws NonFiniteException when a parameter, optimizer or training-state tensor is not finite; nothing is
     *     written
     */
    public static void save(Path path, Trainer trainer, int[] image, Map<String, Object> data, Map<String, Object> selection)
            throws IOException {
        Model vae = trainer.model();
        String[] bad = new String[2]; // the first non-finite parameter, the first non-finite training tensor
        SafeTensors.File f = modelFile(vae, image, bad);
        Adam adam = trainer.optimizer();
        Parameters ps = vae.parameters(); // the moments are stored densely, without the views' alignment gaps
        putChecked(f, OPTIM_M, new int[]{ps.count()}, ps.dense(floats(vae.backend(), adam.m())), bad);
        putChecked(f, OPTIM_V, new int[]{ps.count()}, ps.dense(floats(vae.backend(), adam.v())), bad);
        for (Map.Entry<String, Tensor> e : trainer.stepState().entrySet()) {
            putChecked(f, TRAIN_STATE + e.getKey(), e.getValue().shape().dims(), floats(vae.backend(), e.getValue()), bad);
        }
        Map<String, Object> training = trainingJson(trainer.config());
        if (data != null) training.put("data", data);
        f.putMetadata("training", Json.write(training));
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("epoch", trainer.epoch());
        state.put("batch_in_epoch", trainer.batchInEpoch());
        state.put("step", adam.steps());
        f.putMetadata("state", Json.write(state));
        if (selection != null) f.putMetadata("selection", Json.write(selection));
        Map<String, Object> compute = new LinkedHashMap<>();
        compute.put("backend", vae.backend().name());
        compute.put("numerics", vae.backend().numerics());
        f.putMetadata("compute", Json.write(compute));
        String first = bad[0] != null ? bad[0] : bad[1];
        if (first != null) {
            // A diverged update (a huge learning rate or weight decay, a moment that overflowed)
            // must never replace the last good checkpoint.
            throw new NonFiniteException("refusing to write " + path + " after step " + adam.steps() + ": " + first
                    + "; the checkpoint on disk was left as it was", adam.steps(), FiniteGuard.nameOf(first));
        }
        SafeTensors.write(path, f);
    }

    /**
     * Puts {@code values} into {@code f}; with {@code bad} non-null, records the first non-finite
     * tensor, described as "TENSOR (k of n values non-finite, first at index i: NaN)": parameters in
     * {@code bad[0]}, the optimizer moments and the training step's state in {@code bad[1]}.
     */
    private static void putChecked(SafeTensors.File f, String name, int[] shape, float[] values, String[] bad) {
        if (bad != null) {
            boolean training = name.equals(OPTIM_M) || name.equals(OPTIM_V) || name.startsWith(TRAIN_STATE);
            int slot = training ? 1 : 0;
            if (bad[slot] == null) bad[slot] = FiniteGuard.describe((training ? "optimizer state " : "parameter ") + name, values);
        }
        f.putFloats(name, shape, values);
    }

    /**
     * The first parameter (or, with {@code trainingState}, optimizer moment or training-step
     * tensor) holding a NaN or an infinity, as "parameter NAME (k of n values non-finite, first at
     * index i: NaN)"; null when all are finite. A model with such weights computes nothing
     * meaningful: commands refuse it.
     */
    public String nonFinite(boolean trainingState) {
        for (Parameters.Spec s : model.parameterLayout().specs()) {
            String d = FiniteGuard.describe("parameter " + s.name(), file.getFloats(s.name()));
            if (d != null) return d;
        }
        if (!trainingState || state == null) return null;
        for (String name : file.names()) {
            if (name.equals(OPTIM_M) || name.equals(OPTIM_V) || name.startsWith(TRAIN_STATE)) {
                String d = FiniteGuard.describe("optimizer state " + name, file.getFloats(name));
                if (d != null) return d;
            }
        }
        return null;
    }

    /**
     * Throws a {@link DataFormatException} naming the file and the first non-finite tensor, if any.
     *
     * @throws DataFormatException naming the file and the first NaN or infinity, among the parameters and, with
     *     {@code trainingState}, the optimizer moments and the training step's state
     */
    public void requireFinite(boolean trainingState) throws DataFormatException {
        String bad = nonFinite(trainingState);
        if (bad != null) {
            throw new DataFormatException(file.source() == null ? Path.of("<in-memory>") : file.source(),
                    bad + ": the run that wrote it diverged; use an earlier checkpoint");
        }
    }

    /**
     * Writes the model alone (no optimizer state): enough for eval, sample and reconstruct.
     *
     * @throws IOException when the file cannot be written; a previous file at {@code path} is then unchanged
     */
    public static void saveModel(Path path, Model vae, int[] image) throws IOException {
        SafeTensors.write(path, modelFile(vae, image, null));
    }

    /** An example's image shape: [rows, cols] or [rows, cols, 3], multiplying to the model's input size. */
    private static void checkImage(ModelConfig cfg, int[] image, String name) {
        if (image == null) throw new IllegalArgumentException(name + " must not be null; give the rows and columns of one example");
        long size = 1;
        for (int v : image) size *= v;
        boolean positive = java.util.Arrays.stream(image).allMatch(v -> v > 0);
        if (image.length < 2 || image.length > 3 || image.length == 3 && image[2] != 3 || !positive || size != cfg.inputDim()) {
            throw new IllegalArgumentException(name + " " + java.util.Arrays.toString(image)
                    + " must be [rows, cols] or [rows, cols, 3] and multiply to input_dim " + cfg.inputDim());
        }
    }

    private static SafeTensors.File modelFile(Model vae, int[] image, String[] bad) {
        if (vae.parameters().isClosed()) throw new IllegalStateException("the " + vae.config().type() + " model was closed: there are no parameters left to save");
        checkImage(vae.config(), image, "image"); // a file load() would refuse is not written
        SafeTensors.File f = new SafeTensors.File();
        f.putMetadata("format", FORMAT);
        f.putMetadata("model", Json.write(modelJson(vae.config(), image)));
        Parameters p = vae.parameters();
        for (Parameters.Spec s : p.specs()) {
            putChecked(f, s.name(), s.shape().dims(), floats(vae.backend(), p.value(s.name())), bad);
        }
        return f;
    }

    private static float[] floats(Backend be, Tensor t) {
        double[] d = be.download(t);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** The {@code model} metadata of a checkpoint of this architecture (docs/FORMAT.md). */
    public static Map<String, Object> modelJson(ModelConfig c, int[] image) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", c.type());
        m.put("image_shape", image);
        m.putAll(c.toJson());
        return m;
    }

    /** The {@code training} metadata of a checkpoint of a run with these settings (docs/FORMAT.md). */
    public static Map<String, Object> trainingJson(TrainConfig t) {
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
        m.put("warmup_epochs", t.warmupEpochs());
        m.put("labelled", t.labelled());
        m.put("lr_schedule", t.schedule().spec());
        return m;
    }

    /**
     * Reads and validates a checkpoint: the metadata must describe a model whose tensors are all present.
     *
     * @throws DataFormatException naming the file and the problem when it is not a valid checkpoint
     * @throws IOException when it cannot be read
     */
    public static Checkpoint load(Path path) throws IOException {
        return load(path, Set.of(FORMAT));
    }

    /**
     * {@link #load(Path)} of a file whose metadata format is one of {@code formats}: {@link #FORMAT},
     * or another that carries the same model metadata and parameters (an export's
     * {@code model.safetensors}, which holds no training, reads as a bare model).
     *
     * @throws DataFormatException naming the file and the problem when it is not a valid checkpoint of one of
     *     {@code formats}
     * @throws IOException when it cannot be read
     */
    public static Checkpoint load(Path path, Set<String> formats) throws IOException {
        SafeTensors.File f = SafeTensors.read(path);
        Meta meta = new Meta(path, f);
        String format = f.metadata("format");
        if (format == null || !formats.contains(format)) { // Set.of(...).contains(null) throws
            throw new DataFormatException(path, "not an elbo4j checkpoint (metadata format is "
                    + (format == null ? "missing" : "'" + format + "'") + ", expected '" + String.join("' or '", new java.util.TreeSet<>(formats))
                    + "')");
        }
        Map<String, Object> m = meta.object("model");
        ModelConfig cfg;
        int[] image;
        try {
            cfg = ModelConfigs.fromJson(m);
            image = JsonFields.ints(m, "image_shape");
            checkImage(cfg, image, "image_shape");
        } catch (IllegalArgumentException e) {
            throw new DataFormatException(path, "metadata 'model' is invalid: " + e.getMessage());
        }
        TrainConfig training = null;
        State state = null;
        if (f.metadata("training") != null) {
            Map<String, Object> t = meta.object("training");
            Map<String, Object> s = meta.object("state");
            try {
                training = new TrainConfig(JsonFields.integer(t, "epochs"), JsonFields.integer(t, "batch_size"),
                        new AdamConfig(JsonFields.number(t, "lr"), JsonFields.number(t, "beta1"), JsonFields.number(t, "beta2"),
                                JsonFields.number(t, "eps"), JsonFields.number(t, "weight_decay")),
                        Binarization.parse(JsonFields.string(t, "binarization")), Long.parseLong(JsonFields.string(t, "seed")),
                        JsonFields.has(t, "warmup_epochs") ? JsonFields.number(t, "warmup_epochs") : 0,
                        JsonFields.has(t, "labelled") ? JsonFields.integer(t, "labelled") : 0,
                        JsonFields.has(t, "lr_schedule") ? LrSchedule.parse(JsonFields.string(t, "lr_schedule")) : LrSchedule.CONSTANT);
                state = new State(JsonFields.integer(s, "epoch"), JsonFields.integer(s, "batch_in_epoch"), JsonFields.longValue(s, "step"));
                if (state.epoch() < 0 || state.batchInEpoch() < 0 || state.step() < 0) {
                    throw new IllegalArgumentException("negative position " + state);
                }
                if (state.epoch() > training.epochs() || (state.epoch() == training.epochs() && state.batchInEpoch() > 0)) {
                    throw new IllegalArgumentException("position epoch " + state.epoch() + ", batch " + state.batchInEpoch()
                            + " lies beyond the run's " + training.epochs() + " epochs; the file is corrupt");
                }
                if (state.step() < (long) state.batchInEpoch()) {
                    throw new IllegalArgumentException("step " + state.step() + " is below the batch in epoch "
                            + state.batchInEpoch() + "; the file is corrupt");
                }
            } catch (IllegalArgumentException e) {
                throw new DataFormatException(path, "metadata 'training'/'state' is invalid: " + e.getMessage());
            }
        }
        if (f.metadata("selection") != null) meta.object("selection"); // a JSON object, or the file is refused here
        if (f.metadata("compute") != null) meta.object("compute");
        Checkpoint c = new Checkpoint(cfg, image, training, state, f);
        // Every parameter the architecture implies must be there with its exact shape.
        int total = 0;
        Parameters.Builder layout;
        try {
            layout = cfg.parameterLayout();
        } catch (IllegalArgumentException e) { // sizes beyond what an array holds
            throw new DataFormatException(path, "metadata 'model' describes an impossible model: " + e.getMessage());
        }
        for (Parameters.Spec s : layout.specs()) {
            f.require(s.name(), "F32", s.shape().dims());
            total += s.shape().size();
        }
        if (training != null) {
            f.require(OPTIM_M, "F32", total);
            f.require(OPTIM_V, "F32", total);
            // The step's own state: its shape is the model's to check (restoreTraining), its type is ours.
            for (String name : f.names()) {
                if (name.startsWith(TRAIN_STATE) && !f.entry(name).dtype().equals("F32")) {
                    throw new DataFormatException(path, "training state tensor '" + name + "' is " + f.entry(name).dtype()
                            + ", expected F32");
                }
            }
        }
        return c;
    }

    /**
     * The data source recorded when the model was trained ({@code training.data}), or
     * {@code null} when the file records none (a bare model, or one written before it was recorded).
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> dataSource() {
        String t = file.metadata("training");
        if (t == null) return null;
        Object d = Json.parseObject(t).get("data");
        return d instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    /**
     * The model-selection state written by {@link #save(Path, Trainer, int[], Map, Map)}, or
     * {@code null} when the file holds none (a run without model selection). {@link #load} checked
     * that it is a JSON object.
     */
    public Map<String, Object> selection() {
        String s = file.metadata("selection");
        return s == null ? null : Json.parseObject(s);
    }

    /**
     * The {@link dev.elbo4j.backend.Backend#numerics() numerics} of the backend that computed the
     * state this checkpoint holds (its {@code compute} metadata), or {@code null} when the file
     * records none (a bare model, or one written before it was recorded). A run resumed on a
     * backend with other numerics continues, but not bit for bit as it would have.
     *
     * @return the numerics, or {@code null}
     */
    public String numerics() {
        String s = file.metadata("compute");
        if (s == null) return null;
        Object n = Json.parseObject(s).get("numerics");
        return n instanceof String str ? str : null;
    }

    /** A model on {@code backend} with this checkpoint's parameters. */
    public Model restoreModel(Backend backend) {
        Model vae = model.create(backend, DType.F32, 0);
        for (Parameters.Spec s : vae.parameters().specs()) {
            backend.write(vae.parameters().value(s.name()), file.getFloats(s.name()));
        }
        return vae;
    }

    /**
     * The model as the given class (e.g. {@code Vae.class}); a {@link WrongModelException} saying
     * which type the file holds when it is another.
     *
     * @param <M> the model class wanted
     * @throws WrongModelException when the checkpoint holds another family
     */
    public <M extends Model> M restoreModel(Backend backend, Class<M> type) {
        return restoreAs(backend, type, "; this needs a " + type.getSimpleName());
    }

    /**
     * {@link #restoreModel(Backend, Class)} whose {@link WrongModelException} reads "the checkpoint
     * holds a 'TYPE' model, " then {@code why} (in the caller's terms: what the model lacks, and
     * what would work instead).
     *
     * @param <M> the model class wanted
     * @throws WrongModelException when the checkpoint holds another family
     */
    public <M extends Model> M restoreModel(Backend backend, Class<M> type, String why) {
        return restoreAs(backend, type, ", " + why);
    }

    private <M extends Model> M restoreAs(Backend backend, Class<M> type, String tail) {
        Model m = restoreModel(backend);
        if (!type.isInstance(m)) {
            m.close();
            throw new WrongModelException("the checkpoint holds a '" + model.type() + "' model" + tail, model.type());
        }
        return type.cast(m);
    }

    /**
     * Puts a trainer built from this checkpoint's model and training config back to where the run
     * stopped: optimizer moments, step counter, position, and the training step's own state (the
     * {@code train.<name>} tensors, e.g. PCD's chains; a file without them, older or of a model
     * that keeps none, leaves the step as a new one starts).
     *
     * The trainer must be built as a resume builds it:
     * {@code new Trainer(checkpoint.restoreModel(backend), train, test, checkpoint.training())}, or
     * {@code checkpoint.training().withEpochs(n)} to train longer. A trainer of another model, or
     * with another batch size, seed or labelled count (which fix the position's meaning and the
     * shuffle), is refused.
     *
     * @throws DataFormatException naming the file and tensor when the step cannot take a
     *                             {@code train.<name>} tensor (unknown name, wrong shape, bad values)
     * @throws IllegalArgumentException when the trainer's model or training settings are not this checkpoint's
     */
    public void restoreTraining(Trainer trainer) throws DataFormatException {
        if (state == null) throw new IllegalStateException("this checkpoint holds a bare model, no training state");
        if (!trainer.model().config().equals(model)) {
            throw new IllegalArgumentException("the trainer's model (" + trainer.model().config() + ") is not this checkpoint's ("
                    + model + "); build the trainer on checkpoint.restoreModel(backend)");
        }
        TrainConfig t = trainer.config();
        if (t.batchSize() != training.batchSize() || t.seed() != training.seed() || t.labelled() != training.labelled()) {
            throw new IllegalArgumentException("the trainer's batch size " + t.batchSize() + ", seed " + t.seed() + ", labelled "
                    + t.labelled() + " are not the checkpoint's (" + training.batchSize() + ", " + training.seed() + ", "
                    + training.labelled() + "), which place the run's position; build the trainer with checkpoint.training()"
                    + " (withEpochs(n) to train longer)");
        }
        Parameters ps = trainer.model().parameters();
        trainer.optimizer().restore(ps.padded(file.getFloats(OPTIM_M)), ps.padded(file.getFloats(OPTIM_V)), state.step());
        trainer.restorePosition(state.epoch(), state.batchInEpoch());
        for (String name : file.names()) {
            if (!name.startsWith(TRAIN_STATE)) continue;
            SafeTensors.Entry e = file.entry(name);
            try {
                trainer.restoreStepState(name.substring(TRAIN_STATE.length()), e.shape(), e.toFloats());
            } catch (IllegalArgumentException ex) {
                throw new DataFormatException(file.source() == null ? Path.of("<in-memory>") : file.source(),
                        "training state tensor '" + name + "' does not fit this " + model.type() + " model: " + ex.getMessage());
            }
        }
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
    }
}
