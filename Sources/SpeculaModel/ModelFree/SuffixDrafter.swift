package import SpeculaCore
import Synchronization

/// Suffix drafting (after SuffixDecoding, Oliaro et al. 2024): the continuation that most often
/// followed the longest suffix of the context, counted over the context itself *and over the
/// outputs of earlier requests this drafter has seen*. A cluster serving repetitive work —
/// agents, templated code, retries — drafts from its own past, with no model.
///
/// The structure is a suffix trie cut at depth `longest`: for every n-gram of 1…`longest` tokens
/// in the sequences learnt, how often each token followed it, stored by a 64-bit hash of the
/// n-gram (a collision can only make a draft worse, never the output: a draft is a point mass,
/// which every verifier checks exactly). It keeps at most `memoryTokens` learnt tokens, forgetting
/// the oldest sequences first, so its memory is bounded.
///
/// Its drafts depend on what it has learnt, so two suffix drafters are two draft laws (pooled
/// apart, never audited against each other). Thread-safe: a worker learns on its drafting queue
/// while it proposes there too, and tests share one across threads.
package final class SuffixDrafter: TokenProposer, Sendable {
    package let longest: Int
    package let memoryTokens: Int
    private let state: Mutex<Corpus>

    /// The learnt sequences (oldest first) and the continuation counts of their n-grams.
    private struct Corpus {
        var sequences: [[Token]] = []
        var tokens = 0
        var counts: [UInt64: [Token: Int32]] = [:]
    }

    package init(longest: Int = 6, memoryTokens: Int = 1 << 18) {
        precondition(longest >= 1 && memoryTokens >= 1, "the n-gram length and the memory must be positive")
        (self.longest, self.memoryTokens) = (longest, memoryTokens)
        state = Mutex(Corpus())
    }

    /// Tokens learnt and kept.
    package var learntTokens: Int { state.withLock { $0.tokens } }

    /// Learns a finished sequence (a request's prompt and output), forgetting the oldest ones
    /// beyond the memory bound.
    package func learn(_ sequence: [Token]) {
        let sequence = Array(sequence.suffix(memoryTokens))
        guard sequence.count > 1 else { return }
        state.withLock { corpus in
            count(sequence, by: 1, in: &corpus.counts)
            corpus.sequences.append(sequence)
            corpus.tokens += sequence.count
            while corpus.tokens > memoryTokens {
                let oldest = corpus.sequences.removeFirst()
                corpus.tokens -= oldest.count
                count(oldest, by: -1, in: &corpus.counts)
            }
        }
    }

    package func propose(after context: [Token]) -> Token? {
        // The hashes of the n-grams ending the context, n = 1…longest.
        var hashes: [UInt64] = []
        var hash = Self.seed
        for n in 1...max(1, min(longest, context.count)) where n <= context.count {
            hash = Self.combine(hash, context[context.count - n])
            hashes.append(hash)
        }
        return state.withLock { corpus in
            for n in stride(from: hashes.count, through: 1, by: -1) {
                // Votes: the learnt counts, and each earlier occurrence in the context itself.
                var votes = corpus.counts[hashes[n - 1]] ?? [:]
                var latest: [Token: Int] = [:]
                let tail = context.suffix(n)
                for start in 0..<(context.count - n) where context[start..<start + n].elementsEqual(tail) {
                    votes[context[start + n], default: 0] += 1
                    latest[context[start + n]] = start
                }
                // The most votes; then the most recent in the context; then the smallest id.
                if let best = votes.max(by: { a, b in
                    (a.value, latest[a.key] ?? -1, -a.key) < (b.value, latest[b.key] ?? -1, -b.key)
                }) {
                    return best.key
                }
            }
            return nil
        }
    }

    /// Adds `delta` to the count of every token after every n-gram (n ≤ `longest`) before it.
    private func count(_ sequence: [Token], by delta: Int32, in counts: inout [UInt64: [Token: Int32]]) {
        for end in 1..<sequence.count {
            var hash = Self.seed
            for n in 1...min(longest, end) {
                hash = Self.combine(hash, sequence[end - n])
                let next = sequence[end]
                let updated = (counts[hash]?[next] ?? 0) + delta
                counts[hash, default: [:]][next] = updated > 0 ? updated : nil
                if counts[hash]?.isEmpty == true { counts[hash] = nil }
            }
        }
    }

    /// FNV-1a over the n-gram's tokens, last token first (so the hash of n + 1 tokens extends
    /// the hash of n).
    private static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    private static func combine(_ hash: UInt64, _ token: Token) -> UInt64 {
        var h = hash
        for byte in 0..<4 {
            h ^= UInt64((token >> (8 * byte)) & 0xFF)
            h &*= 0x100_0000_01b3
        }
        return h
    }
}
