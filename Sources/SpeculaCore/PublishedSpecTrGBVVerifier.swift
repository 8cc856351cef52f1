/// A faithful port of the multi-draft block verification in the SpecTr-GBV paper's released code
/// (junemily/SpecTr-GBV, `src/engine.py`, `speculative_decoding`), for comparison only.
///
/// It is **not lossless**: exact enumeration on tiny prefix-dependent models puts its output law
/// 0.05–0.14 (total variation) away from the target's, for K = 1 as well as K ≥ 2 — the code lacks
/// the cross-round distribution modification the paper describes. The tests assert that it is
/// inexact; the cluster refuses it unless a request says `allow_lossy`.
///
/// Port notes: `m_s`/`m_b` are the running products of draft/target probabilities along a draft,
/// `exp_term(x) = (1 − x)^K`, `eps = 1e-20`; drafts are visited in index order, prefixes already
/// rejected are skipped, a later acceptance overrides an earlier one, and a full-block acceptance
/// ends the scan. Sums run over the whole vocabulary, as in the original (O(V) per position).
package struct PublishedSpecTrGBVVerifier: Verifier {
    package let name = "spectr-gbv-published"

    package init() {}

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        let tree = problem.tree
        let drafts = tree.draftCount
        let eps = 1e-20
        func expTerm(_ x: Double) -> Double { (1 - x).power(drafts) }
        let vocab = problem.target[0].vocabularySize

        var acceptedNode = DraftTree.root
        var accepted = 0  // n − prefix_len + 1
        var msFinal = 1.0, mbFinal = 1.0
        var selectedPath = tree.nodePath(to: tree.leaves.first ?? 0)
        var seen = Set<Int>()  // rejected candidate prefixes (tree nodes are prefixes)

        draftLoop: for j in 0..<tree.draftCount {
            let path = tree.nodePath(to: tree.leaves[j])  // path[i] = node after i tokens
            let gamma = path.count - 1
            guard gamma > 0 else { continue }
            func p(_ i: Int, _ t: Token) -> Double { problem.draftLaw(at: path[i]).probability(of: t) }
            func q(_ i: Int, _ t: Token) -> Double { problem.target[path[i]].probability(of: t) }
            var ms = 1.0, mb = 1.0
            for i in 0..<min(accepted, gamma) {
                let token = tree[path[i + 1]].token
                ms *= p(i, token)
                mb *= q(i, token)
            }
            if accepted < gamma - 1 {
                for i in accepted..<(gamma - 1) {
                    let token = tree[path[i + 1]].token
                    ms *= p(i, token)
                    mb *= q(i, token)
                    var sumKeep = 0.0, sumTake = 0.0
                    for x in 0..<vocab {
                        let nextP = p(i + 1, x), nextQ = q(i + 1, x)
                        let ratio = min((ms * nextP) / (mb * nextQ + eps), 1)
                        sumKeep += mb * nextQ * expTerm(ratio)
                        sumTake += mb * nextQ * (1 - expTerm(ratio))
                    }
                    let rawRatio = min(ms / (mb + eps), 1)
                    let numerator = sumKeep - mb * expTerm(rawRatio)
                    let denominator = 1 - expTerm(ms) - sumTake
                    let acceptance = numerator / (denominator + eps)
                    let candidate = path[i + 1]
                    if seen.contains(candidate) { continue }
                    if choices.bernoulli(acceptance) {
                        acceptedNode = candidate
                        accepted = i + 1
                        selectedPath = path
                        (msFinal, mbFinal) = (ms, mb)
                    } else {
                        seen.insert(candidate)
                    }
                }
            }
            let finalToken = tree[path[gamma]].token
            ms *= p(gamma - 1, finalToken)
            mb *= q(gamma - 1, finalToken)
            let ratio = min(ms / (mb + eps), 1)
            let acceptance = (mb * (1 - expTerm(ratio))) / (1 - expTerm(ms) + eps)
            if choices.bernoulli(acceptance) {
                acceptedNode = path[gamma]
                accepted = gamma
                selectedPath = path
                (msFinal, mbFinal) = (ms, mb)
                break draftLoop
            }
        }

        let gamma = selectedPath.count - 1
        if accepted < gamma {
            // residual = m_b·q(x)·(1 − min(m_s·p(x) / (m_b·q(x) + eps), 1)^K), normalised.
            let node = selectedPath[accepted]
            let p = problem.draftLaw(at: node)
            let q = problem.target[node]
            var weights = [Double](repeating: 0, count: vocab)
            for x in 0..<vocab {
                let ratio = min(msFinal * p.probability(of: x) / (mbFinal * q.probabilities[x] + eps), 1)
                weights[x] = mbFinal * q.probabilities[x] * (1 - ratio.power(drafts))
            }
            let total = weights.reduce(0, +)
            let residual = total > 0 ? DenseDistribution(weights: weights) : q
            return VerificationOutcome(tree: tree, acceptedNode: node, extraToken: choices.draw(from: residual))
        }
        return VerificationOutcome(tree: tree, acceptedNode: acceptedNode, extraToken: choices.draw(from: problem.target[acceptedNode]))
    }
}
