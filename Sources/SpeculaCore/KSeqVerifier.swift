/// SpecTr's K-SEQ, one position at a time (Sun, Suresh, Ro, Beirami, Jain, Yu, "SpecTr: Fast
/// Speculative Decoding via Optimal Transport", NeurIPS 2023).
///
/// With k i.i.d. candidates from p: β(ρ) = Σ_x min(p(x), q(x)/ρ); ρ ∈ [1, k] solves
/// 1 − (1 − β)^k = ρ·β (bisection). Accept X_j with probability min(1, q(X_j)/(ρ·p(X_j))); if none
/// is accepted, emit from p_res(x) = [q(x) − min(p(x), q(x)/ρ)·(1 − (1−β)^k)/β] / (1 − β)^k.
/// Acceptance probability 1 − (1 − β)^k, within (1 − 1/e) of the optimal transport plan.
package struct KSeqVerifier: DepthwiseVerifier {
    package let name = "kseq"

    package init() {}

    package func select<Choices: RandomChoices>(
        at node: Int, in problem: VerificationProblem, choices: inout Choices
    ) -> DepthwiseSelection {
        let tree = problem.tree
        let p = problem.draftLaw(at: node)
        var target = problem.residualTarget(at: node)
        let q = target.patch  // q on the draft support
        let candidates = candidatesWithReplacement(at: node, in: tree)
        let k = candidates.count
        let rho = KSeqVerifier.solveRho(p: p.probabilities, q: q, k: k)
        for child in candidates {
            let index = p.index(of: tree[child].token)!
            if choices.bernoulli(Acceptance.ratio(q[index], over: rho * p.probabilities[index])) {
                return .accept(child: child)
            }
        }
        let beta = KSeqVerifier.beta(p: p.probabilities, q: q, rho: rho)
        if beta > 0 {
            let scale = (1 - (1 - beta).power(k)) / beta
            target.transform(outsideFactor: 1) { i, qi in qi - min(p.probabilities[i], qi / rho) * scale }
        }
        return .emit(choices.draw(from: target))
    }

    /// β(ρ) = Σ_{x ∈ support} min(p(x), q(x)/ρ).
    static func beta(p: [Double], q: [Double], rho: Double) -> Double {
        zip(p, q).reduce(0) { $0 + min($1.0, $1.1 / rho) }
    }

    /// The ρ ∈ [1, k] with 1 − (1 − β(ρ))^k = ρ·β(ρ), by bisection (f(1) ≥ 0 ≥ f(k)).
    static func solveRho(p: [Double], q: [Double], k: Int) -> Double {
        guard k > 1 else { return 1 }
        func f(_ rho: Double) -> Double {
            let b = beta(p: p, q: q, rho: rho)
            return 1 - (1 - b).power(k) - rho * b
        }
        var low = 1.0
        var high = Double(k)
        if f(low) <= 0 { return low }
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if f(mid) > 0 { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
