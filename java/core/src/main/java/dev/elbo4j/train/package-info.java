/**
 * Training: {@link dev.elbo4j.train.Trainer} fits a {@link dev.elbo4j.model.Model} as a
 * {@link dev.elbo4j.train.TrainConfig} says (epochs, batch, Adam, its
 * {@link dev.elbo4j.train.LrSchedule}, binarisation, seed), reporting to a
 * {@link dev.elbo4j.train.TrainListener} ({@link dev.elbo4j.train.PrintingListener} prints the CLI's
 * lines), and {@link dev.elbo4j.train.Checkpoint} saves and restores the model with the complete
 * training state, so a resumed run continues bit for bit. A NaN or infinity never reaches the
 * parameters ({@link dev.elbo4j.train.NanPolicy}, {@link dev.elbo4j.train.NonFiniteException}).
 */
package dev.elbo4j.train;
