package dev.elbo4j.io;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Block-mean downsampling of a data set (how a d <= 20 Boltzmann machine sees MNIST). */
class DatasetDownsampleTest {

    @Test
    void eachPixelIsTheRoundedMeanOfItsBlock() {
        // One 4 x 6 image -> 2 x 3: blocks of 2 x 2.
        int[] v = {
                0, 255, 10, 20, 100, 100,
                255, 0, 30, 41, 100, 101,
                7, 7, 0, 0, 255, 255,
                7, 8, 0, 1, 255, 255};
        byte[] im = new byte[24];
        for (int i = 0; i < 24; i++) im[i] = (byte) v[i];
        Dataset d = new Dataset(im, new byte[]{7}, 1, 4, 6).downsample(2, 3);
        assertEquals(2, d.rows());
        assertEquals(3, d.cols());
        assertEquals(7, d.label(0), "labels are kept");
        int[] want = {128, 25, 100, 7, 0, 255}; // (0+255+255+0)/4 = 127.5 -> 128; 101/4 = 25.25 -> 25; 401/4 -> 100; 29/4 = 7.25 -> 7; 1/4 -> 0
        for (int p = 0; p < 6; p++) assertEquals(want[p], d.pixel(0, p), "pixel " + p);
    }

    @Test
    void sizesThatDoNotDivideAreRejected() {
        Dataset d = new Dataset(new byte[28 * 28], null, 1, 28, 28);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.downsample(5, 4));
        assertTrue(e.getMessage().contains("28x28") && e.getMessage().contains("5x4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.downsample(0, 4));
        assertEquals(16, d.downsample(4, 4).dim());
    }
}
