/**
 * The optimizer: {@link dev.elbo4j.optim.Adam} (Adam, or AdamW with a weight decay) over a model's
 * flat parameter buffer, one backend call per step, with its hyper-parameters in
 * {@link dev.elbo4j.backend.AdamConfig}. A {@link dev.elbo4j.train.Trainer} makes and owns one;
 * its moments travel in checkpoints.
 */
package dev.elbo4j.optim;
