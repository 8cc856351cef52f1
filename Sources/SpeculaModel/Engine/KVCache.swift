/// The keys and values of one sequence's committed tokens, per layer, in pages of `pageSize`
/// positions (`KVPage`).
///
/// A value type: copying forks a sequence, and the fork shares every page with the original until
/// one of them writes to a page (copy-on-write per page), so forking a long context costs its page
/// list, and a fork's first append copies at most one page per layer, not the whole cache. A
/// draft worker forks for every drafted token (`EngineSequenceModel`). `truncate(to:)` rolls back
/// after a rejection; `TransformerModel.commit` appends the accepted branch of a verification tree.
package struct KVCache: Sendable {
    /// Positions per page.
    static let pageSize = 32

    package let kvSize: Int
    /// `pages[layer][p]` holds positions `p·pageSize ..< (p+1)·pageSize`.
    private(set) var pages: [[KVPage]]
    /// Committed tokens.
    package private(set) var count = 0

    init(layers: Int, kvSize: Int) {
        self.kvSize = kvSize
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
            pages[l].append(KVPage(kvSize: kvSize))
        } else if !isKnownUniquelyReferenced(&pages[l][p]) {
            pages[l][p] = KVPage(copying: pages[l][p])
        }
        let slot = position % Self.pageSize
        let keys = pages[l][p].keys + slot
        for f in 0..<kvSize { keys[f * Self.pageSize] = key[f] }
        pages[l][p].values.advanced(by: slot * kvSize).update(from: value, count: kvSize)
    }

    mutating func didAppend(_ n: Int) { count += n }

    /// Bytes of the pages this cache refers to (pages shared with forks counted in each).
    package var byteCount: Int { pages.reduce(0) { $0 + $1.count } * Self.pageSize * kvSize * 2 * MemoryLayout<Float>.size }
}

/// `KVCache.pageSize` positions of one layer's keys and values. Keys are stored
/// dimension-major (`keys[f·pageSize + slot]` for feature f of the row: KV head f / headSize),
/// so that attention scores 32 keys per vector pair (`Scores`); values row-major
/// (`values[slot·kvSize + f]`). New pages are zeroed, so the unused slots of a last page hold
/// numbers.
///
/// @unchecked Sendable invariant: rows are written only through a `KVCache` that holds the only
/// reference to the page (`isKnownUniquelyReferenced`, else it copies first); shared pages are
/// only read.
final class KVPage: @unchecked Sendable {
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    private let floats: Int

    init(kvSize: Int) {
        floats = KVCache.pageSize * kvSize
        keys = .allocate(capacity: floats)
        keys.initialize(repeating: 0, count: floats)
        values = .allocate(capacity: floats)
        values.initialize(repeating: 0, count: floats)
    }

    convenience init(copying page: KVPage) {
        self.init(kvSize: page.floats / KVCache.pageSize)
        keys.update(from: page.keys, count: floats)
        values.update(from: page.values, count: floats)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }
}
