package dev.elbo4j.cli;

import dev.elbo4j.export.Export;
import dev.elbo4j.export.Onnx;
import dev.elbo4j.io.Scaling;
import dev.elbo4j.train.Checkpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "export", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Write a trained model for other tools (docs/EXPORT.md): model.safetensors (the weights alone, no "
                + "optimizer state, under the names of the PyTorch module in model.py, e.g. `Elbo4jVae.load(\"model.safetensors\")`), "
                + "model.py, and ONNX graphs for ONNX Runtime and the tools that read ONNX: for a VAE encoder.onnx (x -> mu, logvar) "
                + "and decoder.onnx (z -> mean); for an autoencoder encoder.onnx (x -> code) and decoder.onnx (code -> reconstruction); "
                + "with a planar-flow posterior (--flow planar) also flow.onnx (z0 -> zK, log_det); "
                + "for a CVAE the VAE's two graphs with a second input y, the one-hot label as floats [N, classes] (int64 class "
                + "indices [N] with --label-input index); for M2 those and "
                + "classifier.onnx (x -> logits, probs); for NICE forward.onnx (x -> z, log_px) and inverse.onnx (z -> x); for an RBM "
                + "hidden.onnx (v -> p_h, free_energy), visible.onnx (h -> p_v) and gibbs.onnx (v, u_h, u_v -> h, p_v, v_next: one "
                + "Gibbs sweep with your uniforms, h = (u_h < p_h)); for a DBN up.onnx (v -> p_h0, p_h1, ...), "
                + "down.onnx (top h -> p_v) and the top RBM's gibbs.onnx; for an FVBM conditionals.onnx (v -> p, p(v_i = 1 | the rest) for every i) and "
                + "energy.onnx (v -> energy)."})
final class ExportCommand implements Callable<Integer> {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();

    @Option(names = {"-o", "--out"}, paramLabel = "DIR",
            description = "Folder for the files (default: export/ inside the run folder).")
    Path out;

    @Option(names = "--label-input", completionCandidates = Candidates.LabelInputs.class, paramLabel = "FORM",
            description = "How the CVAE's and M2's encoder.onnx and decoder.onnx take the label y: one-hot (default; float32 "
                    + "[N, classes], soft labels allowed) or index (int64 class indices [N], made one-hot inside the graph; a label "
                    + "outside 0..classes-1 gives a row of zeros, as if no class were given). Only for cvae and m2 checkpoints.")
    String labelInput;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Onnx.Labels labels = Onnx.Labels.ONE_HOT;
        if (labelInput != null) {
            labels = switch (labelInput) {
                case "one-hot" -> Onnx.Labels.ONE_HOT;
                case "index" -> Onnx.Labels.INDEX;
                default -> throw new Main.UsageException("--label-input must be one-hot or index, got '" + labelInput + "'");
            };
        }
        Checkpoint c = checkpoint.load();
        String why = Export.unsupported(c);
        if (why != null) throw new Main.UsageException(why);
        if (labelInput != null) {
            if (c.model().classes() == 0) {
                throw new Main.UsageException("--label-input applies to the label-taking cvae and m2 models; this checkpoint holds a '"
                        + c.model().type() + "' model");
            }
        }
        Path dir = out != null ? out : checkpoint.runFolder().resolve("export");
        Scaling s = DataOptions.scaling(c);
        List<Path> wrote = Export.write(c, dir, s.min(), s.max(), labels);
        spec.commandLine().getOut().println("wrote " + String.join(", ", wrote.stream().map(Path::toString).toList()));
        return 0;
    }
}
