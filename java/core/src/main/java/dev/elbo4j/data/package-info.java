/**
 * Data on the device: {@link dev.elbo4j.data.DeviceDataset} copies a
 * {@link dev.elbo4j.io.Dataset} to a backend once, as 8-bit pixels (N x D) with optional one-hot
 * labels, and gathers, scales and binarises batches there, so training and evaluation move no
 * data between host and device per step. The caller closes it.
 */
package dev.elbo4j.data;
