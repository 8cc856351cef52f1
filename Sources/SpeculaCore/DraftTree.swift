/// K draft blocks merged by common prefix: the shape one verification pass evaluates.
///
/// Node 0 is the root (the current context, no token). Every other node is one draft token; its
/// children are kept in order of first appearance over the drafts (draft 0 first), and each node
/// knows which drafts pass through it. A draft may be shorter than the block length (it sampled
/// the end-of-sequence token), making a shorter branch.
package struct DraftTree: Sendable, Hashable {
    /// One node of the tree.
    package struct Node: Sendable, Hashable {
        /// The draft token at this node (`-1` at the root).
        package var token: Token
        /// The parent node (`-1` at the root).
        package var parent: Int
        /// Tokens between the root and this node (root = 0).
        package var depth: Int
        /// Child nodes, in order of first appearance.
        package var children: [Int]
        /// Indices of the drafts through this node, ascending.
        package var drafts: [Int]

        /// How many drafts pass through this node.
        package var draftCount: Int { drafts.count }
    }

    package private(set) var nodes: [Node]
    /// `leaves[j]` is the node where draft j ends (the root for an empty draft).
    package private(set) var leaves: [Int]

    /// Merges `drafts` (draft j = `drafts[j]`) into a tree.
    package init(drafts: [[Token]]) {
        nodes = [Node(token: -1, parent: -1, depth: 0, children: [], drafts: Array(drafts.indices))]
        leaves = []
        for (j, draft) in drafts.enumerated() {
            var node = 0
            for token in draft {
                if let child = nodes[node].children.first(where: { nodes[$0].token == token }) {
                    node = child
                    nodes[node].drafts.append(j)
                } else {
                    let child = nodes.count
                    nodes.append(Node(token: token, parent: node, depth: nodes[node].depth + 1, children: [], drafts: [j]))
                    nodes[node].children.append(child)
                    node = child
                }
            }
            leaves.append(node)
        }
    }

    package static let root = 0
    package var count: Int { nodes.count }
    package var draftCount: Int { leaves.count }
    package subscript(_ node: Int) -> Node { nodes[node] }

    /// The child of `node` whose token is `token`, if any.
    package func child(of node: Int, token: Token) -> Int? {
        nodes[node].children.first { nodes[$0].token == token }
    }

    /// The tokens from the root to `node` (empty for the root).
    package func path(to node: Int) -> [Token] {
        var tokens: [Token] = []
        var n = node
        while n > 0 {
            tokens.append(nodes[n].token)
            n = nodes[n].parent
        }
        return tokens.reversed()
    }

    /// The nodes from the root to `node`, root first.
    package func nodePath(to node: Int) -> [Int] {
        var path: [Int] = []
        var n = node
        while n >= 0 {
            path.append(n)
            n = nodes[n].parent
        }
        return path.reversed()
    }

    /// Drafts through `node` that continue past it.
    package func continuingDraftCount(at node: Int) -> Int {
        nodes[node].children.reduce(0) { $0 + nodes[$1].draftCount }
    }
}
