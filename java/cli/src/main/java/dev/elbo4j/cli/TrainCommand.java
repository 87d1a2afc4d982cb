package dev.elbo4j.cli;

import dev.elbo4j.backend.AdamConfig;
import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.data.DeviceDataset;
import dev.elbo4j.eval.Evaluator;
import dev.elbo4j.model.ImportanceSampled;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.io.Json;
import dev.elbo4j.io.JsonFields;
import dev.elbo4j.model.Generative;
import dev.elbo4j.model.LabelUse;
import dev.elbo4j.model.Model;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.Reconstructing;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.train.Checkpoint;
import dev.elbo4j.train.EpochResult;
import dev.elbo4j.train.NanPolicy;
import dev.elbo4j.train.NonFiniteException;
import dev.elbo4j.train.TrainConfig;
import dev.elbo4j.train.TrainListener;
import dev.elbo4j.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "train", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Train a model (--model). Writes into --out: checkpoint.safetensors (every --checkpoint-every steps, after "
                + "every epoch and at the end, atomically, with the optimizer state, so --resume continues exactly, "
                + "even after a crash or kill -9), log.jsonl (one line per epoch: train and test ELBO), "
                + "samples.png (prior samples) and reconstructions.png (test inputs above their reconstructions); "
                + "then prints the test ELBO and the importance-sampled log p(x).",
                "Defaults: the PyTorch examples' VAE (784-400-20, ReLU, Bernoulli, Adam 1e-3, batch 128) on "
                        + "dynamically binarised MNIST.",
                "--preset NAME sets network, objective, batch size, optimizer, schedule and epochs to a paper's "
                        + "(printed in full at the start); any flag given explicitly beside it overrides the preset's value."})
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--preset", paramLabel = "NAME",
            description = "A published setting: ${COMPLETION-CANDIDATES}; flags given explicitly override its values "
                    + "(docs/MODELS.md, \"Reproduced\").", completionCandidates = Presets.Names.class)
    String preset;
    @Mixin
    DataOptions data = new DataOptions();
    @Mixin
    DeviceOptions device = new DeviceOptions();
    @Mixin
    SelectionOptions selection = new SelectionOptions();

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = "runs/default",
            description = "Run folder for checkpoint, log and pictures; one train at a time holds it (a lock file, "
                    + ".elbo4j.lock, released when the process ends) (default: ${DEFAULT-VALUE}).")
    Path out;

    /** What the checkpoint records about the data (docs/FORMAT.md, training.data); set once the data is read. */
    private Map<String, Object> dataRecord;
    /** Whether --early-stop ended the epochs (said in the final log record), unless a signal stopped the run. */
    private boolean stoppedEarly;
    @Option(names = "--epochs", paramLabel = "N", description = "Epochs to train in all (default: 10, or the checkpoint's with --resume).")
    Integer epochs;
    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "128", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--lr", paramLabel = "RATE",
            description = "Adam learning rate (default: the model's: 1e-3; nice, rbm and dbn 3e-3).")
    Double lr;
    @Option(names = "--adam-eps", paramLabel = "EPS", defaultValue = "1e-8",
            description = "Adam's epsilon (default: ${DEFAULT-VALUE}; Burda et al. use 1e-4).")
    double adamEps;
    @Option(names = "--lr-schedule", paramLabel = "SPEC", defaultValue = "constant",
            description = "Learning-rate schedule, factors of --lr: constant; multistep:M1,M2,...:GAMMA (times GAMMA "
                    + "after each milestone epoch); burda2015 (Burda et al.'s 10^(-i/7) for 3^i epochs, i = 0..7, "
                    + "= multistep:1,4,13,40,121,364,1093:10^(-1/7)); exponential:GAMMA (GAMMA^epoch); "
                    + "cosine:EPOCHS[:MIN] (per step, from 1 to MIN over EPOCHS epochs) (default: ${DEFAULT-VALUE}). "
                    + "Stored in the checkpoint: --resume continues it.")
    String lrSchedule;
    @Option(names = "--weight-decay", paramLabel = "W", defaultValue = "0", description = "Decoupled weight decay, AdamW (default: ${DEFAULT-VALUE}).")
    double weightDecay;
    @Mixin
    ModelOptions modelOptions = new ModelOptions();
    @Option(names = "--warmup", paramLabel = "EPOCHS", defaultValue = "0",
            description = "KL warm-up: the KL term's weight rises linearly from 0 to 1 over this many epochs "
                    + "(default: ${DEFAULT-VALUE}, none; not with --objective iwae; vae, cvae and m2 only).")
    double warmup;
    @Option(names = "--labels", paramLabel = "N", defaultValue = "100",
            description = "Labelled training examples of a semi-supervised model, balanced over the classes "
                    + "(default: ${DEFAULT-VALUE}).")
    int labels;
    @Option(names = "--binarize", completionCandidates = Candidates.Binarizations.class, paramLabel = "MODE",
            description = "dynamic (fresh Bernoulli draw every epoch), fixed (one draw) or none (grey levels) "
                    + "(default: the model's: dynamic for a Bernoulli likelihood; none for a Gaussian one and for nice).")
    String binarize;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of every random choice (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--train-limit", paramLabel = "N", defaultValue = "0", description = "Use only the first N training examples (0: all; with --resume: the run's own limit).")
    int trainLimit;
    @Option(names = "--test-limit", paramLabel = "N", defaultValue = "0", description = "Use only the first N test examples (0: all; with --resume: the run's own limit).")
    int testLimit;
    @Option(names = "--eval-k", paramLabel = "K", defaultValue = "100",
            description = "Importance samples per test input for log p(x) (a CVAE: log p(x|y)) at the end; 0 skips it "
                    + "(default: ${DEFAULT-VALUE}, a quick figure; `elbo4j eval` and `latent density` take -k, default 1000; "
                    + "published tables use 5000).")
    int evalK;
    @Option(names = "--resume", description = "Continue the run in --out from its checkpoint, with its model and training settings: a model or "
                    + "training flag with another value than the checkpoint's is an error; --epochs sets the total to reach.")
    boolean resume;
    @Option(names = "--force", description = "Start afresh even if --out already holds a run (its files are replaced).")
    boolean force;
    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "500",
            description = "Also write the checkpoint every N optimizer steps within an epoch; 0: only at epoch ends "
                    + "(default: ${DEFAULT-VALUE}).")
    int checkpointEvery;
    @Option(names = "--on-nan", completionCandidates = Candidates.NanPolicies.class, paramLabel = "POLICY", defaultValue = "stop",
            description = "When a step's loss or gradients are NaN or infinite: stop (exit 1 naming the step and the "
                    + "first bad tensor; the last checkpoint is kept) or skip (drop the batch and go on) "
                    + "(default: ${DEFAULT-VALUE}).")
    String onNan;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;
    @Option(names = "--no-graph", description = "On CUDA, run each step op by op from the host instead of replaying it "
            + "as one captured CUDA graph (same results; a skipped step's warning then names the first bad value, "
            + "not only the sum). The CPU backend always runs op by op.")
    boolean noGraph;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr(), outw = spec.commandLine().getOut();
        if (preset != null) {
            Presets.Applied applied = Presets.apply(preset, spec, modelOptions);
            err.println("elbo4j train: " + applied.describe());
            err.flush();
        }
        Path ckpt = out.resolve("checkpoint.safetensors");
        if (resume && force) throw new Main.UsageException("--resume and --force exclude each other");
        Flags.atLeast("--checkpoint-every", checkpointEvery, 0);
        if (epochs != null) Flags.within("--epochs", epochs, 1, Integer.MAX_VALUE - 1);
        Flags.atLeast("--batch-size", batchSize, 1);
        if (lr != null) Flags.finitePositive("--lr", lr);
        Flags.finiteAtLeast("--weight-decay", weightDecay, 0);
        Flags.finiteAtLeast("--warmup", warmup, 0);
        Flags.atLeast("--train-limit", trainLimit, 0);
        Flags.atLeast("--test-limit", testLimit, 0);
        Flags.atLeast("--eval-k", evalK, 0);
        selection.check();
        NanPolicy nanPolicy;
        try {
            nanPolicy = NanPolicy.parse(onNan);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--on-nan: " + e.getMessage());
        }
        if (resume && !Files.isRegularFile(ckpt)) {
            throw new Main.UsageException("--resume: no checkpoint at " + ckpt);
        }
        Checkpoint from = resume ? Checkpoint.load(ckpt) : null;
        if (from != null && from.state() == null) {
            throw new Main.UsageException("--resume: " + ckpt + " holds a bare model without training state");
        }
        if (from != null) {
            from.requireFinite(true); // a NaN moment would poison the first update
            int done = from.state().epoch();
            if (epochs != null ? epochs <= done : done >= from.training().epochs()) {
                throw new Main.UsageException((epochs == null ? "--resume: the run in " + out + " has finished its " + done + " epochs"
                        : "--resume --epochs " + epochs + ": the run in " + out + " has already trained " + done + " epochs"
                        + (from.state().batchInEpoch() > 0 ? " and part of another" : ""))
                        + "; pass --epochs N with N > " + done + " to train it further");
            }
            if (!modelOptions.given("--model")) modelOptions.model = from.model().type(); // the flags name the checkpoint's family
            // ... and its likelihood, which --sigma is checked against (a gaussian run resumed with its own --sigma).
            if (!modelOptions.given("--likelihood") && Json.parseObject(from.file().metadata("model")).get("likelihood") instanceof String l) {
                modelOptions.likelihood = l;
                modelOptions.likelihoodOfRun = true;
            }
            selection.defaultTo(from, out.toString());
        }
        if (from != null) {
            data.defaultTo(from, err, "elbo4j train");
            // The limits are part of the run's data, as its path is: a resumed run reads what it read unless told otherwise.
            Map<String, Object> src = from.dataSource();
            CommandLine.ParseResult given = spec.commandLine().getParseResult();
            if (src != null && !given.hasMatchedOption("--train-limit") && JsonFields.has(src, "train_limit")) {
                trainLimit = (int) JsonFields.number(src, "train_limit");
            }
            if (src != null && !given.hasMatchedOption("--test-limit") && JsonFields.has(src, "test_limit")) {
                testLimit = (int) JsonFields.number(src, "test_limit");
            }
        }
        data.readAtMost(trainLimit, testLimit);
        Dataset train = selection.holdOut(data.load("train", trainLimit)), test = data.load("test", testLimit);
        int[] image = train.imageShape();
        if (!Arrays.equals(test.imageShape(), image)) {
            throw new IOException(data.name() + ": the test images are " + DataOptions.shape(test.imageShape())
                    + ", the training images " + DataOptions.shape(image) + "; both splits must have one shape");
        }
        dataRecord = data.record(trainLimit, testLimit);
        selection.record(dataRecord);
        if (from != null && from.dataSource() != null) {
            List<String> diff = DataOptions.differences(from.dataSource(), dataRecord);
            if (DataOptions.onlyMoved(from.dataSource(), dataRecord, diff)) {
                // The checkpoint then records the new path, so later commands find the data there.
                err.println("elbo4j train: note: the run's data moved: " + JsonFields.string(from.dataSource(), "path") + " is now "
                        + JsonFields.string(dataRecord, "path") + " (the same content, by its hash)");
                err.flush();
            } else if (!diff.isEmpty()) {
                throw new Main.UsageException("--resume: the data differs from the data the run was trained on ("
                        + String.join("; ", diff) + "); resume with the same data, or start a new run (--force or another --out)");
            }
        }
        ModelConfig given = modelOptions.config(train.dim(), image);
        ModelConfig cfg = from != null ? from.model() : given;
        if (cfg.inputDim() != train.dim()) {
            throw new Main.UsageException("the checkpoint's model takes " + cfg.inputDim() + " pixels, the data has " + train.dim());
        }
        if (from != null && !Arrays.equals(from.image(), image)) {
            throw new Main.UsageException("the checkpoint's model takes " + DataOptions.shape(from.image()) + " images, "
                    + data.name() + " has " + DataOptions.shape(image));
        }
        if (cfg.labelUse() != LabelUse.SOME && modelOptions.given("--labels")) {
            // Only M2 trains on a labelled part; another family would drop the flag without a word.
            throw new Main.UsageException("--labels does not apply to --model " + cfg.type() + " (it sets the labelled examples "
                    + "of m2 models only" + (cfg.labelUse() == LabelUse.ALL ? "; a " + cfg.type() + " model uses every label" : "") + ")");
        }
        if (cfg.labelUse() == LabelUse.SOME && (labels < 1 || labels > train.n())) {
            throw new Main.UsageException("--labels must be in 1.." + train.n() + ", got " + labels);
        }
        if (cfg.labelUse() != LabelUse.NONE && !train.hasLabels()) {
            throw new Main.UsageException("the '" + cfg.type() + "' model needs labels; " + data.name() + " has none");
        }
        Binarization binarization;
        try {
            binarization = binarize == null ? given.defaultBinarization() : Binarization.parse(binarize);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--binarize: " + e.getMessage());
        }
        dev.elbo4j.train.LrSchedule schedule;
        try {
            schedule = dev.elbo4j.train.LrSchedule.parse(lrSchedule);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--lr-schedule: " + e.getMessage());
        }
        Flags.finitePositive("--adam-eps", adamEps);
        TrainConfig asGiven = new TrainConfig(epochs != null ? epochs : 10, batchSize, new AdamConfig(lr != null ? lr : given.defaultLearningRate(),
                0.9, 0.999, adamEps, weightDecay), binarization, seed, warmup, given.labelUse() == LabelUse.SOME ? labels : 0, schedule);
        if (from != null) {
            ResumeCheck.check(spec.commandLine().getParseResult(), mixinFlags(), Map.of(
                            "model", ResumeCheck.normalized(Json.parseObject(from.file().metadata("model"))),
                            "training", ResumeCheck.normalized(Json.parseObject(from.file().metadata("training")))),
                    Map.of("model", ResumeCheck.normalized(Checkpoint.modelJson(given, image)),
                            "training", ResumeCheck.normalized(Checkpoint.trainingJson(asGiven))), out.toString());
        }
        try { // the model's own checks (NICE needs grey levels, IWAE takes no warm-up), as the trainer would make them
            cfg.checkTraining(from != null ? from.training().binarization() : binarization, warmup);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
        for (Dataset d : cfg.classes() > 0 ? List.of(train, test) : List.<Dataset>of()) {
            for (int i = 0; i < d.n(); i++) {
                if (d.label(i) >= cfg.classes()) {
                    throw new Main.UsageException("--classes: the model knows " + cfg.classes() + " classes (0.." + (cfg.classes() - 1)
                            + "), but " + data.name() + " has label " + d.label(i) + " (example " + i + ")");
                }
            }
        }
        // After every flag is checked, so that a bad flag shows before --force is asked for (not only after).
        if (!resume && !force && Files.exists(ckpt)) {
            throw new Main.UsageException(out + " already holds a run (" + ckpt.getFileName()
                    + "): pass --resume to continue it, --force to replace it, or another --out");
        }
        TrainConfig tc = from != null ? from.training().withEpochs(epochs != null ? epochs : from.training().epochs()) : asGiven;
        device.check();
        boolean newFolder = Files.notExists(out);
        Files.createDirectories(out);
        try (RunLock lock = RunLock.acquire(out, "elbo4j " + String.join(" ", spec.commandLine().getParseResult().originalArgs()))) {
            // Only the holder of the lock may touch the folder's files: a second process would
            // otherwise delete a live run's temporary checkpoint or its log.
            removeStaleTemporaries(err);
            try (Backend be = device.open(cfg)) {
                MemoryPlan.checkTraining(cfg, tc, train, test, be);
                DiskRoom.checkCheckpoint(cfg, out);
                // A new run starts a new log, once the device is open and the run fits: a run refused
                // before it starts leaves the folder's earlier run (log beside checkpoint) as it was.
                // The earlier run's evaluations (evals.jsonl) go with it: they are of a model no longer there.
                if (!resume) {
                    Files.deleteIfExists(out.resolve("log.jsonl"));
                    Files.deleteIfExists(out.resolve(EvalLog.FILE));
                }
                return train(be, from, cfg, tc, train, test, image, ckpt, nanPolicy, err, outw);
            } catch (IOException | RuntimeException | Error e) {
                if (newFolder) lock.removeFolderIfOnlyLock(out); // refused before its first file: no empty folder left
                throw e;
            }
        }
    }

    /**
     * The line --resume prints when the checkpoint was computed with other numerics than this
     * process's ({@link Backend#numerics()}), naming what differs, or null when nothing does (or
     * the checkpoint does not say). Not an error: the run goes on, as asked; but its numbers no
     * longer follow the uninterrupted run's, which someone comparing or reproducing runs needs to know.
     */
    static String numericsNote(String was, String now) {
        if (was == null || was.equals(now)) return null;
        List<String> then = List.of(was.split(", ")), here = List.of(now.split(", "));
        String gone = String.join(", ", then.stream().filter(t -> !here.contains(t)).toList());
        String come = String.join(", ", here.stream().filter(t -> !then.contains(t)).toList());
        String threads = "GEMM threads ";
        boolean onlyThreads = gone.matches(threads + "\\d+") && come.matches(threads + "\\d+");
        return "note: the checkpoint was computed with other numerics (then: " + (gone.isEmpty() ? "-" : gone) + "; now: "
                + (come.isEmpty() ? "-" : come) + "): the run continues, but rounds otherwise than it would have"
                + (onlyThreads ? "; --threads " + gone.substring(threads.length()) + " continues it bit for bit"
                : "; resume with the same numerics to continue it bit for bit")
                + " (docs/RELIABILITY.md, \"Resume is exact\")";
    }

    /** The options of the data and device mixins: not the run's settings (the data is checked by its provenance). */
    private java.util.Set<String> mixinFlags() {
        java.util.Set<String> s = new java.util.HashSet<>();
        for (String m : List.of("data", "device")) {
            CommandLine.Model.CommandSpec mixin = spec.mixins().get(m);
            if (mixin != null) for (CommandLine.Model.OptionSpec o : mixin.options()) s.add(o.longestName());
        }
        return s;
    }

    private int train(Backend be, Checkpoint from, ModelConfig cfg, TrainConfig tc, Dataset train, Dataset test, int[] image,
                      Path ckpt, NanPolicy nanPolicy, PrintWriter err, PrintWriter outw) throws IOException {
        long[] saved = {from != null ? from.state().step() : -1}; // the step of the checkpoint on disk
        try (Model vae = from != null ? from.restoreModel(be) : cfg.create(be, DType.F32, tc.seed());
             Trainer trainer = newTrainer(vae, train, test, tc);
             DeviceDataset validation = selection.upload(be, cfg);
             RunLog log = new RunLog(out.resolve("log.jsonl"))) {
            if (from != null) from.restoreTraining(trainer);
            else vae.initializeFrom(train);
            trainer.onNonFinite(nanPolicy).graph(!noGraph);
            err.printf(Locale.ROOT, "elbo4j train: %s%n  data %s: %d train, %s test examples; %s%n  %s, %d epochs, batch %d, "
                            + "Adam lr %s (beta1 %s, beta2 %s, eps %s), lr schedule %s, %s binarisation, seed %d%n",
                    cfg, data.name(), train.n(), test.n() + (data.splits().source().testFraction() > 0
                            ? String.format(Locale.ROOT, " (%.0f%% held out)", 100 * data.splits().source().testFraction()) : ""),
                    be.description(), from != null
                            ? "resuming at epoch " + (trainer.epoch() + 1L) + " step " + trainer.optimizer().steps() : "new run",
                    tc.epochs(), tc.batchSize(), tc.adam().lr(), tc.adam().beta1(), tc.adam().beta2(), tc.adam().eps(),
                    tc.schedule().spec(), tc.binarization().name().toLowerCase(Locale.ROOT), tc.seed());
            String objective = cfg.objectiveName();
            String selected = selection.describe(objective);
            if (selected != null) err.println("  " + selected);
            String note = from != null ? numericsNote(from.numerics(), be.numerics()) : null;
            if (note != null) err.println("  " + note);
            err.flush();
            Progress progress = new Progress(err, !noProgress);
            boolean isElbo = objective.equals("ELBO");
            try (StopSignal stop = StopSignal.arm(trainer::requestStop)) {
                trainer.run(listener(trainer, tc, progress, ckpt, image, saved, log, be, objective, isElbo, train, err));
                // --early-stop asked at an epoch's end, its checkpoint written: finish as usual, unless a
                // signal came too (it wins: the run stops there).
                if (stoppedEarly && stop.requested() == null) {
                    progress.clear();
                    err.println("elbo4j train: " + selection.earlyStopLine(trainer.epoch(), tc.epochs(), objective));
                    err.flush();
                }
                // A signal in the last epoch's last step (or its test figures) finds the run done: it stops there too.
                if (stop.requested() != null) {
                    if (saved[0] != trainer.optimizer().steps()) { // stopped mid-epoch: epochEnd saved the others
                        Checkpoint.save(ckpt, trainer, image, dataRecord, selection.state());
                        saved[0] = trainer.optimizer().steps();
                    }
                    progress.clear();
                    err.println("elbo4j train: " + stopped(stop, trainer, tc, ckpt, saved[0]));
                    err.flush();
                    return stop.exitCode();
                }
            } catch (NonFiniteException e) {
                throw new NonFiniteRun(e.getMessage() + "; " + (saved[0] >= 0 ? ckpt + " holds the parameters after step " + saved[0]
                        : "no checkpoint was written"), e);
            }
            try (StopSignal finished = StopSignal.armFinished(err, progress::clear, "after the last epoch, before the final "
                    + "figures: " + ckpt + " holds the finished run; `elbo4j eval -c " + ShellWord.of(out) + "` computes its test figures")) {
                finish(trainer, vae, tc, progress, image, test, log, be, cfg, objective, isElbo, outw, err);
            }
        }
        return 0;
    }

    /** The one line of a run stopped by a signal, its checkpoint written: where it stopped and how to go on. */
    private String stopped(StopSignal stop, Trainer trainer, TrainConfig tc, Path ckpt, long step) {
        boolean atEpochEnd = trainer.batchInEpoch() == 0 && trainer.epoch() > 0;
        int epoch = atEpochEnd ? trainer.epoch() - 1 : trainer.epoch();
        String where = atEpochEnd ? "its last batch and test figures" : trainer.batchInEpoch() + " of " + trainer.stepsPerEpoch() + " batches";
        return String.format(Locale.ROOT, "stopped by %s in epoch %d/%d after %s (step %d); %s holds it: `elbo4j train --out %s --resume` "
                + "continues the run", stop.requested(), epoch + 1, tc.epochs(), where, step, ckpt, ShellWord.of(out));
    }

    /** The trainer; its refusals (a batch times --samples beyond an array, data that does not fit) are usage errors. */
    private static Trainer newTrainer(Model m, Dataset train, Dataset test, TrainConfig tc) {
        try {
            return new Trainer(m, train, test, tc);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
    }

    /** A run stopped by a non-finite value: the trainer's message and which checkpoint is on disk. */
    static final class NonFiniteRun extends IllegalStateException {
        NonFiniteRun(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private TrainListener listener(Trainer trainer, TrainConfig tc, Progress progress, Path ckpt, int[] image, long[] saved,
                                   RunLog log, Backend be, String objective, boolean isElbo, Dataset train, PrintWriter err) {
        return new TrainListener() {
            private int stepsInEpoch;
            private int sinceCheckpoint;
            private int skippedInEpoch;
            private double shownRate = Double.NaN;
            private String rateText;

            /**
             * "lr 1e-03" at a position of the schedule, rebuilt only when the rate changes: from the
             * configuration, never from the optimizer (which would wait for a replayed step).
             */
            private String rate(int epoch, int batchInEpoch) {
                double lr = tc.learningRate(epoch, batchInEpoch, trainer.stepsPerEpoch());
                if (lr != shownRate) {
                    shownRate = lr;
                    rateText = String.format(Locale.ROOT, "lr %.3g", lr);
                }
                return rateText;
            }

            @Override
            public void epochStart(int epoch, int steps, int done) {
                stepsInEpoch = steps;
                skippedInEpoch = 0;
                progress.begin(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, tc.epochs()), steps, done);
            }

            @Override
            public void step(int epoch, int stepInEpoch, long globalStep) {
                progress.update(stepInEpoch, tc.batchSize(), "samples/s", () -> {
                    double o = trainer.runningObjective();
                    String lr = rate(epoch, stepInEpoch - 1);
                    return Double.isNaN(o) ? lr : String.format(Locale.ROOT, "%s %.2f, %s", objective, o, lr);
                });
                // The epoch's last step is saved by epochEnd, after the test ELBO.
                if (checkpointEvery > 0 && ++sinceCheckpoint >= checkpointEvery && stepInEpoch < stepsInEpoch) {
                    sinceCheckpoint = 0;
                    try {
                        Checkpoint.save(ckpt, trainer, image, dataRecord, selection.state());
                        saved[0] = trainer.optimizer().steps();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }

            @Override
            public void stepSkipped(int epoch, int stepInEpoch, long step, String what) {
                skippedInEpoch++;
                progress.clear();
                err.printf(Locale.ROOT, "elbo4j train: warning: skipped batch %d of epoch %d (step %d): %s%n",
                        stepInEpoch, epoch + 1, step, what);
                err.flush();
            }

            @Override
            public void epochEnd(EpochResult r) {
                sinceCheckpoint = 0;
                Model.TestFigures v = selection.validate(trainer.model(), tc);
                boolean best = selection.update(r, v);
                try {
                    Checkpoint.save(ckpt, trainer, image, dataRecord, selection.state());
                    saved[0] = trainer.optimizer().steps();
                    if (best) selection.keep(ckpt);
                    Map<String, Object> rec = new LinkedHashMap<>();
                    rec.put("epoch", r.epoch());
                    rec.put("step", r.steps());
                    // The figures under the objective's own name; the old keys train_elbo and
                    // test_elbo only where the objective is the ELBO (docs/FORMAT.md, log.jsonl).
                    rec.put("objective", objective);
                    rec.put("train_objective", r.trainElbo());
                    rec.put("test_objective", r.testElbo());
                    if (isElbo) {
                        rec.put("train_elbo", r.trainElbo());
                        rec.put("test_elbo", r.testElbo());
                    }
                    rec.put("lr", tc.learningRate(r.epoch() - 1, 0, trainer.stepsPerEpoch()));
                    rec.put("seconds", r.seconds());
                    rec.put("samples_per_s", train.n() / r.seconds());
                    rec.put("device", be.name());
                    if (skippedInEpoch > 0) rec.put("skipped_batches", skippedInEpoch);
                    r.testMetrics().forEach((k, x) -> rec.put("test_" + k, x));
                    SelectionOptions.log(rec, v);
                    if (best) rec.put("best", true);
                    log.write(rec);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                StringBuilder extra = new StringBuilder();
                r.testMetrics().forEach((k, x) -> extra.append(String.format(Locale.ROOT, ", test %s %.4f", k, x)));
                extra.append(SelectionOptions.line(objective, v)).append(best ? " (best)" : "");
                err.printf(Locale.ROOT, "epoch %d/%d: train %s %.2f, test %s %.2f nats%s (%.1f s, %.0f samples/s, %s)%n",
                        r.epoch(), tc.epochs(), objective, r.trainElbo(), objective, r.testElbo(), extra,
                        r.seconds(), train.n() / r.seconds(), rate(r.epoch() - 1, trainer.stepsPerEpoch() - 1));
                err.flush();
                if (selection.shouldStop()) {
                    stoppedEarly = true;
                    trainer.requestStop(); // at an epoch's end: run returns before the next epoch
                }
            }
        };
    }

    /** The pictures, the final evaluation and its log line, after the last epoch. */
    private void finish(Trainer trainer, Model vae, TrainConfig tc, Progress progress, int[] image, Dataset test, RunLog log,
                        Backend be, ModelConfig cfg, String objective, boolean isElbo, PrintWriter outw, PrintWriter err)
            throws IOException {
        Path ckpt = out.resolve("checkpoint.safetensors");
        List<Path> wrote = new java.util.ArrayList<>(List.of(ckpt, log.path()));
        if (selection.keepsBest() && Files.exists(out.resolve(SelectionOptions.BEST))) wrote.add(out.resolve(SelectionOptions.BEST));
        if (vae instanceof Generative g) {
            Path samples = out.resolve("samples.png");
            picture(wrote, samples, () -> Pictures.samples(samples, g, image, 64, tc.seed(), 0, -1));
        }
        if (vae instanceof Reconstructing rm) {
            Path recon = out.resolve("reconstructions.png");
            picture(wrote, recon, () -> Pictures.reconstructions(recon, rm, test, 0, 32, tc.binarization(), tc.seed()));
        }
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("event", "final");
        rec.put("epochs", trainer.epoch());
        selection.finalRecord(rec, stoppedEarly);
        String line;
        if (vae instanceof ImportanceSampled v) {
            // The VAE and the CVAE; the CVAE with each input's own label: log p(x|y).
            boolean conditional = v.conditioningClasses() > 0;
            String what = conditional ? "log p(x|y)" : "log p(x)";
            DeviceDataset td = trainer.testData(); // uploaded once, by the trainer
            Evaluator ev = new Evaluator(v, td, tc.binarization(), tc.seed());
            double elbo = Evaluator.mean(ev.elbo(1));
            rec.put("test_elbo", elbo);
            line = String.format(Locale.ROOT, "test ELBO %.2f nats", elbo);
            if (evalK > 0) {
                progress.begin(what + ", k=" + evalK, test.n(), 0);
                long t0 = System.nanoTime();
                double lpx = Evaluator.mean(ev.logLikelihood(evalK, done -> progress.update(done, 1, "inputs/s", (String) null)));
                rec.put(conditional ? "test_log_px_given_y" : "test_log_px", lpx);
                rec.put("k", evalK);
                rec.put("eval_seconds", (System.nanoTime() - t0) / 1e9);
                line += String.format(Locale.ROOT, ", %s %.2f nats (importance sampling, k=%d)", what, lpx, evalK);
            }
        } else {
            Model.TestFigures f = vae.testFigures(trainer.testData(), tc.binarization(), tc.seed());
            rec.put("objective", objective);
            rec.put("test_objective", f.objective());
            if (isElbo) rec.put("test_elbo", f.objective());
            line = String.format(Locale.ROOT, "test %s %.2f nats", objective, f.objective());
            for (var m : f.metrics().entrySet()) {
                rec.put("test_" + m.getKey(), m.getValue());
                line += String.format(Locale.ROOT, ", test %s %.4f", m.getKey(), m.getValue());
            }
        }
        log.write(rec);
        Path curves = Plots.runCurves(out, log.path(), err);
        if (curves != null) wrote.add(curves);
        outw.println(line);
        outw.println("wrote " + String.join(", ", wrote.stream().map(Path::toString).toList()));
    }

    /** Writes one picture of the finished run. */
    @FunctionalInterface
    private interface PictureWriter {
        void write() throws IOException;
    }

    /**
     * Writes a picture after the last epoch and adds it to {@code wrote}. A picture that cannot be
     * written (a full disk) fails the command, but the run itself is on disk by then: the message
     * names the picture, the files already saved, and the commands that finish the job from them.
     */
    private void picture(List<Path> wrote, Path file, PictureWriter writer) throws IOException {
        try {
            writer.write();
        } catch (IOException e) {
            String cause = Main.describe(e);
            throw new IOException(cause + (cause.contains(file.getFileName().toString()) ? "" : " (" + file + ")")
                    + "; the trained run is saved (" + String.join(", ", wrote.stream().map(Path::toString).toList())
                    + "); `elbo4j eval -c " + ShellWord.of(out) + "` computes its test figures, `elbo4j sample` and "
                    + "`elbo4j reconstruct` draw its pictures", e);
        }
        wrote.add(file);
    }

    /**
     * Deletes temporary checkpoint files ({@code .checkpoint.safetensors.tmp-*}) that a run killed
     * during a checkpoint write left in --out. They are never read: the checkpoint itself is
     * always the previous complete one, since it is replaced only by an atomic rename.
     */
    private void removeStaleTemporaries(PrintWriter err) throws IOException {
        List<Path> stale;
        try (Stream<Path> s = Files.list(out)) {
            stale = s.filter(p -> p.getFileName().toString().startsWith(".checkpoint.safetensors.tmp-")
                    || p.getFileName().toString().startsWith("." + SelectionOptions.BEST + ".tmp-")).toList();
        }
        for (Path p : stale) Files.deleteIfExists(p);
        if (!stale.isEmpty()) {
            err.printf(Locale.ROOT, "elbo4j train: removed %d temporary checkpoint file(s) left in %s by an interrupted run%n",
                    stale.size(), out);
        }
    }
}
