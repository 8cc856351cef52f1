package import SpeculaCore

/// Random prefix-dependent n-gram pairs for exactness tests and the verifier benchmark.
///
/// Rows are drawn from a seeded stream, so a (seed, shape) always gives the same pair. About one
/// entry in seven is zeroed (each row keeps at least one positive entry) so supports differ between
/// target and draft, which is where careless verifiers go wrong.
package enum RandomToyModels {
    /// A random n-gram model with a row for every context of length 0 ..< order.
    package static func model(vocabularySize: Int, order: Int, endOfSequence: Token? = nil, stream: inout RandomStream) -> NGramModel {
        var table: [[Token]: [Double]] = [:]
        for length in 0..<order {
            for context in allContexts(vocabularySize: vocabularySize, length: length) {
                table[context] = randomRow(vocabularySize, &stream)
            }
        }
        return try! NGramModel(vocabularySize: vocabularySize, order: order, table: table, endOfSequence: endOfSequence)
    }

    /// A (target, draft) pair drawn from `seed`; with `endOfSequence`, both end a sequence there.
    package static func pair(vocabularySize: Int, order: Int, seed: UInt64, endOfSequence: Token? = nil) -> (target: NGramModel, draft: NGramModel) {
        var stream = RandomStream(seed: seed, stream: 0x70_79)
        let target = model(vocabularySize: vocabularySize, order: order, endOfSequence: endOfSequence, stream: &stream)
        let draft = model(vocabularySize: vocabularySize, order: order, endOfSequence: endOfSequence, stream: &stream)
        return (target, draft)
    }

    /// A target and three pools of different laws for mixed-draft exactness tests and tables:
    /// the pair's draft with `drafts.first` drafts, a second random draft table with
    /// `drafts.second`, a prompt-lookup drafter (n-grams of 2 and 1) with `drafts.lookup`.
    package static func mixedPools(vocabularySize: Int, order: Int, seed: UInt64, drafts: (first: Int, second: Int, lookup: Int))
        -> (target: NGramModel, pools: [DraftPool]) {
        let pair = pair(vocabularySize: vocabularySize, order: order, seed: seed)
        let second = secondDraft(vocabularySize: vocabularySize, order: order, seed: seed)
        return (pair.target, [DraftPool(.model(pair.draft), drafts: drafts.first), DraftPool(.model(second), drafts: drafts.second),
                              DraftPool(.proposer(PromptLookup(longest: 2)), drafts: drafts.lookup)])
    }

    /// Another draft table for the pair of `seed` (with its end of sequence): a second draft law.
    package static func secondDraft(vocabularySize: Int, order: Int, seed: UInt64, endOfSequence: Token? = nil) -> NGramModel {
        var stream = RandomStream(seed: seed, stream: 0x6D_69)
        return model(vocabularySize: vocabularySize, order: order, endOfSequence: endOfSequence, stream: &stream)
    }

    /// A pair whose draft rows are `agreement · target + (1 − agreement) · noise`: a draft that
    /// agrees with its target about as often as a real small model does.
    package static func agreeingPair(vocabularySize: Int, order: Int, agreement: Double, seed: UInt64) -> (target: NGramModel, draft: NGramModel) {
        var stream = RandomStream(seed: seed, stream: 0x61_67)
        let target = model(vocabularySize: vocabularySize, order: order, stream: &stream)
        var table: [[Token]: [Double]] = [:]
        for length in 0..<order {
            for context in allContexts(vocabularySize: vocabularySize, length: length) {
                let q = target.distribution(after: context).probabilities
                let noise = randomRow(vocabularySize, &stream)
                table[context] = zip(q, noise).map { agreement * $0 + (1 - agreement) * $1 }
            }
        }
        return (target, try! NGramModel(vocabularySize: vocabularySize, order: order, table: table))
    }

    static func allContexts(vocabularySize: Int, length: Int) -> [[Token]] {
        var contexts: [[Token]] = [[]]
        for _ in 0..<length {
            contexts = contexts.flatMap { c in (0..<vocabularySize).map { c + [$0] } }
        }
        return contexts
    }

    private static func randomRow(_ size: Int, _ stream: inout RandomStream) -> [Double] {
        var row = (0..<size).map { _ -> Double in
            let u = stream.nextUnit()
            return stream.nextUnit() < 1.0 / 7 ? 0 : 0.05 + u * u
        }
        if row.allSatisfy({ $0 == 0 }) { row[Int(stream.next() % UInt64(size))] = 1 }
        let total = row.reduce(0, +)
        return row.map { $0 / total }
    }
}
