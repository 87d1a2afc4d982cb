/**
 * The CUDA backend: {@link dev.elbo4j.backend.cuda.CudaBackend} runs the kernels of
 * {@code kernels/*.cu} (listed in {@link dev.elbo4j.backend.cuda.Kernels}) and cuBLAS / cuBLASLt
 * GEMMs on one stream, and can capture a training step as a {@link dev.elbo4j.backend.cuda.CudaGraph}
 * that replays without host round trips ({@link dev.elbo4j.backend.cuda.StepGuard},
 * {@link dev.elbo4j.backend.cuda.BatchCursor}); in a captured step the dense layers' weight
 * gradients run on a second stream beside dx ({@code SideStream}). The driver, cuBLAS and cuBLASLt are reached through
 * ports ({@link dev.elbo4j.backend.cuda.CudaDriver}, {@link dev.elbo4j.backend.cuda.CudaBlas},
 * {@link dev.elbo4j.backend.cuda.CudaBlasLt}) that a {@link dev.elbo4j.backend.cuda.CudaBinding}
 * implements: FFM by default ({@code dev.elbo4j.backend.cuda.ffm}) or JCuda
 * ({@code dev.elbo4j.backend.cuda.jcuda}). Every failing call throws a
 * {@link dev.elbo4j.backend.cuda.CudaException} naming the call and the code; docs/GPU.md describes
 * the whole path.
 */
package dev.elbo4j.backend.cuda;
