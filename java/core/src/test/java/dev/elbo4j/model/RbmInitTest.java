package dev.elbo4j.model;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.backend.cpu.CpuBackend;
import dev.elbo4j.io.Dataset;
import dev.elbo4j.tensor.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The data-dependent start of RBM and DBN visible biases: the log-odds of each pixel's mean. */
class RbmInitTest {
    private final Backend be = new CpuBackend();

    /** Two 2 x 2 images: pixel means 0, 1, 0.5 and 127/510 (in 0..255 levels). */
    private static Dataset data() {
        byte[] im = {0, (byte) 255, (byte) 255, (byte) 127, 0, (byte) 255, 0, 0};
        return new Dataset(im, null, 2, 2, 2);
    }

    private static double logOdds(double p) {
        p = Math.min(1 - 1e-3, Math.max(1e-3, p));
        return Math.log(p / (1 - p));
    }

    @Test
    void visibleBiasesStartAtThePixelLogOdds() {
        Dataset d = data();
        double[] want = new double[4];
        for (int px = 0; px < 4; px++) want[px] = logOdds((d.pixel(0, px) + d.pixel(1, px)) / 510.0);
        assertEquals(logOdds(1e-3), want[0], 1e-12, "an always-off pixel is clamped, not -infinity");
        try (Rbm rbm = Rbm.create(be, new RbmConfig(4, 3, 1, false, 10), DType.F64, 1)) {
            double[] before = be.download(rbm.parameters().value("weight"));
            rbm.initializeFrom(d);
            assertArrayEquals(want, be.download(rbm.parameters().value("visible_bias")), 1e-12);
            assertArrayEquals(before, be.download(rbm.parameters().value("weight")), "only the visible biases change");
            assertArrayEquals(new double[3], be.download(rbm.parameters().value("hidden_bias")));
        }
        try (Dbn dbn = (Dbn) new DbnConfig(4, new int[]{3, 2}, 1, false, 5, 10).create(be, DType.F64, 1)) {
            dbn.initializeFrom(d);
            assertArrayEquals(want, be.download(dbn.parameters().value("layer0.visible_bias")), 1e-12);
            assertArrayEquals(new double[3], be.download(dbn.parameters().value("layer1.visible_bias")),
                    "deeper layers see features, not pixels: they keep their zero start");
        }
    }

    @Test
    void aDataSetOfAnotherWidthIsRejected() {
        try (Rbm rbm = Rbm.create(be, new RbmConfig(5, 3, 1, false, 10), DType.F64, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rbm.initializeFrom(data()));
            assertTrue(e.getMessage().contains("4 pixels"), e.getMessage());
        }
    }
}
