/// The keys and values of one sequence's committed tokens, per layer: `[position, kvSize]` rows.
///
/// A value type: copying forks a sequence (copy-on-write). `truncate(to:)` rolls back after a
/// rejection; `TransformerModel.commit` appends the accepted branch of a verification tree.
package struct KVCache: Sendable {
    package let kvSize: Int
    var keys: [[Float]]
    var values: [[Float]]
    /// Committed tokens.
    package private(set) var count = 0

    init(layers: Int, kvSize: Int) {
        self.kvSize = kvSize
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    /// Drops every position from `position` on.
    package mutating func truncate(to position: Int) {
        guard position < count else { return }
        for l in keys.indices {
            keys[l].removeLast((count - position) * kvSize)
            values[l].removeLast((count - position) * kvSize)
        }
        count = position
    }

    mutating func append(layer: Int, key: ArraySlice<Float>, value: ArraySlice<Float>) {
        keys[layer].append(contentsOf: key)
        values[layer].append(contentsOf: value)
    }

    mutating func didAppend(_ n: Int) { count += n }

    /// Bytes held.
    package var byteCount: Int { keys.reduce(0) { $0 + $1.count } * 2 * MemoryLayout<Float>.size }
}
