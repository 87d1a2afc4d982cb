/**
 * The optional CUDA binding on JCuda ({@code --binding jcuda}): {@link dev.elbo4j.backend.cuda.jcuda.JCudaBinding}
 * implements the CUDA ports with {@code org.jcuda:jcuda} and {@code jcublas}, and
 * {@link dev.elbo4j.backend.cuda.jcuda.JCudaInterop} hands JCuda pointers and streams to
 * {@link dev.elbo4j.interop.ElboKernels}. The only package that imports {@code jcuda.*}; the two
 * JCuda artifacts are optional dependencies a user adds to use it.
 */
package dev.elbo4j.backend.cuda.jcuda;
