import dev.elbo4j.backend.*;
import dev.elbo4j.eval.*;
import dev.elbo4j.io.*;
import dev.elbo4j.model.*;
import dev.elbo4j.rng.*;
import dev.elbo4j.tensor.*;
import dev.elbo4j.train.*;
import dev.elbo4j.nn.*;
import dev.elbo4j.data.*;
import java.nio.file.*;
import java.util.*;

public class Probe {
    interface Body { Object run() throws Exception; }
    static void probe(String name, Body b) {
        try {
            Object r = b.run();
            System.out.println("PROBE " + name + ": OK " + (r instanceof float[] f ? "float[" + f.length + "] first=" + (f.length > 0 ? f[0] : "-") : r instanceof double[] d ? "double[" + d.length + "] first=" + (d.length > 0 ? d[0] : "-") : String.valueOf(r)));
        } catch (Throwable t) {
            System.out.println("PROBE " + name + ": " + t.getClass().getName() + ": " + t.getMessage());
            StackTraceElement[] st = t.getStackTrace();
            if (st.length > 0) System.out.println("    at " + st[0]);
        }
    }

    public static void main(String[] a) throws Exception {
        Path runs = Path.of("/tmp/jprobe/runs");
        Path mnist = Path.of("/work/wt/javaapi/data/mnist");
        Backend be = Backends.select("cpu");
        Dataset train = Dataset.loadDir(mnist, "train", 1000), test = Dataset.loadDir(mnist, "test", 200);
        // my own data as float[] in [0,1]
        int n = 300, d = 16;
        float[] mine = new float[n * d];
        Random rnd = new Random(1);
        for (int i = 0; i < mine.length; i++) mine[i] = rnd.nextFloat();
        byte[] bytes = new byte[mine.length];
        for (int i = 0; i < mine.length; i++) bytes[i] = (byte) Math.round(mine[i] * 255);
        Dataset own = new Dataset(bytes, null, n, 4, 4);
        TrainConfig tc = TrainConfig.builder().epochs(1).batchSize(50).build();
        probe("train vae on own 4x4 bytes", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(16).latent(2).hidden(8).build(), 1); Trainer t = new Trainer(m, own, null, tc)) { return t.run(new TrainListener() {}); } });
        probe("train ae", () -> { try (Autoencoder m = Autoencoder.create(be, AutoencoderConfig.builder().inputDim(784).latent(8).hidden(32).build(), DType.F32, 1); Trainer t = new Trainer(m, train, test, tc)) { return t.run(new TrainListener() {}); } });
        probe("train cvae", () -> { try (Cvae m = Cvae.create(be, CvaeConfig.defaults(784, 10), DType.F32, 1); Trainer t = new Trainer(m, train, test, tc)) { return t.run(new TrainListener() {}); } });
        probe("train m2 defaults labelled?", () -> { try (M2 m = M2.create(be, M2Config.defaults(784, 10), DType.F32, 1); Trainer t = new Trainer(m, train, test, tc)) { return t.run(new TrainListener() {}); } });
        probe("train nice", () -> { try (Nice m = Nice.create(be, new NiceConfig(784, 4, new int[]{32}, true), DType.F32, 1); Trainer t = new Trainer(m, train, test, TrainConfig.builder().epochs(1).batchSize(50).binarization(Binarization.NONE).build())) { return t.run(new TrainListener() {}); } });
        probe("train rbm", () -> { try (Rbm m = Rbm.create(be, new RbmConfig(784, 32, 1, false, 10), DType.F32, 1); Trainer t = new Trainer(m, train, test, tc)) { return t.run(new TrainListener() {}); } });
        probe("train dbn", () -> { try (Dbn m = Dbn.create(be, new DbnConfig(784, new int[]{32, 16}, 1, false, 10, 10), DType.F32, 1); Trainer t = new Trainer(m, train, test, tc)) { return t.run(new TrainListener() {}); } });
        probe("train fvbm on 784 (too big)", () -> { try (Fvbm m = Fvbm.create(be, new FvbmConfig(784), DType.F32, 1)) { return m; } });
        probe("train fvbm 4x4", () -> { try (Fvbm m = Fvbm.create(be, new FvbmConfig(16), DType.F64, 1); Trainer t = new Trainer(m, train.downsample(4, 4), test.downsample(4, 4), tc)) { return t.run(new TrainListener() {}); } });
        probe("train conv vae", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().latent(4).hidden(32).conv(ConvLayout.of(new int[]{28, 28}, "conv:8x4s2p1", "mlp")).build(), 1); Trainer t = new Trainer(m, train.subset(200), test.subset(50), tc)) { return t.run(new TrainListener() {}); } });
        probe("DataFiles folder", () -> DataFiles.describe(DataFiles.load(mnist, 0.1, 500, 100)));
        // CLI checkpoint
        probe("load vae ckpt + encode/decode/sample/reconstruct", () -> {
            Checkpoint c = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors"));
            try (Vae m = c.restoreModel(be, Vae.class)) {
                float[] x = new float[2 * 784];
                for (int i = 0; i < x.length; i++) x[i] = (test.images()[i] & 0xff) / 255f;
                Tensor xt = be.upload(x, Shape.of(2, 784));
                float[] z = m.encodeMean(xt);
                float[] dec = m.decodeMean(be.upload(z, Shape.of(2, m.latent())), null);
                float[] rec = m.reconstruct(xt, null);
                float[] s = m.sample(3, new RngKey(1, Streams.SAMPLE, 0));
                return "z=" + z.length + " dec=" + dec.length + " rec=" + rec.length + " s=" + s.length + " z0=" + z[0];
            }
        });
        probe("eval vae ckpt elbo + logp", () -> {
            Checkpoint c = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors"));
            try (Vae m = c.restoreModel(be, Vae.class); DeviceDataset dd = new DeviceDataset(be, test)) {
                Evaluator ev = new Evaluator(m, dd, c.training().binarization(), 1);
                return Evaluator.mean(ev.elbo(1)) + " " + Evaluator.mean(ev.logLikelihood(10, null));
            }
        });
        probe("m2 classify", () -> {
            Checkpoint c = Checkpoint.load(runs.resolve("m2/checkpoint.safetensors"));
            try (M2 m = c.restoreModel(be, M2.class)) {
                float[] x = new float[2 * 784];
                for (int i = 0; i < x.length; i++) x[i] = (test.images()[i] & 0xff) / 255f;
                double[] lg = m.logits(be.upload(x, Shape.of(2, 784)));
                return Arrays.toString(lg);
            }
        });
        // bad inputs
        probe("restore vae ckpt as Cvae", () -> Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Cvae.class));
        probe("load missing ckpt", () -> Checkpoint.load(runs.resolve("nope.safetensors")));
        probe("encode wrong width", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.encodeMean(be.upload(new float[2 * 100], Shape.of(2, 100))); } });
        probe("encode F64 into F32 model", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.encodeMean(be.upload(new double[2 * 784], Shape.of(2, 784))); } });
        probe("encode 1-D tensor", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.encodeMean(be.upload(new float[784], Shape.of(784))); } });
        probe("encode NaN input", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { float[] x = new float[784]; x[3] = Float.NaN; return m.encodeMean(be.upload(x, Shape.of(1, 784))); } });
        probe("decode wrong latent", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.decodeMean(be.upload(new float[2 * 3], Shape.of(2, 3)), null); } });
        probe("sample n=0", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.sample(0, new RngKey(1, 0, 0)); } });
        probe("sample n=-1", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.sample(-1, new RngKey(1, 0, 0)); } });
        probe("sample label 3 on vae", () -> { try (Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class)) { return m.sample(2, new RngKey(1, 0, 0), 3); } });
        probe("m2 sample label 12", () -> { try (M2 m = Checkpoint.load(runs.resolve("m2/checkpoint.safetensors")).restoreModel(be, M2.class)) { return m.sample(2, new RngKey(1, 0, 0), 12); } });
        probe("m2 logits wrong width", () -> { try (M2 m = Checkpoint.load(runs.resolve("m2/checkpoint.safetensors")).restoreModel(be, M2.class)) { return m.logits(be.upload(new float[2 * 10], Shape.of(2, 10))); } });
        probe("closed model encode", () -> { Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class); m.close(); return m.encodeMean(be.upload(new float[784], Shape.of(1, 784))); });
        probe("closed model sample", () -> { Vae m = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")).restoreModel(be, Vae.class); m.close(); return m.sample(2, new RngKey(1, 0, 0)); });
        probe("closed model Trainer", () -> { Vae m = Vae.create(be, VaeConfig.builder().inputDim(784).latent(2).hidden(8).build(), 1); m.close(); try (Trainer t = new Trainer(m, train, null, tc)) { return t.run(new TrainListener() {}); } });
        probe("closed trainer run", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(784).latent(2).hidden(8).build(), 1)) { Trainer t = new Trainer(m, train, null, tc); t.close(); return t.run(new TrainListener() {}); } });
        probe("closed backend create", () -> { Backend b2 = Backends.select("cpu"); b2.close(); try (Vae m = Vae.create(b2, VaeConfig.builder().inputDim(784).latent(2).hidden(8).build(), 1)) { return m.sample(1, new RngKey(1,0,0)); } });
        probe("trainer wrong dim", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(100).latent(2).hidden(8).build(), 1); Trainer t = new Trainer(m, train, null, tc)) { return null; } });
        probe("trainer test wrong dim", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(784).latent(2).hidden(8).build(), 1); Trainer t = new Trainer(m, train, own, tc)) { return t.run(new TrainListener() {}); } });
        probe("cvae labels out of range", () -> { byte[] lab = new byte[own.n()]; lab[5] = 12; Dataset dl = new Dataset(bytes, lab, n, 4, 4); try (Cvae m = Cvae.create(be, CvaeConfig.defaults(16, 10), DType.F32, 1); Trainer t = new Trainer(m, dl, null, tc)) { return t.run(new TrainListener() {}); } });
        probe("cvae no labels", () -> { try (Cvae m = Cvae.create(be, CvaeConfig.defaults(16, 10), DType.F32, 1); Trainer t = new Trainer(m, own, null, tc)) { return t.run(new TrainListener() {}); } });
        probe("cvae test labels out of range", () -> { byte[] lab = new byte[own.n()]; lab[5] = 12; Dataset dl = new Dataset(bytes, lab, n, 4, 4); byte[] lab2 = new byte[own.n()]; Dataset ok = new Dataset(bytes, lab2, n, 4, 4); try (Cvae m = Cvae.create(be, CvaeConfig.defaults(16, 10), DType.F32, 1); Trainer t = new Trainer(m, ok, dl, tc)) { return t.run(new TrainListener() {}); } });
        probe("m2 labels out of range", () -> { byte[] lab = new byte[own.n()]; for (int i = 0; i < n; i++) lab[i] = (byte) (i % 10); lab[5] = 12; Dataset dl = new Dataset(bytes, lab, n, 4, 4); try (M2 m = M2.create(be, M2Config.defaults(16, 10), DType.F32, 1); Trainer t = new Trainer(m, dl, null, TrainConfig.builder().epochs(1).batchSize(50).labelled(n).build())) { return t.run(new TrainListener() {}); } });
        probe("Dataset wrong length", () -> new Dataset(new byte[10], null, 3, 2, 2));
        probe("Dataset null images", () -> new Dataset(null, null, 3, 2, 2));
        probe("Dataset pixel oob", () -> own.pixel(n, 0));
        probe("Dataset label oob", () -> new Dataset(bytes, new byte[n], n, 4, 4).label(-1));
        probe("subset too many", () -> own.subset(n + 5));
        probe("backend bogus", () -> Backends.select("gpu"));
        probe("TrainConfig batch 0", () -> TrainConfig.builder().batchSize(0).build());
        probe("TrainConfig lr NaN", () -> TrainConfig.builder().learningRate(Double.NaN).build());
        probe("TrainConfig epochs -1", () -> TrainConfig.builder().epochs(-1).build());
        probe("VaeConfig latent 0", () -> VaeConfig.builder().latent(0).build());
        probe("upload shape mismatch", () -> be.upload(new float[10], Shape.of(3, 4)));
        probe("Evaluator on closed dataset", () -> { Checkpoint c = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")); try (Vae m = c.restoreModel(be, Vae.class)) { DeviceDataset dd = new DeviceDataset(be, test); dd.close(); return new Evaluator(m, dd, Binarization.DYNAMIC, 1).elbo(1); } });
        probe("Evaluator k=0", () -> { Checkpoint c = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors")); try (Vae m = c.restoreModel(be, Vae.class); DeviceDataset dd = new DeviceDataset(be, test)) { return new Evaluator(m, dd, Binarization.DYNAMIC, 1).elbo(0); } });
        probe("save ckpt to missing dir", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(16).latent(2).hidden(8).build(), 1)) { Checkpoint.saveModel(Path.of("/tmp/jprobe/nodir/x/m.safetensors"), m, new int[]{4, 4}); return "saved"; } });
        probe("save ckpt image mismatch", () -> { try (Vae m = Vae.create(be, VaeConfig.builder().inputDim(16).latent(2).hidden(8).build(), 1)) { Checkpoint.saveModel(Path.of("/tmp/jprobe/m.safetensors"), m, new int[]{28, 28}); return "saved"; } });
        probe("NaN in training data? (bytes cannot hold NaN)", () -> "n/a: Dataset is bytes");
        be.close();
    }
}
