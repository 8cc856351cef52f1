/// The request's sampling transform: temperature, then top-k, top-p and min-p truncation.
///
/// Applied identically to the target's and the draft's rows (verifiers.md: q and p are both taken
/// *after* the transform), so the verifier reproduces exactly the law of sampling the target with
/// these settings. Temperature 0 means greedy: all mass on the argmax (ties: smallest id).
package struct SamplingParameters: Sendable, Hashable, Codable {
    package var temperature: Double
    /// Keep the k most likely tokens; 0 = off.
    package var topK: Int
    /// Keep the smallest most-likely set with mass ≥ topP; ≥ 1 (or ≤ 0) = off.
    package var topP: Double
    /// Drop tokens below minP × the largest probability; 0 = off.
    package var minP: Double

    package init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, minP: Double = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
    }

    package var isGreedy: Bool { temperature <= 0 }

    /// The transformed distribution of raw `logits` (one row, `[vocab]`). Softmax subtracts the
    /// largest logit first.
    package func distribution(logits: [Float]) -> DenseDistribution {
        distribution(logits: logits.map(Double.init))
    }

    /// The transformed distribution of raw `logits` (one row, `[vocab]`).
    package func distribution(logits: [Double]) -> DenseDistribution {
        precondition(!logits.isEmpty, "empty logits row")
        var best = 0
        for t in logits.indices where logits[t] > logits[best] { best = t }
        if isGreedy { return .pointMass(best, vocabularySize: logits.count) }
        let top = logits[best]
        var weights = logits.map { $0 == -.infinity ? 0 : _exp(($0 - top) / temperature) }
        truncate(&weights)
        return DenseDistribution(weights: weights)
    }

    /// The transformed distribution of a model given as probabilities (toy and synthetic models):
    /// logits = log p.
    package func distribution(probabilities: [Double]) -> DenseDistribution {
        if temperature == 1 {
            var weights = probabilities
            truncate(&weights)
            return DenseDistribution(weights: weights)
        }
        return distribution(logits: probabilities.map { $0 > 0 ? _log($0) : -.infinity })
    }

    /// Applies top-k, top-p and min-p to non-negative weights in place (zeroing what is cut).
    private func truncate(_ weights: inout [Double]) {
        let needsOrder = (topK > 0 && topK < weights.count) || (topP > 0 && topP < 1)
        if needsOrder {
            let order = weights.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
            var keep = weights.count
            if topK > 0 { keep = min(keep, topK) }
            if topP > 0 && topP < 1 {
                let total = weights.reduce(0, +)
                var cumulative = 0.0
                for (rank, t) in order.enumerated() {
                    cumulative += weights[t]
                    if cumulative >= topP * total { keep = min(keep, rank + 1); break }
                }
            }
            for t in order.dropFirst(keep) { weights[t] = 0 }
        }
        if minP > 0, let largest = weights.max() {
            for t in weights.indices where weights[t] < minP * largest { weights[t] = 0 }
        }
    }
}
