package dev.elbo4j.rng;

/**
 * Names one stream of random numbers: {@code seed} (the user's), {@code stream} (what it is for,
 * see {@link Streams}) and {@code step} (which training step, epoch or evaluation chunk). Element
 * {@code j} of a draw is a pure function of (key, j); see {@link Philox} for the layout.
 *
 * @param seed   the user's seed, the Philox key
 * @param stream what the numbers are for, in [0, 255] ({@link Streams})
 * @param step   the position in that stream (training step, epoch, chunk), in [0, 2^56)
 */
public record RngKey(long seed, int stream, long step) {

    /**
     * Checks the ranges the counter layout has room for.
     *
     * @throws IllegalArgumentException when {@code stream} is outside [0, 255] or {@code step} outside [0,
     *     2^56)
     */
    public RngKey {
        if (stream < 0 || stream > 0xff) {
            throw new IllegalArgumentException("stream must be in [0, 255], got " + stream);
        }
        if (step < 0 || step >= (1L << 56)) {
            throw new IllegalArgumentException("step must be in [0, 2^56), got " + step);
        }
    }

    /** Philox key word k0: the low 32 bits of the seed. */
    public int key0() {
        return (int) seed;
    }

    /** Philox key word k1: the high 32 bits of the seed. */
    public int key1() {
        return (int) (seed >>> 32);
    }

    /** Counter word c2: the low 32 bits of the step. */
    public int counter2() {
        return (int) step;
    }

    /** Counter word c3: the stream in the top 8 bits, bits 32..55 of the step below it. */
    public int counter3() {
        return (stream << 24) | ((int) (step >>> 32) & 0xffffff);
    }

    /**
     * The same seed and stream at step {@code s} (e.g. the next epoch's shuffle).
     *
     * @throws IllegalArgumentException when {@code s} is outside [0, 2^56)
     */
    public RngKey withStep(long s) {
        return new RngKey(seed, stream, s);
    }
}
