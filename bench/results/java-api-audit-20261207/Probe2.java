import dev.elbo4j.backend.*;
import dev.elbo4j.data.*;
import dev.elbo4j.eval.*;
import dev.elbo4j.io.*;
import dev.elbo4j.model.*;
import dev.elbo4j.rng.*;
import dev.elbo4j.tensor.*;
import dev.elbo4j.train.*;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.atomic.*;

public class Probe2 {
    interface Body { Object run() throws Exception; }
    static void probe(String name, Body b) {
        try {
            Object r = b.run();
            System.out.println("PROBE " + name + ": OK " + (r instanceof float[] f ? "float[" + f.length + "]" : r instanceof double[] d ? "double[" + d.length + "]" : String.valueOf(r)));
        } catch (Throwable t) {
            System.out.println("PROBE " + name + ": " + t.getClass().getName() + ": " + t.getMessage());
            StackTraceElement[] st = t.getStackTrace();
            if (st.length > 0) System.out.println("    at " + st[0]);
        }
    }
    static final class Cancelled extends RuntimeException { }

    public static void main(String[] a) throws Exception {
        Path runs = Path.of("/tmp/jprobe/runs");
        Path mnist = Path.of("/work/wt/javaapi/data/mnist");
        Backend be = Backends.select("cpu");
        Dataset train = Dataset.loadDir(mnist, "train", 2000), test = Dataset.loadDir(mnist, "test", 300);
        TrainConfig tc = TrainConfig.builder().epochs(3).batchSize(100).build();
        Path best = Path.of("/tmp/jprobe/best.safetensors"), last = Path.of("/tmp/jprobe/last.safetensors");
        probe("best checkpoint + cancel from another thread + resume", () -> {
            AtomicBoolean cancel = new AtomicBoolean();
            double[] bestElbo = {Double.NEGATIVE_INFINITY};
            VaeConfig vc = VaeConfig.builder().latent(4).hidden(32).build();
            StringBuilder log = new StringBuilder();
            try (Vae m = Vae.create(be, vc, 1); Trainer t = new Trainer(m, train, test, tc)) {
                Thread killer = new Thread(() -> { try { Thread.sleep(1500); } catch (InterruptedException e) { } cancel.set(true); });
                killer.start();
                try {
                    t.run(new TrainListener() {
                        @Override public void step(int epoch, int s, long g) {
                            if (s % 5 == 0) log.append(" ").append(epoch).append(':').append(s).append(String.format("=%.1f", t.runningObjective()));
                            if (cancel.get()) {
                                try { Checkpoint.save(last, t, new int[]{28, 28}); } catch (Exception e) { throw new RuntimeException(e); }
                                throw new Cancelled();
                            }
                            try { Thread.sleep(20); } catch (InterruptedException e) { }
                        }
                        @Override public void epochEnd(EpochResult r) {
                            if (r.testElbo() > bestElbo[0]) {
                                bestElbo[0] = r.testElbo();
                                try { Checkpoint.save(best, t, new int[]{28, 28}); } catch (Exception e) { throw new RuntimeException(e); }
                            }
                        }
                    });
                } catch (Cancelled c) {
                    log.append(" cancelled at epoch ").append(t.epoch()).append(" batch ").append(t.batchInEpoch());
                }
            }
            Checkpoint c = Checkpoint.load(last);
            try (Vae m = c.restoreModel(be, Vae.class); Trainer t = new Trainer(m, train, test, c.training())) {
                c.restoreTraining(t);
                List<EpochResult> rs = t.run(new PrintingListener(System.out, 3));
                log.append(" resumed -> ").append(rs.size()).append(" epochs, last test ").append(rs.get(rs.size() - 1).testElbo());
            }
            return log + " best=" + bestElbo[0];
        });
        probe("restoreTraining into a trainer of another size", () -> {
            Checkpoint c = Checkpoint.load(last);
            try (Vae m = Vae.create(be, VaeConfig.builder().latent(2).hidden(16).build(), 1); Trainer t = new Trainer(m, train, test, c.training())) {
                c.restoreTraining(t);
                return "restored";
            }
        });
        probe("restoreTraining into a trainer of another family same size?", () -> {
            Checkpoint c = Checkpoint.load(runs.resolve("vae/checkpoint.safetensors"));
            try (Autoencoder m = Autoencoder.create(be, AutoencoderConfig.builder().inputDim(784).latent(8).hidden(64).build(), DType.F32, 1); Trainer t = new Trainer(m, train, test, c.training())) {
                c.restoreTraining(t);
                return "restored moments of a vae into an ae trainer";
            }
        });
        probe("restoreTraining with trainer on the restored model but other TrainConfig", () -> {
            Checkpoint c = Checkpoint.load(last);
            try (Vae m = c.restoreModel(be, Vae.class); Trainer t = new Trainer(m, train, test, TrainConfig.builder().epochs(1).batchSize(7).build())) {
                c.restoreTraining(t);
                return "restored at epoch " + t.epoch() + " batch " + t.batchInEpoch() + " of " + t.stepsPerEpoch();
            }
        });
        probe("own float[] data, fromFloats, train cvae, encode with labels", () -> {
            int n = 500, d = 64; float[] x = new float[n * d]; int[] y = new int[n];
            Random r = new Random(2);
            for (int i = 0; i < n; i++) { y[i] = i % 4; for (int j = 0; j < d; j++) x[i * d + j] = (j % 4 == y[i]) ? 0.9f : r.nextFloat() * 0.2f; }
            Dataset ds = Dataset.fromFloats(x, y, 8, 8);
            try (Cvae m = Cvae.create(be, CvaeConfig.defaults(64, 4), DType.F32, 1); Trainer t = new Trainer(m, ds, null, TrainConfig.builder().epochs(3).batchSize(50).build())) {
                List<EpochResult> rs = t.run(new TrainListener() {});
                float[] z = m.encodeMean(Arrays.copyOf(x, 2 * d), new int[]{0, 1});
                float[] s = m.sample(4, new RngKey(1, Streams.SAMPLE, 0), 2);
                return "train ELBO " + rs.get(2).trainElbo() + " z=" + z.length + " s=" + s.length;
            }
        });
        probe("m2 ckpt predict float[]", () -> {
            try (M2 m = Checkpoint.load(runs.resolve("m2/checkpoint.safetensors")).restoreModel(be, M2.class)) {
                float[] x = new float[5 * 784];
                for (int i = 0; i < x.length; i++) x[i] = (test.images()[i] & 0xff) / 255f;
                int[] p = m.predict(x); int[] truth = new int[5]; for (int i = 0; i < 5; i++) truth[i] = test.label(i);
                return Arrays.toString(p) + " vs " + Arrays.toString(truth);
            }
        });
        probe("ae ckpt encode float[]", () -> {
            try (Autoencoder m = Checkpoint.load(runs.resolve("ae/checkpoint.safetensors")).restoreModel(be, Autoencoder.class)) {
                return m.encode(new float[2 * 784]);
            }
        });
        probe("cvae encode without labels", () -> { try (Cvae m = Cvae.create(be, CvaeConfig.defaults(64, 4), DType.F32, 1)) { return m.encodeMean(new float[64]); } });
        probe("cvae decode without labels", () -> { try (Cvae m = Cvae.create(be, CvaeConfig.defaults(64, 4), DType.F32, 1)) { return m.decodeMean(new float[20]); } });
        probe("threads: ELBO4J threads property?", () -> be.description());
        be.close();
    }
}
