/// New tokens to evaluate for one sequence: a tree hanging off the sequence's cache.
///
/// `parents[i]` is the index of node i's parent (always < i), or -1 for a node that follows the
/// cache directly. A chain (`parents = [-1, 0, 1, …]`) is plain decoding of several tokens.
package struct TokenTree: Sendable {
    package var tokens: [Int]
    package var parents: [Int]

    package init(tokens: [Int], parents: [Int]) {
        precondition(tokens.count == parents.count && parents.enumerated().allSatisfy { $1 < $0 && $1 >= -1 })
        self.tokens = tokens
        self.parents = parents
    }

    /// `tokens` one after the other.
    package static func chain(_ tokens: [Int]) -> TokenTree {
        TokenTree(tokens: tokens, parents: tokens.indices.map { $0 - 1 })
    }

    /// Node i's depth below the cache (1 for children of the cache).
    package func depth(_ i: Int) -> Int {
        var d = 1
        var n = parents[i]
        while n >= 0 { d += 1; n = parents[n] }
        return d
    }

    /// Node i's ancestors, root first, then i itself.
    func lineage(_ i: Int) -> [Int] {
        var path: [Int] = []
        var n = i
        while n >= 0 { path.append(n); n = parents[n] }
        return path.reversed()
    }
}
