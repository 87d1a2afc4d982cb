import dev.elbo4j.backend.*;
import dev.elbo4j.io.*;
import dev.elbo4j.model.*;
import dev.elbo4j.nn.*;
import dev.elbo4j.rng.*;
import dev.elbo4j.tensor.*;
import dev.elbo4j.train.*;
import java.nio.file.*;
import java.util.*;

public class Probe3 {
    interface Body { Object run() throws Exception; }
    static void probe(String name, Body b) {
        try { Object r = b.run(); System.out.println("PROBE " + name + ": OK " + (r instanceof float[] f ? "float[" + f.length + "]" : String.valueOf(r))); }
        catch (Throwable t) { System.out.println("PROBE " + name + ": " + t.getClass().getName() + ": " + t.getMessage()); StackTraceElement[] st = t.getStackTrace(); if (st.length > 0) System.out.println("    at " + st[0]); }
    }
    public static void main(String[] a) throws Exception {
        Backend be = Backends.select("cpu");
        Dataset train = Dataset.loadDir(Path.of("/work/wt/javaapi/data/mnist"), "train", 500);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(50).build();
        probe("nice with default (dynamic) binarisation", () -> { try (Nice m = Nice.create(be, new NiceConfig(784, 4, new int[]{32}, true), 1); Trainer t = new Trainer(m, train, null, tc)) { return t.run(new TrainListener() {}); } });
        probe("run twice", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().latent(2).hidden(16).build(), 1); Trainer t = new Trainer(m, train, null, tc)) { t.run(new TrainListener() {}); return t.run(new TrainListener() {}); } });
        probe("conv layout bad string", () -> ConvLayout.of(new int[]{28, 28}, "conv:8x4", "mlp"));
        probe("conv layout image mismatch", () -> VaeConfig.builder().inputDim(100).conv(ConvLayout.of(new int[]{28, 28}, "conv:8x4s2p1", "mlp")).build());
        probe("checkpoint load of a png", () -> Checkpoint.load(Path.of("/tmp/jprobe/runs/vae/samples.png")));
        probe("Backends.select cuda on no-gpu", () -> Backends.select("cuda"));
        probe("fromFloats 0 examples then trainer", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(4).latent(2).hidden(4).build(), 1); Trainer t = new Trainer(m, Dataset.fromFloats(new float[0], null, 2, 2), null, tc)) { return null; } });
        probe("slice beyond", () -> train.slice(400, 200));
        probe("downsample 5x5 of 28x28", () -> train.downsample(5, 5));
        probe("sample with null key", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().latent(2).hidden(16).build(), 1)) { return m.sample(2, null); } });
        probe("encodeMean(null)", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().latent(2).hidden(16).build(), 1)) { return m.encodeMean((float[]) null); } });
        probe("Trainer null test, cvae", () -> { try (Cvae m = Cvae.create(be, CvaeConfig.defaults(784, 10), 1); Trainer t = new Trainer(m, train, null, tc)) { return t.run(new TrainListener() {}).get(0).testElbo(); } });
        probe("trainer null listener", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().latent(2).hidden(16).build(), 1); Trainer t = new Trainer(m, train, null, tc)) { return t.run(null); } });
        probe("Png.writeGrid mismatched", () -> { Png.writeGrid(Path.of("/tmp/jprobe/x.png"), new float[10], 16, new int[]{28, 28}); return "written"; });
        be.close();
    }
}
