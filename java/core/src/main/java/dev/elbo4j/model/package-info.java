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
 *
 * <p>Every family samples with {@code sample(n, key)} (n x D values in [0, 1]) and takes examples
 * on the [0, 1] scale of its training data. What else each family answers, after
 * {@code trainer.run()} or {@code checkpoint.restoreModel(backend, Family.class)}:
 * <ul>
 *   <li>{@link dev.elbo4j.model.Vae}: {@code encodeMean(x)}, {@code decodeMean(z)},
 *       {@code reconstruct(x)}; test ELBO and importance-sampled log p(x) from
 *       {@link dev.elbo4j.eval.Evaluator}.</li>
 *   <li>{@link dev.elbo4j.model.Cvae}: the same with a class per example,
 *       {@code encodeMean(x, labels)}; {@code sample(n, key, label)} draws one class.</li>
 *   <li>{@link dev.elbo4j.model.M2}: {@code predict(x)} (classes), {@code logits(x)}; test accuracy
 *       in {@code testFigures(data, binarization, seed).metrics()}.</li>
 *   <li>{@link dev.elbo4j.model.Autoencoder}: {@code encode(x)} (codes), {@code reconstruct(x)}.</li>
 *   <li>{@link dev.elbo4j.model.Nice}: {@code logDensity(x)}, {@code logLikelihoods(data, ...)}
 *       (dequantised, as {@code elbo4j eval} reports), {@code inverse(z, n)}.</li>
 *   <li>{@link dev.elbo4j.model.Rbm}: {@code freeEnergy(x)}; with log Z from
 *       {@link dev.elbo4j.eval.Ais#logZ}, log p(x) = -F(x) - log Z; {@code reconstruct(x)}.</li>
 *   <li>{@link dev.elbo4j.model.Dbn}: {@code reconstruct(x)}.</li>
 *   <li>{@link dev.elbo4j.model.Fvbm}: {@code logProb(x)}, exact.</li>
 * </ul>
 * A new RBM or DBN trains best from {@code model.initializeFrom(train)} (visible biases at the
 * data's log-odds) before its {@link dev.elbo4j.train.Trainer} runs, as {@code elbo4j train} does;
 * a model restored to train on must not be re-initialised.
 */
package dev.elbo4j.model;
