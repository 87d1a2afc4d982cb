/**
 * Where the arithmetic runs. {@link dev.elbo4j.backend.Backend} is the set of operations the models
 * need (GEMMs, the fused latent, likelihood and optimizer steps, batch gathers, reductions), on
 * tensors it owns; {@link dev.elbo4j.backend.Backends#select(String)} picks one from a
 * {@code --device} value: the CPU reference ({@code dev.elbo4j.backend.cpu}) or CUDA
 * ({@code dev.elbo4j.backend.cuda}). The rest of the package holds the value types the operations
 * take: {@link dev.elbo4j.backend.Activation}, {@link dev.elbo4j.backend.Likelihood},
 * {@link dev.elbo4j.backend.AdamConfig}, {@link dev.elbo4j.backend.Binarization},
 * {@link dev.elbo4j.backend.Corruption}, {@link dev.elbo4j.backend.ConvGeometry}. A backend is used
 * from one thread at a time; the caller closes it after the models and tensors made on it.
 */
package dev.elbo4j.backend;
