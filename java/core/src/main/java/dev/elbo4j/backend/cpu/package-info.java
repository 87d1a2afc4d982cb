/**
 * The CPU backend, the reference every other backend is tested against:
 * {@link dev.elbo4j.backend.cpu.CpuBackend}, in F32 (and F64 for gradient checks), with its dense
 * products on a {@link dev.elbo4j.backend.cpu.Blas} chosen by {@link dev.elbo4j.backend.cpu.Blases}
 * (OpenBLAS when installed, else the multi-threaded pure-Java {@link dev.elbo4j.backend.cpu.JavaBlas};
 * docs/CPU_GEMM.md). Each operation family lives in the class named after its kernel file.
 */
package dev.elbo4j.backend.cpu;
