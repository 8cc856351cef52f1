/// Block verification for one draft (Sun, Mendlovic, Leviathan, Aharoni, Ro, Beirami, Suresh,
/// "Block Verification Accelerates Speculative Decoding", ICLR 2025, Algorithm 2).
///
/// Judges the draft block as a whole: it never accepts fewer tokens in expectation than token-level
/// verification and is optimal among valid single-draft verifiers. The weights follow the clipped
/// recursion w_i = min(1, w_{i−1}·q_i(X_i)/p_i(X_i)), clipped at *every* step; the residual sums
/// run over the draft support only (O(|support|) per position). Uses draft 0 only (K = 1).
package struct BlockVerifier: Verifier {
    package let name: String
    /// True for the paper's algorithm. False replaces the recursion by min(1, Π ratios): a
    /// different, *lossy* algorithm kept only as a negative control for the exactness tests.
    private let clipsEveryStep: Bool

    package init() {
        self.init(name: "block", clipsEveryStep: true)
    }

    init(name: String, clipsEveryStep: Bool) {
        self.name = name
        self.clipsEveryStep = clipsEveryStep
    }

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        let tree = problem.tree
        let path = tree.nodePath(to: tree.leaves.first ?? DraftTree.root)  // path[i] = node after i tokens
        let length = path.count - 1
        guard length > 0 else {
            return VerificationOutcome(tree: tree, acceptedNode: DraftTree.root, extraToken: choices.draw(from: problem.target[0]))
        }

        // w_i, i = 0…γ
        var weights = [1.0]
        var product = 1.0
        for i in 1...length {
            let parent = path[i - 1]
            let token = tree[path[i]].token
            let q = problem.target[parent].probability(of: token)
            let p = problem.draftLaw(at: parent).probability(of: token)
            if clipsEveryStep {
                weights.append(Acceptance.ratio(q, over: p, weight: weights[i - 1]))
            } else {
                product *= p > 0 ? q / p : .infinity
                weights.append(min(1, product))
            }
        }

        // τ = max{i : η_i ≤ h_i}. Scanning from the top and stopping at the first success has the
        // same law as drawing all η_i and taking the max, and uses fewer random numbers.
        var tau = 0
        for i in stride(from: length, through: 1, by: -1) where choices.bernoulli(stopProbability(i, length, weights, path, problem)) {
            tau = i
            break
        }

        let node = path[tau]
        if tau == length {
            return VerificationOutcome(tree: tree, acceptedNode: node, extraToken: choices.draw(from: problem.target[node]))
        }
        var residual = problem.residualTarget(at: node)
        residual.subtractResidual(weight: weights[tau], draft: problem.draftLaw(at: node).probabilities)
        return VerificationOutcome(tree: tree, acceptedNode: node, extraToken: choices.draw(from: residual))
    }

    /// h_i = A_i / (A_i + 1 − w_i) for i < γ (1 when the denominator is 0), h_γ = w_γ.
    private func stopProbability(
        _ i: Int, _ length: Int, _ weights: [Double], _ path: [Int], _ problem: VerificationProblem
    ) -> Double {
        if i == length { return weights[i] }
        let node = path[i]
        let a = problem.residualTarget(at: node).residualMass(weight: weights[i], draft: problem.draftLaw(at: node).probabilities)
        let denominator = a + (1 - weights[i])
        return denominator > 0 ? a / denominator : 1
    }
}
