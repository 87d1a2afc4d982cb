package dev.elbo4j.export;

import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.CvaeConfig;
import dev.elbo4j.model.DbnConfig;
import dev.elbo4j.model.FvbmConfig;
import dev.elbo4j.model.M2Config;
import dev.elbo4j.model.ModelConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.RbmConfig;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.train.Checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A trained model in the formats other tools read (docs/EXPORT.md), each file written atomically:
 * {@code model.safetensors} (the parameters alone, no optimizer state, under elbo4j's names, which
 * are those of the PyTorch module in {@code model.py}), {@code model.py} ({@link TorchModule}),
 * and the ONNX graphs {@code encoder.onnx} / {@code decoder.onnx} (and M2's
 * {@code classifier.onnx}; a planar-flow VAE's {@code flow.onnx}; NICE's {@code forward.onnx} /
 * {@code inverse.onnx}; the RBM's {@code hidden.onnx} / {@code visible.onnx}; the DBN's
 * {@code up.onnx} / {@code down.onnx}; the FVBM's {@code conditionals.onnx} / {@code energy.onnx},
 * {@link Onnx}). Covered: the VAE (with or without a planar flow), the autoencoders, the CVAE and
 * M2, with dense layers or (where the family has them) a conv encoder and/or transposed-conv
 * decoder (docs/CONV.md), NICE, the RBM, the DBN and the FVBM; any other model is refused with a
 * message saying so.
 */
public final class Export {
    /** The {@code format} metadata of an exported safetensors file. */
    public static final String FORMAT = "elbo4j.export/1";

    private Export() {
    }

    /** Whether {@code c}'s model can be exported; otherwise the reason. */
    public static String unsupported(Checkpoint c) {
        ModelConfig m = c.model();
        if (m instanceof VaeConfig || m instanceof AutoencoderConfig || m instanceof CvaeConfig || m instanceof M2Config
                || m instanceof NiceConfig || m instanceof RbmConfig || m instanceof DbnConfig || m instanceof FvbmConfig) {
            return null;
        }
        return "export covers the vae, ae, cvae, m2, nice, rbm, dbn and fvbm families; this checkpoint holds a '" + m.type() + "' model";
    }

    /**
     * Writes the files into {@code dir} (created): model.safetensors, model.py, then the ONNX
     * graphs; returns their paths.
     *
     * @param scaleMin the data value of level 0 (0 for bytes), written into model.py
     * @param scaleMax the data value of level 255 (255 for bytes)
     * @throws IllegalArgumentException when the checkpoint's family cannot be exported
     * @throws IOException when {@code dir} or a file cannot be written
     */
    public static List<Path> write(Checkpoint c, Path dir, double scaleMin, double scaleMax) throws IOException {
        return write(c, dir, scaleMin, scaleMax, Onnx.Labels.ONE_HOT);
    }

    /**
     * As {@link #write(Checkpoint, Path, double, double)}, the label-taking graphs (CVAE, M2)
     * reading their label y as {@code labels} says.
     *
     * @throws IllegalArgumentException when the checkpoint's family cannot be exported
     * @throws IOException when {@code dir} or a file cannot be written
     */
    public static List<Path> write(Checkpoint c, Path dir, double scaleMin, double scaleMax, Onnx.Labels labels) throws IOException {
        String why = unsupported(c);
        if (why != null) throw new IllegalArgumentException(why);
        ModelConfig cfg = c.model();
        Files.createDirectories(dir);
        SafeTensors.File f = new SafeTensors.File();
        f.putMetadata("format", FORMAT);
        f.putMetadata("model", c.file().metadata("model"));
        f.putMetadata("scale_min", Double.toString(scaleMin));
        f.putMetadata("scale_max", Double.toString(scaleMax));
        for (Parameters.Spec s : cfg.parameterLayout().specs()) f.putFloats(s.name(), s.shape().dims(), c.file().getFloats(s.name()));
        Path st = dir.resolve("model.safetensors"), py = dir.resolve("model.py");
        byte[] src = TorchModule.source(cfg, c.image(), scaleMin, scaleMax).getBytes(StandardCharsets.UTF_8);
        Map<String, byte[]> graphs = Onnx.graphs(cfg, c.file()::getFloats, labels);
        SafeTensors.write(st, f);
        AtomicFiles.write(py, out -> out.write(src));
        List<Path> wrote = new ArrayList<>(List.of(st, py));
        for (Map.Entry<String, byte[]> g : graphs.entrySet()) {
            Path p = dir.resolve(g.getKey());
            AtomicFiles.write(p, out -> out.write(g.getValue()));
            wrote.add(p);
        }
        return List.copyOf(wrote);
    }
}
