/// One kernel level's implementations, as the engine calls them: chosen once per model
/// (`KernelLevel`) and passed down to every product and loop, so that the rest of the engine is
/// written once.
package struct KernelSet: Sendable {
    package let level: KernelLevel
    package let vector: any VectorKernels
    /// The integer products on 8-bit activations; nil where the level has none (portable).
    package let int8: (any Int8MatrixKernels)?

    package init(level: KernelLevel, vector: any VectorKernels, int8: (any Int8MatrixKernels)?) {
        (self.level, self.vector, self.int8) = (level, vector, int8)
    }

    /// The portable level, which every CPU runs.
    package static let portable = KernelSet(level: .portable, vector: PortableVectorKernels(), int8: nil)
}
