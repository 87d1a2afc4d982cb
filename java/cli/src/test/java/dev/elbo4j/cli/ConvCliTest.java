package dev.elbo4j.cli;

import dev.elbo4j.io.Json;
import dev.elbo4j.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code train --encoder conv:... --decoder deconv:...} end to end on a small MNIST subset: the
 * layout in the checkpoint, eval, sample and reconstruct rebuilding it, resume, export, the refusals
 * (other families, --tied) and the grammar's usage errors.
 */
class ConvCliTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void subset() throws IOException {
        data = CliTest.mnistSubset(tmp.resolve("subset"), 200, 60);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--device", "cpu",
                "--hidden", "16", "--latent", "3", "--batch-size", "50", "--eval-k", "5", "--no-progress"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void convVaeTrainsResumesAndEveryCommandRebuildsIt() throws IOException {
        Path run = tmp.resolve("vae");
        String[] arch = {"--encoder", "conv:4x4s2p1,8x4s2p1", "--decoder", "deconv:8x4s2p1,4x4s2p1"};
        CliTest.Result r = CliTest.run(train(run, concat(arch, "--epochs", "1")));
        assertEquals(0, r.code(), r.err());
        SafeTensors.File ckpt = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        Map<String, Object> model = Json.parseObject(ckpt.metadata("model"));
        assertEquals("conv:4x4s2p1,8x4s2p1", model.get("encoder_conv"));
        assertEquals("deconv:8x4s2p1,4x4s2p1", model.get("decoder_conv"));
        assertEquals(List.of(1L, 28L, 28L), ((List<?>) model.get("conv_image")).stream().map(v -> ((Number) v).longValue()).toList());
        assertArrayEquals(new int[]{4, 1, 4, 4}, ckpt.entry("encoder.conv.0.weight").shape());
        assertArrayEquals(new int[]{4, 1, 4, 4}, ckpt.entry("decoder.deconv.1.weight").shape());

        FlowCliTest.assertUsage("--resume: --encoder does not match the run", train(run, "--encoder", "conv:4x4s2p1", "--epochs", "2",
                "--resume"));
        r = CliTest.run(train(run, concat(arch, "--epochs", "2", "--resume")));
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "-k", "5", "--no-progress", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("log p(x)"), r.out());
        r = CliTest.run("sample", "-c", run.toString(), "-n", "4", "-o", tmp.resolve("s.png").toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-o", tmp.resolve("r.png").toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(tmp.resolve("r.png")) > 0);

        r = CliTest.run("export", "-c", run.toString(), "-o", tmp.resolve("exp").toString());
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("model.safetensors", "model.py", "encoder.onnx", "decoder.onnx")) {
            assertTrue(Files.size(tmp.resolve("exp").resolve(f)) > 0, f);
        }
    }

    @Test
    void convAutoencoderAndCvaeTrain() {
        CliTest.Result r = CliTest.run(train(tmp.resolve("ae"), "--model", "ae", "--encoder", "conv:4x3s2p1", "--decoder", "deconv:4x3s2p1",
                "--corruption", "mask", "--epochs", "1"));
        assertEquals(0, r.code(), r.err());
        r = CliTest.run(train(tmp.resolve("cvae"), "--model", "cvae", "--encoder", "conv:4x3s2p1", "--epochs", "1"));
        assertEquals(0, r.code(), r.err());
    }

    /** M2 with conv layers: trained, resumed, and rebuilt by eval (its accuracy), sample and reconstruct. */
    @Test
    void convM2TrainsResumesAndEveryCommandRebuildsIt() throws IOException {
        Path run = tmp.resolve("m2");
        String[] arch = {"--model", "m2", "--labels", "20", "--encoder", "conv:4x4s2p1", "--decoder", "deconv:4x4s2p1"};
        CliTest.Result r = CliTest.run(train(run, concat(arch, "--epochs", "1")));
        assertEquals(0, r.code(), r.err());
        SafeTensors.File ckpt = SafeTensors.read(run.resolve("checkpoint.safetensors"));
        assertEquals("conv:4x4s2p1", Json.parseObject(ckpt.metadata("model")).get("encoder_conv"));
        assertArrayEquals(new int[]{4, 1, 4, 4}, ckpt.entry("classifier.conv.0.weight").shape());
        assertArrayEquals(new int[]{4, 1, 4, 4}, ckpt.entry("encoder.conv.0.weight").shape());
        assertArrayEquals(new int[]{4, 1, 4, 4}, ckpt.entry("decoder.deconv.0.weight").shape());
        r = CliTest.run(train(run, concat(arch, "--epochs", "2", "--resume")));
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("eval", "-c", run.toString(), "--data", data.toString(), "--no-progress", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("accuracy"), r.out());
        r = CliTest.run("sample", "-c", run.toString(), "-n", "4", "--label", "3", "-o", tmp.resolve("m2s.png").toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("reconstruct", "-c", run.toString(), "--data", data.toString(), "-o", tmp.resolve("m2r.png").toString(),
                "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        r = CliTest.run("export", "-c", run.toString(), "-o", tmp.resolve("m2exp").toString());
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("model.safetensors", "model.py", "classifier.onnx", "encoder.onnx", "decoder.onnx")) {
            assertTrue(Files.size(tmp.resolve("m2exp").resolve(f)) > 0, f);
        }
    }

    @Test
    void colourImageFolderTrainsWithThreeChannelConvs() throws IOException {
        Path pics = tmp.resolve("pics");
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 24; i++) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(6, 5, java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 6; x++) img.setRGB(x, y, (128 + rnd.nextInt(128)) << (i % 2 == 0 ? 16 : 0));
            }
            Path f = pics.resolve(i + ".png");
            Files.createDirectories(f.getParent());
            javax.imageio.ImageIO.write(img, "png", f.toFile());
        }
        Path run = tmp.resolve("colour");
        CliTest.Result r = CliTest.run("train", "--data", pics.toString(), "--out", run.toString(), "--device", "cpu", "--hidden", "8",
                "--latent", "2", "--epochs", "1", "--eval-k", "0", "--no-progress", "--likelihood", "gaussian", "--test-fraction", "0.25",
                "--encoder", "conv:4x3s2p1", "--decoder", "deconv:4x3s2p1");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> model = Json.parseObject(SafeTensors.read(run.resolve("checkpoint.safetensors")).metadata("model"));
        assertEquals(List.of(3L, 5L, 6L), ((List<?>) model.get("conv_image")).stream().map(v -> ((Number) v).longValue()).toList());
        assertTrue(Files.size(run.resolve("reconstructions.png")) > 0);
    }

    @Test
    void badArchitecturesAreUsageErrorsNamingTheFlagAndToken() {
        FlowCliTest.assertUsage("--encoder: encoder 'conv:4x4s2p1,8x4q2': bad layer '8x4q2'",
                train(tmp.resolve("b1"), "--encoder", "conv:4x4s2p1,8x4q2"));
        FlowCliTest.assertUsage("--decoder: decoder 'conv:8x4' must be mlp or deconv:LAYERS", train(tmp.resolve("b2"), "--decoder", "conv:8x4"));
        FlowCliTest.assertUsage("--encoder: encoder layer 2 '8x15s2' on 4x13x13: a 15x15 kernel does not fit",
                train(tmp.resolve("b3"), "--encoder", "conv:4x4s2,8x15s2"));
        FlowCliTest.assertUsage("--encoder applies to --model vae, ae, cvae or m2, not 'nice'", train(tmp.resolve("b4"), "--model", "nice",
                "--encoder", "conv:4x3"));
        FlowCliTest.assertUsage("--tied needs a fully connected encoder and decoder", train(tmp.resolve("b5"), "--model", "ae", "--tied",
                "--encoder", "conv:4x3"));
        for (String d : List.of("b1", "b2", "b3", "b4", "b5")) {
            assertFalse(Files.exists(tmp.resolve(d).resolve("checkpoint.safetensors")), "nothing written for " + d);
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
