/**
 * Tensors: typed, shaped windows onto memory owned by a backend. {@link dev.elbo4j.tensor.Tensor}
 * is created by a {@link dev.elbo4j.backend.Backend} and read only through it; its
 * {@link dev.elbo4j.tensor.Shape} is row-major (a B x D batch is B rows of D values) and its
 * {@link dev.elbo4j.tensor.DType} one of F32, F64, I32 and U8. An owning tensor frees its memory
 * on {@code close()}; a view shares its parent's memory and closing it does nothing.
 */
package dev.elbo4j.tensor;
