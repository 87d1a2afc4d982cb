/**
 * A trained model in the formats other tools read (docs/EXPORT.md): {@link dev.elbo4j.export.Export}
 * writes a checkpoint's {@code model.safetensors} (parameters only), a PyTorch module
 * ({@link dev.elbo4j.export.TorchModule}) that rebuilds the networks from it, and ONNX graphs of the
 * networks ({@link dev.elbo4j.export.Onnx}: encoder and decoder, and each family's own), each file
 * atomically.
 */
package dev.elbo4j.export;
