/**
 * Layers and networks, on any {@link dev.elbo4j.backend.Backend}: dense layers
 * ({@link dev.elbo4j.nn.Linear}, {@link dev.elbo4j.nn.Mlp}, tied and label-conditioned variants),
 * convolutions ({@link dev.elbo4j.nn.Conv2d}, {@link dev.elbo4j.nn.ConvTranspose2d} in a
 * {@link dev.elbo4j.nn.ConvStack}, laid out by {@link dev.elbo4j.nn.ConvLayout}), the
 * {@link dev.elbo4j.nn.Network} interface the models use, and {@link dev.elbo4j.nn.Parameters}, the
 * one flat buffer that holds a model's parameters and gradients. Layers hold no memory: they declare
 * their parameters into a {@link dev.elbo4j.nn.Parameters.Builder} and run on a
 * {@link dev.elbo4j.nn.Workspace} of activation buffers allocated once. Matrices are row-major, one
 * example per row; weights are stored as PyTorch stores them.
 */
package dev.elbo4j.nn;
