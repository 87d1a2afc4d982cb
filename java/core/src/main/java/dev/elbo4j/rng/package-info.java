/**
 * Random numbers as a pure function of a name and a position: {@link dev.elbo4j.rng.Philox}
 * (Philox4x32-10, the reference the CUDA kernels match bit for bit), keyed by an
 * {@link dev.elbo4j.rng.RngKey} (seed, stream, step) with the streams listed in
 * {@link dev.elbo4j.rng.Streams}. Because no generator carries state, a resumed run and a replayed
 * CUDA graph draw exactly the numbers an uninterrupted run would.
 */
package dev.elbo4j.rng;
