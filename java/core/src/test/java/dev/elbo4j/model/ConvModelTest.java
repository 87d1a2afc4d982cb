package dev.elbo4j.model;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.nn.ConvLayout;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.rng.Streams;
import dev.elbo4j.tensor.DType;
import dev.elbo4j.tensor.Shape;
import dev.elbo4j.tensor.Tensor;
import dev.elbo4j.testing.GradCheck;
import dev.elbo4j.testing.Rand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The families with a conv encoder and/or transposed-conv decoder (docs/CONV.md): every
 * parameter's gradient of the training loss against central finite differences in F64 (VAE with
 * each likelihood, IWAE and the planar flow; plain, denoising and sparse autoencoders; the CVAE),
 * at small odd image sizes, grey and colour; the layouts' JSON round trip and their errors.
 */
class ConvModelTest {
    private final CpuBackend be = new CpuBackend();

    /** 1 x 7 x 5 grey or 7 x 5 x 3 colour images; a stride-2 conv and deconv, padding 1. */
    private static ConvLayout layout(int channels, String enc, String dec) {
        return ConvLayout.of(channels == 1 ? new int[]{7, 5} : new int[]{7, 5, channels}, enc, dec);
    }

    private void check(Model m, TrainStep step, Batch batch, double tol) {
        RngKey key = new RngKey(99, Streams.LATENT, 5);
        DoubleSupplier loss = () -> {
            step.run(batch, key);
            return step.meanLoss();
        };
        loss.getAsDouble();
        double[] grads = be.download(m.parameters().grads());
        assertTrue(java.util.Arrays.stream(grads).anyMatch(g -> g != 0));
        // The loss sums ~100 pixels' terms of O(1): rounding in the quotients is ~1e-9 absolute, so the
        // smallest gradients (~5e-5) check to ~2e-5 relative; an indexing error gives O(1).
        GradCheck.check(m.config().toString(), be, m.parameters().values(), grads, loss, 1e-5, tol);
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} channels={4}")
    @CsvSource({
            "bernoulli,        elbo, none,   'conv:2x3s2p1,3x3',  'deconv:3x3,2x3s2p1', 1",
            "gaussian,         elbo, none,   'conv:2x3s2p1',      mlp,                  1",
            "gaussian-learned, elbo, none,   mlp,                 'deconv:2x3s2p1',     3",
            "bernoulli,        iwae, none,   'conv:2x3s2p1',      'deconv:2x3s2p1',     1",
            "bernoulli,        elbo, planar, 'conv:2x2s2',        'deconv:2x3s2p1',     3"})
    void vaeGradients(String likelihood, String objective, String flow, String enc, String dec, int channels) {
        ConvLayout conv = layout(channels, enc, dec);
        VaeConfig cfg = VaeConfig.builder().inputDim(conv.inputDim()).encoderHidden(4).latent(2).decoderHidden(3)
                .activation(Activation.TANH).likelihood(Likelihood.parse(likelihood, 0.6))
                .samples(objective.equals("iwae") ? 3 : 1).objective(VaeObjective.parse(objective))
                .flow(flow, flow.equals("none") ? 0 : 2).conv(conv).build();
        int b = 3;
        try (Vae vae = Vae.create(be, cfg, DType.F64, 17); Vae.Pass pass = vae.pass(b, cfg.samples(), true)) {
            if (cfg.likelihood().learnsVariance()) be.write(vae.parameters().value(Vae.LOGVAR), Rand.normal(3, cfg.inputDim(), 0.3));
            Tensor x = be.upload(Rand.uniform(21, b * cfg.inputDim(), 0, 1), Shape.of(b, cfg.inputDim()));
            check(vae, pass, new Batch(x, null, null, null), 5e-5);
        }
    }

    @ParameterizedTest(name = "{0} {1}({2}) sparsity weight {3} channels={4}")
    @CsvSource({
            "bernoulli, none,     0,   0,   1",
            "bernoulli, mask,     0.3, 0,   3",
            "mse,       gaussian, 0.2, 0.5, 1"})
    void autoencoderGradients(String rec, String corruption, double level, double weight, int channels) {
        ConvLayout conv = layout(channels, "conv:2x3s2p1", "deconv:2x3s2p1");
        AutoencoderConfig cfg = AutoencoderConfig.builder().inputDim(conv.inputDim()).hidden(4).latent(3).activation(Activation.TANH)
                .reconstruction(AutoencoderConfig.Reconstruction.parse(rec)).corruption(Corruption.parse(corruption), level)
                .sparsity(0.3, weight).conv(conv).build();
        int b = 3;
        try (Autoencoder ae = Autoencoder.create(be, cfg, DType.F64, 23); Autoencoder.Pass pass = ae.pass(b, true)) {
            Tensor x = be.upload(Rand.uniform(31, b * cfg.inputDim(), 0, 1), Shape.of(b, cfg.inputDim()));
            check(ae, pass, new Batch(x, null, null, null), 5e-5);
        }
    }

    @Test
    void cvaeGradients() {
        ConvLayout conv = layout(1, "conv:2x3s2p1", "deconv:2x3s2p1");
        CvaeConfig cfg = new CvaeConfig(conv.inputDim(), 3, new int[]{4}, 2, new int[]{3}, Activation.TANH, Likelihood.bernoulli(), 2, 1,
                conv);
        int b = 3;
        double[] y = new double[b * 3];
        for (int i = 0; i < b; i++) y[i * 3 + (i * 2) % 3] = 1;
        try (Cvae m = Cvae.create(be, cfg, DType.F64, 5); Cvae.Step step = m.trainStep(b)) {
            Tensor x = be.upload(Rand.uniform(41, b * cfg.inputDim(), 0, 1), Shape.of(b, cfg.inputDim()));
            check(m, step, new Batch(x, be.upload(y, Shape.of(b, 3)), null, null), 5e-5);
        }
    }

    /**
     * M2 with conv layers in its classifier and encoder (each its own) and a transposed-conv
     * decoder: the whole step (unlabelled bound over every class plus the labelled term and the
     * cross-entropy) against finite differences, grey and colour.
     */
    @ParameterizedTest(name = "m2 {0} {1} channels={2}")
    @CsvSource({"'conv:2x3s2p1', 'deconv:2x3s2p1', 1", "'conv:2x3s2p1', mlp, 3", "mlp, 'deconv:2x3s2p1', 1"})
    void m2Gradients(String enc, String dec, int channels) {
        ConvLayout conv = layout(channels, enc, dec);
        M2Config cfg = new M2Config(conv.inputDim(), 3, new int[]{4}, new int[]{4}, 2, new int[]{3}, Activation.TANH,
                Likelihood.bernoulli(), 0.7, 1.4, conv);
        if (!"mlp".equals(enc)) {
            assertTrue(cfg.parameterLayout().specs().stream().anyMatch(sp -> sp.name().startsWith("classifier.conv.0")),
                    "the classifier has conv layers of its own");
        }
        double[] y = new double[2 * 3];
        y[1] = y[3 + 2] = 1;
        try (M2 m = M2.create(be, cfg, DType.F64, 9); M2.Step step = m.trainStep(3)) {
            Tensor xu = be.upload(Rand.uniform(51, 3 * cfg.inputDim(), 0, 1), Shape.of(3, cfg.inputDim()));
            Tensor xl = be.upload(Rand.uniform(52, 2 * cfg.inputDim(), 0, 1), Shape.of(2, cfg.inputDim()));
            check(m, step, new Batch(xu, null, xl, be.upload(y, Shape.of(2, 3))), 5e-5);
        }
    }

    @Test
    void convLayersNameTheirParametersAfterPyTorchLayouts() {
        ConvLayout conv = ConvLayout.of(new int[]{28, 28}, "conv:32x4s2p1,64x4s2p1", "deconv:64x4s2p1,32x4s2p1");
        VaeConfig cfg = VaeConfig.builder().encoderHidden(256).decoderHidden(256).conv(conv).build();
        Map<String, String> shapes = new java.util.LinkedHashMap<>();
        for (var s : cfg.parameterLayout().specs()) shapes.put(s.name(), s.shape().toString());
        assertEquals(java.util.List.of("encoder.conv.0.weight", "encoder.conv.0.bias", "encoder.conv.1.weight", "encoder.conv.1.bias",
                "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
                "decoder.0.weight", "decoder.0.bias", "decoder.1.weight", "decoder.1.bias",
                "decoder.deconv.0.weight", "decoder.deconv.0.bias", "decoder.deconv.1.weight", "decoder.deconv.1.bias"),
                java.util.List.copyOf(shapes.keySet()));
        assertEquals(dev.elbo4j.tensor.Shape.of(32, 1, 4, 4).toString(), shapes.get("encoder.conv.0.weight"));
        assertEquals(dev.elbo4j.tensor.Shape.of(256, 64 * 7 * 7).toString(), shapes.get("encoder.0.weight"));
        assertEquals(dev.elbo4j.tensor.Shape.of(64 * 7 * 7, 256).toString(), shapes.get("decoder.1.weight"));
        // ConvTranspose2d weights are [in, out, kH, kW]: 64 -> 32, then 32 -> 1.
        assertEquals(dev.elbo4j.tensor.Shape.of(64, 32, 4, 4).toString(), shapes.get("decoder.deconv.0.weight"));
        assertEquals(dev.elbo4j.tensor.Shape.of(32, 1, 4, 4).toString(), shapes.get("decoder.deconv.1.weight"));
    }

    @Test
    void layoutsRoundTripThroughJsonAndRejectBadStrings() {
        ConvLayout conv = ConvLayout.of(new int[]{28, 28, 3}, "conv:16x3p1,32x4s2p1", "deconv:8x3s2");
        VaeConfig cfg = VaeConfig.builder().inputDim(28 * 28 * 3).conv(conv).build();
        Map<String, Object> json = dev.elbo4j.io.Json.parseObject(dev.elbo4j.io.Json.write(cfg.toJson()));
        assertEquals(cfg, VaeConfig.fromJson(json));
        assertEquals("conv:16x3p1,32x4s2p1", json.get("encoder_conv"));
        M2Config m2 = M2Config.defaults(28 * 28 * 3, 10).withConv(conv);
        M2Config back = M2Config.fromJson(dev.elbo4j.io.Json.parseObject(dev.elbo4j.io.Json.write(m2.toJson())));
        assertEquals(m2, back);
        assertNotEquals(M2Config.defaults(28 * 28 * 3, 10), back, "the layout is part of the model");
        assertNull(ConvLayout.of(new int[]{28, 28}, "mlp", null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvLayout.of(new int[]{28, 28}, "conv:32x4s2p1,64x4q2", null));
        assertTrue(e.getMessage().contains("'64x4q2'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvLayout.of(new int[]{28, 28}, "deconv:32x4", null));
        assertTrue(e.getMessage().startsWith("encoder"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvLayout.of(new int[]{5, 5}, "conv:8x3s2,8x3s2", null));
        assertTrue(e.getMessage().contains("encoder layer 2 '8x3s2'"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> AutoencoderConfig.builder().conv(ConvLayout.of(new int[]{28, 28}, "conv:4x3", null)).tied(true).build());
        assertThrows(IllegalArgumentException.class, () -> VaeConfig.builder().inputDim(100).conv(ConvLayout.of(new int[]{28, 28}, "conv:4x3", null)).build());
    }
}
