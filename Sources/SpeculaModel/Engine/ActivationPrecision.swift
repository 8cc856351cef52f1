/// How the engine multiplies activations by quantized weights.
///
/// `.int8` is the fast path (llama.cpp's way): activations rounded to 8-bit codes, integer dot
/// products. `.float` dequantizes weights and multiplies in `Float`, which is slower but matches a
/// float64 reference to float rounding; the reference tests and anyone checking a model use it.
/// F32/F16 weights always take the float path.
package enum ActivationPrecision: String, Sendable, CaseIterable {
    case int8
    case float
}
