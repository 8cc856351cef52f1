import Foundation
package import SpeculaCore

/// A synthetic language model: deterministic pseudo-random next-token distributions over any
/// vocabulary, derived from a hash of the last few context tokens, with a simulated cost per
/// forward pass of `a + b·tokens` milliseconds.
///
/// Why: load tests of clusters with hundreds of workers, or an emulated 70B target, on one small
/// machine. A draft variant mixes its target's rows with its own noise — `agreement` tunes how
/// often drafts are accepted — and stays an exact model, so laws can still be checked.
///
/// Spec (for `--model`): `synthetic:vocab=V,seed=S[,window=W][,peak=P][,latency=A+B]` for a target,
/// plus `,agreement=G,draft-seed=D` for a draft of that target (A, B in milliseconds).
package struct SyntheticModel: ExactModel, Sendable {
    package let vocabularySize: Int
    package let seed: UInt64
    package let window: Int
    /// Larger = more peaked rows (a real model's confident next tokens).
    package let peak: Double
    package let agreement: Double?
    package let draftSeed: UInt64
    package let latencyMs: (fixed: Double, perToken: Double)

    package var contextWindow: Int? { window }

    package init(spec: String) throws(SyntheticModelError) {
        guard spec.hasPrefix("synthetic:") else { throw .invalid(spec, "must start with 'synthetic:'") }
        var fields: [String: String] = [:]
        for part in spec.dropFirst("synthetic:".count).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw .invalid(spec, "'\(part)' is not key=value") }
            fields[String(kv[0])] = String(kv[1])
        }
        func number(_ key: String, _ fallback: Double) throws(SyntheticModelError) -> Double {
            guard let text = fields.removeValue(forKey: key) else { return fallback }
            guard let v = Double(text), v.isFinite else { throw .invalid(spec, "\(key)=\(text) is not a number") }
            return v
        }
        vocabularySize = Int(try number("vocab", 1000))
        seed = UInt64(try number("seed", 1))
        window = Int(try number("window", 4))
        peak = try number("peak", 3)
        let g = try number("agreement", -1)
        agreement = g < 0 ? nil : g
        draftSeed = UInt64(try number("draft-seed", 2))
        var latency = (0.0, 0.0)
        if let text = fields.removeValue(forKey: "latency") {
            let parts = text.split(separator: "+").map { Double($0) }
            guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, b >= 0 else { throw .invalid(spec, "latency=\(text) must be A+B milliseconds") }
            latency = (a, b)
        }
        latencyMs = latency
        guard fields.isEmpty else { throw .invalid(spec, "unknown keys \(fields.keys.sorted().joined(separator: ", "))") }
        guard vocabularySize >= 2 && vocabularySize <= 1 << 20 else { throw .invalid(spec, "vocab must be in 2...1048576") }
        guard window >= 0, peak >= 0, (agreement ?? 0) <= 1 else { throw .invalid(spec, "window ≥ 0, peak ≥ 0, agreement in 0...1") }
    }

    package func distribution(after context: [Token]) -> DenseDistribution {
        let q = row(context, seed: seed)
        guard let agreement else { return DenseDistribution(weights: q) }
        let noise = row(context, seed: draftSeed ^ 0x5EED)
        return DenseDistribution(weights: zip(q, noise).map { agreement * $0 + (1 - agreement) * $1 })
    }

    /// Sleeps for the simulated cost of one forward pass over `tokens` tokens.
    package func simulatePass(tokens: Int) {
        let ms = latencyMs.fixed + latencyMs.perToken * Double(tokens)
        if ms > 0 { Thread.sleep(forTimeInterval: ms / 1000) }
    }

    /// exp(4·peak·(u³ − 1)) weights from a stream named by the context suffix: a few likely tokens
    /// and a long tail, like a language model's row (shifted so no weight overflows at any peak).
    private func row(_ context: [Token], seed: UInt64) -> [Double] {
        var name: UInt64 = 0x9E37_79B9
        for t in context.suffix(window) { name = RandomStream.mix(name ^ UInt64(t)) }
        var stream = RandomStream(seed: seed, stream: name)
        return (0..<vocabularySize).map { _ in
            let u = stream.nextUnit()
            return Foundation.exp(peak * (u * u * u - 1) * 4)
        }
    }
}

/// A malformed synthetic-model spec.
package enum SyntheticModelError: Error, CustomStringConvertible {
    case invalid(String, String)

    package var description: String {
        switch self {
        case .invalid(let spec, let why): "invalid synthetic model '\(spec)': \(why)"
        }
    }
}
