/**
 * The model families, each a {@link dev.elbo4j.model.Model} built from its config record:
 * {@link dev.elbo4j.model.Vae} ({@link dev.elbo4j.model.VaeConfig}; ELBO or IWAE, optional planar
 * flow), {@link dev.elbo4j.model.Autoencoder}, {@link dev.elbo4j.model.Cvae},
 * {@link dev.elbo4j.model.M2} (semi-supervised), {@link dev.elbo4j.model.Nice},
 * {@link dev.elbo4j.model.Rbm}, {@link dev.elbo4j.model.Dbn} and {@link dev.elbo4j.model.Fvbm}
 * (docs/MODELS.md). Create one with its {@code create(backend, config, seed)}, train it with a
 * {@link dev.elbo4j.train.Trainer}, and use it through the capabilities it implements
 * ({@link dev.elbo4j.model.Generative}, {@link dev.elbo4j.model.Reconstructing},
 * {@link dev.elbo4j.model.LatentModel}), which take and return plain {@code float[]}s, N examples
 * one after another. A model owns its parameters on the backend and frees them on {@code close()};
 * one thread uses it at a time.
 */
package dev.elbo4j.model;
