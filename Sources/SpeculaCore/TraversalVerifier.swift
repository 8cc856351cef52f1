/// Traversal verification over the whole draft tree, and the project's default multi-draft block
/// verifier built on it.
///
/// State per node u: a weight w[u], the current target q̂[u] (starts as q(·|u)), the current draft
/// law p̂[u] of the next child tried, and the children still in play. The walk always looks at the
/// first leaf of a true post-order traversal; it accepts the leaf's path with probability w[leaf]
/// (emitting a token from q̂[leaf]: a bonus token for a full-length draft), else removes the leaf
/// and turns its parent's target into the residual (w·q̂ − p̂)_+, so what the parent still owes is
/// exactly what has not been paid out. `reweigh` then recomputes the weights below the parent.
///
/// Two orders (both lossless, tested by exact enumeration):
/// - `.firstAppearance` (`traversal`): children in order of first appearance; after rejecting a
///   child its token is removed from p̂ and p̂ renormalised.
/// - `.maxRatio` (`multidraft-block`, alias `spectr-gbv`): children in decreasing q/p order (ties by
///   smaller token id), and p̂ is the *max law*: the law of the ≻-largest of the r drafts still in
///   play, restricted to tokens below every rejected one. The next child tried is then always
///   distributed as the p̂ in its weight, given everything revealed so far. At K = 1 this is block
///   verification.
package struct TraversalVerifier: Verifier {
    /// How children are ordered and how the draft law at a node evolves after rejections.
    package enum Order: Sendable {
        case firstAppearance
        case maxRatio
    }

    /// Which leaf is examined next. Only `.postOrder` is lossless; `.smallestDraftIndex` (visiting
    /// a leaf before the previous sibling's subtree is finished) is lossy for K ≥ 3 and exists as a
    /// negative control.
    package enum LeafRule: Sendable {
        case postOrder
        case smallestDraftIndex
    }

    package let name: String
    private let order: Order
    private let leafRule: LeafRule

    package init(order: Order) {
        self.init(name: order == .maxRatio ? "multidraft-block" : "traversal", order: order, leafRule: .postOrder)
    }

    init(name: String, order: Order, leafRule: LeafRule) {
        self.name = name
        self.order = order
        self.leafRule = leafRule
    }

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        var state = TraversalState(problem: problem, order: order)
        let node = settle(&state, choices: &choices)
        return VerificationOutcome(tree: problem.tree, acceptedNode: node, extraToken: choices.draw(from: state.target[node]))
    }

    /// Walks the tree until a node is accepted (the root when every leaf is rejected): the node,
    /// whose residual `state.target[node]` owes the token after it.
    func settle<Choices: RandomChoices>(_ state: inout TraversalState, choices: inout Choices) -> Int {
        while true {
            let leaf = nextLeaf(state)
            if leaf == DraftTree.root || choices.bernoulli(state.weight[leaf]) { return leaf }
            state.reject(leaf)
        }
    }

    private func nextLeaf(_ state: TraversalState) -> Int {
        switch leafRule {
        case .postOrder:
            var node = DraftTree.root
            while let first = state.kids[node].first { node = first }
            return node
        case .smallestDraftIndex:
            var best = DraftTree.root
            var bestDraft = Int.max
            for node in 1..<state.kids.count where state.alive[node] && state.kids[node].isEmpty {
                let draft = state.problem.tree[node].drafts[0]
                if draft < bestDraft { (best, bestDraft) = (node, draft) }
            }
            return best
        }
    }
}

/// The mutable state of one traversal verification (see `TraversalVerifier`).
struct TraversalState {
    let problem: VerificationProblem
    let order: TraversalVerifier.Order
    /// Children still in play, in visiting order.
    var kids: [[Int]]
    /// Nodes not yet rejected.
    var alive: [Bool]
    var weight: [Double]
    /// q̂, patched on the draft support of each node.
    var target: [PatchedDistribution]
    /// p̂ on the draft support of each internal node (empty at leaves).
    var draftLaw: [[Double]]
    /// Max law only: drafts still in play below each node, and the support ranks still allowed
    /// (`rank[node][i]` orders support token i by ≻, 0 = smallest; allowed iff rank < limit).
    var remainingDrafts: [Int]
    var rank: [[Int]]
    var rankLimit: [Int]

    /// The state before any leaf is examined; `rootTarget` replaces q(·|root) at the root (a
    /// residual another pool's drafts left there), re-patched on the root's draft support.
    init(problem: VerificationProblem, order: TraversalVerifier.Order, rootTarget: PatchedDistribution? = nil) {
        self.problem = problem
        self.order = order
        let tree = problem.tree
        let n = tree.count
        kids = (0..<n).map { tree[$0].children }
        alive = Array(repeating: true, count: n)
        weight = Array(repeating: 1, count: n)
        target = (0..<n).map { problem.residualTarget(at: $0) }
        if let rootTarget { target[DraftTree.root] = rootTarget.repatched(on: problem.draft[DraftTree.root]?.tokens ?? []) }
        draftLaw = Array(repeating: [], count: n)
        remainingDrafts = (0..<n).map { tree.continuingDraftCount(at: $0) }
        rank = Array(repeating: [], count: n)
        rankLimit = Array(repeating: 0, count: n)
        for node in 0..<n where !tree[node].children.isEmpty {
            let p = problem.draftLaw(at: node)
            switch order {
            case .firstAppearance:
                draftLaw[node] = p.probabilities
            case .maxRatio:
                let q = target[node].patch
                // ≻ ascending: smaller ratio first; equal ratios: larger token id first.
                let ratio = p.tokens.indices.map { Acceptance.likelihoodRatio(q[$0], over: p.probabilities[$0]) }
                let ascending = p.tokens.indices.sorted { a, b in
                    let ra = ratio[a], rb = ratio[b]
                    return ra != rb ? ra < rb : p.tokens[a] > p.tokens[b]
                }
                var ranks = Array(repeating: 0, count: p.count)
                for (r, i) in ascending.enumerated() { ranks[i] = r }
                rank[node] = ranks
                rankLimit[node] = p.count
                kids[node].sort { ranks[p.index(of: tree[$0].token)!] > ranks[p.index(of: tree[$1].token)!] }
                draftLaw[node] = maxLaw(at: node)
            }
        }
        reweigh(DraftTree.root)
    }

    /// w[c] = min(1, w[u]·q̂[u](c)/p̂[u](c)) for every child c still in play, recursively.
    mutating func reweigh(_ node: Int) {
        guard let p = problem.draft[node] else { return }
        for child in kids[node] {
            let i = p.index(of: problem.tree[child].token)!
            weight[child] = Acceptance.ratio(target[node].patch[i], over: draftLaw[node][i], weight: weight[node])
            reweigh(child)
        }
    }

    /// Removes leaf `leaf` after its rejection and settles its parent.
    mutating func reject(_ leaf: Int) {
        let tree = problem.tree
        let parent = tree[leaf].parent
        alive[leaf] = false
        kids[parent].removeAll { $0 == leaf }
        let w = weight[parent]
        let mass = target[parent].residualMass(weight: w, draft: draftLaw[parent])
        if mass > 0 {
            weight[parent] = min(1, mass / (mass + (1 - w)))
            target[parent].subtractResidual(weight: w, draft: draftLaw[parent])
        } else {
            weight[parent] = 0
        }
        let p = problem.draftLaw(at: parent)
        let index = p.index(of: tree[leaf].token)!
        switch order {
        case .firstAppearance:
            draftLaw[parent][index] = 0
            let total = draftLaw[parent].reduce(0, +)
            if total > 0 { draftLaw[parent] = draftLaw[parent].map { $0 / total } }
        case .maxRatio:
            remainingDrafts[parent] -= tree[leaf].draftCount
            rankLimit[parent] = min(rankLimit[parent], rank[parent][index])
            if remainingDrafts[parent] > 0 { draftLaw[parent] = maxLaw(at: parent) }
        }
        reweigh(parent)
    }

    /// MaxLaw(p, M, r): the law of the ≻-largest of r i.i.d. draws from p restricted to M, with
    /// pM = norm(p on M), G(v) = Σ_{v' ≼ v} pM(v') and law(v) = pM(v)·Σ_{i<r} G(v)^i (G(v) − pM(v))^{r−1−i}.
    func maxLaw(at node: Int) -> [Double] {
        let p = problem.draftLaw(at: node).probabilities
        let ranks = rank[node]
        let limit = rankLimit[node]
        let r = remainingDrafts[node]
        var byRank = Array(repeating: -1, count: p.count)
        for (i, k) in ranks.enumerated() { byRank[k] = i }
        var mass = 0.0
        for k in 0..<limit { mass += p[byRank[k]] }
        var law = Array(repeating: 0.0, count: p.count)
        guard mass > 0 else { return law }
        var cumulative = 0.0
        var total = 0.0
        for k in 0..<limit {
            let i = byRank[k]
            let pm = p[i] / mass
            let below = cumulative
            cumulative += pm
            var sum = 0.0
            var gPower = 1.0
            for j in 0..<r {
                sum += gPower * below.power(r - 1 - j)
                gPower *= cumulative
            }
            law[i] = pm * sum
            total += law[i]
        }
        return total > 0 ? law.map { $0 / total } : law
    }
}
