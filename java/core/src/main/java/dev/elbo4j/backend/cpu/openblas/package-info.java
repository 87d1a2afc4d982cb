/**
 * OpenBLAS through the FFM API: {@link dev.elbo4j.backend.cpu.openblas.OpenBlas}, the
 * {@link dev.elbo4j.backend.cpu.Blas} the CPU backend prefers when {@code libopenblas} is installed.
 * The only package of the CPU path that touches {@code java.lang.foreign}.
 */
package dev.elbo4j.backend.cpu.openblas;
