/// The keys and values of one sequence's committed tokens, per layer, in pages of `pageSize`
/// positions (`KVPage`), stored as 32-bit or 16-bit floats (`Element`).
///
/// A value type: copying forks a sequence, and the fork shares every page with the original until
/// one of them writes to a page (copy-on-write per page), so forking a long context costs its page
/// list, and a fork's first append copies at most one page per layer, not the whole cache. A
/// draft worker forks for every drafted token (`EngineSequenceModel`). `truncate(to:)` rolls back
/// after a rejection; `TransformerModel.commit` appends the accepted branch of a verification tree.
package struct KVCache: Sendable {
    /// Positions per page.
    package static let pageSize = 32

    package let kvSize: Int
    package let element: Element
    /// `pages[layer][p]` holds positions `p·pageSize ..< (p+1)·pageSize`.
    private(set) var pages: [[KVPage]]
    /// Committed tokens.
    package private(set) var count = 0

    /// How keys and values are stored. Half precision halves the cache's memory and the bytes
    /// attention reads per token (at long contexts the cache no longer fits the caches and comes
    /// from memory for every token); the engine rounds its keys and values to it as soon as
    /// they are computed, so a token sees the same numbers from the cache and from its tree.
    package enum Element: Sendable {
        case float32, float16

        var bytes: Int { self == .float32 ? 4 : 2 }

        /// Bytes of one position's key and value rows in one layer.
        package func positionBytes(kvSize: Int) -> Int { kvSize * 2 * bytes }
    }

    init(layers: Int, kvSize: Int, element: Element) {
        self.kvSize = kvSize
        self.element = element
        pages = Array(repeating: [], count: layers)
    }

    /// Drops every position from `position` on (pages past it are released; a page shared with
    /// a fork keeps its rows for the fork).
    package mutating func truncate(to position: Int) {
        guard position < count else { return }
        let kept = (position + Self.pageSize - 1) / Self.pageSize
        for l in pages.indices { pages[l].removeLast(pages[l].count - kept) }
        count = position
    }

    /// Writes the key and value rows (`kvSize` floats each) of position `count + offset` in
    /// `layer`; `didAppend` then commits the positions written.
    mutating func write(layer l: Int, offset: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let position = count + offset, p = position / Self.pageSize
        if p == pages[l].count {
            pages[l].append(KVPage(bytes: Self.pageSize * kvSize * element.bytes))
        } else if !isKnownUniquelyReferenced(&pages[l][p]) {
            pages[l][p] = KVPage(copying: pages[l][p])
        }
        let slot = position % Self.pageSize, page = pages[l][p]
        switch element {
        case .float32:
            let keys = page.keys.assumingMemoryBound(to: Float.self) + slot
            for f in 0..<kvSize { keys[f * Self.pageSize] = key[f] }
            (page.values.assumingMemoryBound(to: Float.self) + slot * kvSize).update(from: value, count: kvSize)
        case .float16:
            let keys = page.keys.assumingMemoryBound(to: Float16.self) + slot
            let values = page.values.assumingMemoryBound(to: Float16.self) + slot * kvSize
            for f in 0..<kvSize {
                keys[f * Self.pageSize] = Float16(key[f])
                values[f] = Float16(value[f])
            }
        }
    }

    mutating func didAppend(_ n: Int) { count += n }

    /// Bytes of the pages this cache refers to (pages shared with forks counted in each).
    package var byteCount: Int { pages.reduce(0) { $0 + $1.count } * Self.pageSize * element.positionBytes(kvSize: kvSize) }
}

/// `KVCache.pageSize` positions of one layer's keys and values, in the cache's `Element`. Keys
/// are stored dimension-major (`keys[f·pageSize + slot]` for feature f of the row: KV head
/// f / headSize), so that attention scores 32 keys per vector pair (`Scores`); values row-major
/// (`values[slot·kvSize + f]`). New pages are zeroed, so the unused slots of a last page hold
/// numbers.
///
/// @unchecked Sendable invariant: rows are written only through a `KVCache` that holds the only
/// reference to the page (`isKnownUniquelyReferenced`, else it copies first); shared pages are
/// only read.
final class KVPage: @unchecked Sendable {
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    /// Bytes of the keys (and of the values).
    private let bytes: Int

    init(bytes: Int) {
        self.bytes = bytes
        keys = .allocate(byteCount: bytes, alignment: 64)
        keys.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        values = .allocate(byteCount: bytes, alignment: 64)
        values.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    convenience init(copying page: KVPage) {
        self.init(bytes: page.bytes)
        keys.copyMemory(from: page.keys, byteCount: bytes)
        values.copyMemory(from: page.values, byteCount: bytes)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }
}
