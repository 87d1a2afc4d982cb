/**
 * Files in and out. Data sets: {@link dev.elbo4j.io.Dataset} (MNIST-layout IDX folders, or arrays of
 * your own through {@code Dataset.fromFloats}) and {@link dev.elbo4j.io.DataFiles}, which reads
 * NumPy, CSV, IDX and image folders into the 256 levels elbo4j trains on ({@link dev.elbo4j.io.Scaling}).
 * Models: {@link dev.elbo4j.io.SafeTensors}, the checkpoint container. Pictures:
 * {@link dev.elbo4j.io.Png}. Every writer replaces its target atomically ({@link dev.elbo4j.io.AtomicFiles});
 * every reader checks sizes before it allocates and reports a malformed file as a
 * {@link dev.elbo4j.io.DataFormatException} naming the file and the problem.
 */
package dev.elbo4j.io;
