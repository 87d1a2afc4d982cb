/**
 * Test-set figures beyond the training objective. {@link dev.elbo4j.eval.Evaluator} gives the ELBO
 * and the importance-sampled log p(x) of a VAE or CVAE; {@link dev.elbo4j.eval.Ais} estimates an
 * RBM's partition function by annealed importance sampling and {@link dev.elbo4j.eval.Raise} a
 * conservative log p(x) by reverse AIS. Every estimate is in nats and is reproducible from its
 * seed.
 */
package dev.elbo4j.eval;
