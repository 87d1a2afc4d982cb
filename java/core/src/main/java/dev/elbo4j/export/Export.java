package dev.elbo4j.export;

import dev.elbo4j.io.AtomicFiles;
import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.model.VaeConfig;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.train.Checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A trained VAE in the formats other tools read (docs/EXPORT.md), each file written atomically:
 * {@code model.safetensors} (the parameters alone, no optimizer state, under elbo4j's names, which
 * are those of the PyTorch module in {@code model.py}), {@code model.py} ({@link TorchModule}),
 * and {@code encoder.onnx} / {@code decoder.onnx} ({@link Onnx}). The VAE family without a
 * planar flow is covered, with dense layers or a conv encoder and/or transposed-conv decoder
 * (docs/CONV.md); other models are refused with a message saying so.
 */
public final class Export {
    /** The {@code format} metadata of an exported safetensors file. */
    public static final String FORMAT = "elbo4j.export/1";

    private Export() {
    }

    /** Whether {@code c}'s model can be exported; otherwise the reason. */
    public static String unsupported(Checkpoint c) {
        if (!(c.model() instanceof VaeConfig v)) return "export covers the vae family; this checkpoint holds a '" + c.model().type() + "' model";
        if (v.hasFlow()) return "export does not cover the planar-flow posterior (--flow); the encoder and decoder alone would not reproduce it";
        return null;
    }

    /**
     * Writes the four files into {@code dir} (created); returns their paths.
     *
     * @param scaleMin the data value of level 0 (0 for bytes), written into model.py
     * @param scaleMax the data value of level 255 (255 for bytes)
     */
    public static List<Path> write(Checkpoint c, Path dir, double scaleMin, double scaleMax) throws IOException {
        String why = unsupported(c);
        if (why != null) throw new IllegalArgumentException(why);
        VaeConfig cfg = (VaeConfig) c.model();
        Files.createDirectories(dir);
        SafeTensors.File f = new SafeTensors.File();
        f.putMetadata("format", FORMAT);
        f.putMetadata("model", c.file().metadata("model"));
        f.putMetadata("scale_min", Double.toString(scaleMin));
        f.putMetadata("scale_max", Double.toString(scaleMax));
        for (Parameters.Spec s : cfg.parameterLayout().specs()) f.putFloats(s.name(), s.shape().dims(), c.file().getFloats(s.name()));
        Path st = dir.resolve("model.safetensors"), py = dir.resolve("model.py");
        Path enc = dir.resolve("encoder.onnx"), dec = dir.resolve("decoder.onnx");
        SafeTensors.write(st, f);
        byte[] src = TorchModule.source(cfg, c.image(), scaleMin, scaleMax).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(py, out -> out.write(src));
        byte[] e = Onnx.encoder(cfg, c.file()::getFloats), d = Onnx.decoder(cfg, c.file()::getFloats);
        AtomicFiles.write(enc, out -> out.write(e));
        AtomicFiles.write(dec, out -> out.write(d));
        return List.of(st, py, enc, dec);
    }
}
