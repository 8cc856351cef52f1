package import SpeculaCore
package import SpeculaModel

/// The KV caches of finished requests, kept so that a request whose prompt begins with the same
/// tokens reads only the rest: the second turn of a chat starts from its first turn's cache.
/// Least recently used first out, within a byte budget that the running requests' caches share
/// (`evict(toFit:)`).
///
/// Reuse is exact: a cache holds keys and values as the engine computed them, and the engine
/// computes each position's the same bitwise whether it was read in a long pass or one at a
/// time (its batch invariance), so a prefix taken from here equals the same prefix read anew.
/// Taking one costs nothing but a page list: `KVCache` is copy-on-write per page.
package struct PromptCache {
    private struct Entry {
        var tokens: [Token]
        var cache: KVCache
        var lastUsed: UInt64
    }

    private var entries: [Entry] = []
    private var clock: UInt64 = 0
    /// Shorter shared prefixes than this are not worth a lookup's bookkeeping.
    private let minimumPrefix: Int

    package init(minimumPrefix: Int = 16) { self.minimumPrefix = minimumPrefix }

    /// Bytes the kept caches hold.
    package var byteCount: Int { entries.reduce(0) { $0 + $1.cache.byteCount } }
    package var count: Int { entries.count }

    /// A cache of the longest prefix of `tokens` that a kept cache holds (nil: none of
    /// `minimumPrefix` tokens or more), and that prefix's length.
    package mutating func longestPrefix(of tokens: ArraySlice<Token>) -> (cache: KVCache, length: Int)? {
        var best: (index: Int, length: Int)?
        for (index, entry) in entries.enumerated() {
            let length = zip(entry.tokens, tokens).prefix { $0 == $1 }.count
            if length >= minimumPrefix, length > best?.length ?? 0 { best = (index, length) }
        }
        guard let best else { return nil }
        clock += 1
        entries[best.index].lastUsed = clock
        var cache = entries[best.index].cache
        cache.truncate(to: best.length)
        return (cache, best.length)
    }

    /// Keeps `cache`, which holds the keys and values of `tokens`; a kept cache that holds a
    /// prefix of them is replaced.
    package mutating func insert(tokens: [Token], cache: KVCache) {
        guard tokens.count >= minimumPrefix, cache.count == tokens.count else { return }
        entries.removeAll { $0.tokens.count <= tokens.count && tokens.starts(with: $0.tokens) }
        clock += 1
        entries.append(Entry(tokens: tokens, cache: cache, lastUsed: clock))
    }

    /// Drops the least recently used caches until the kept ones take at most `budget` bytes.
    package mutating func evict(toFit budget: Int) {
        var bytes = byteCount
        entries.sort { $0.lastUsed > $1.lastUsed }
        while bytes > budget, let oldest = entries.popLast() { bytes -= oldest.cache.byteCount }
    }
}
