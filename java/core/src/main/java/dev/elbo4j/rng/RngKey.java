package dev.elbo4j.rng;

/**
 * Names one stream of random numbers: {@code seed} (the user's), {@code stream} (what it is for,
 * see {@link Streams}) and {@code step} (which training step, epoch or evaluation chunk). Element
 * {@code j} of a draw is a pure function of (key, j); see {@link Philox} for the layout.
 */
public record RngKey(long seed, int stream, long step) {

    public RngKey {
        if (stream < 0 || stream > 0xff) {
            throw new IllegalArgumentException("stream must be in [0, 255], got " + stream);
        }
        if (step < 0 || step >= (1L << 56)) {
            throw new IllegalArgumentException("step must be in [0, 2^56), got " + step);
        }
    }

    public int key0() {
        return (int) seed;
    }

    public int key1() {
        return (int) (seed >>> 32);
    }

    public int counter2() {
        return (int) step;
    }

    public int counter3() {
        return (stream << 24) | ((int) (step >>> 32) & 0xffffff);
    }

    public RngKey withStep(long s) {
        return new RngKey(seed, stream, s);
    }
}
